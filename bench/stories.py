"""Story grouping: pair accuracy on eval-dev, and the cost per article as stories grow to 10k (issues 8, 21).

    .venv/bin/python -m bench.stories [--sizes 1000 5000 10000] [--probe 320] [--no-write]

0. SemEval pairs (issue 21): the 307 articles of eval-dev's 154 SemEval-2022 Task 8 pairs, each
   written to a file named by its SemEval id, all dropped into the inbox of one running pipeline
   (``newsflow run``'s services: ingest, enrich, store; embedded broker, scratch Postgres); every
   article's ``story_id`` is read back through ``GET /articles``. Scored as eval-dev's README:
   clear pairs only (``overall`` <= 1.5 same event, >= 3.5 unrelated). Reported for the whole set
   and per half (split by the first byte of the pair id's sha1: half A, even, is the half the
   join threshold was chosen on; half B played no part in it). Beside it, in the same run, the
   baseline: TF-IDF cosine of the raw texts (sublinear tf, stop words removed, fitted on these
   texts) with the threshold that scores best on these very pairs (an oracle).
1. Accuracy: every eval-dev dedupe document, plus the five seeds, goes through the real
   ``Enricher`` (spaCy entities, reprint index, story assignment; a scratch Postgres database)
   in file order, in batches of 32. Labelled pairs: *same story*, every pair inside a gold reprint
   group (they must always share a story); *different story*, every pair of a business and an
   entertainment article (they must never share one). Also: do the five seeds form one story, and
   does any BBC article join it?
2. Scaling: synthetic articles (BBC word frequencies, entities drawn from a pool of real names,
   each article its own story) fill the story index to each size; then ``--probe`` more, half new
   stories and half follow-ups of existing ones, are timed through ``Enricher.enrich``. Their
   entities are given, not tagged, so the figure is the reprint + story decision alone.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import random
import re
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import EVAL_DEV, REPO_ROOT, machine_line, scratch_database, write_section
from bench.dedupe_scaling import vocabulary
from bench.quality import raw_article
from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.enricher import Enricher
from services.enrich.entities.model import load_ner
from services.enrich.entities.tagger import EntityTagger
from shared.config import Settings
from shared.db import make_engine
from shared.events import EntityRef, RawArticle
from shared.identity import entity_id

BATCH = 32
SEMEVAL_PAIRS = EVAL_DEV / "stories" / "pairs.json"
SAME_EVENT_MAX, UNRELATED_MIN = 1.5, 3.5
WORDS_PER_ARTICLE = 320
ENTITIES_PER_ARTICLE = 6


def story_accuracy(model: str) -> dict[str, float | int | bool]:
    docs_dir = EVAL_DEV / "dedupe" / "docs"
    gold = json.loads((EVAL_DEV / "dedupe" / "gold.json").read_text())
    clusters: dict[str, str] = gold["cluster"]
    names = sorted(clusters)
    texts = {name: (docs_dir / name).read_text(encoding="utf-8", errors="replace") for name in names}
    seeds = sorted((REPO_ROOT / "seeds").glob("*.txt"))
    texts.update({f"seed:{p.name}": p.read_text(encoding="utf-8") for p in seeds})
    order = [f"seed:{p.name}" for p in seeds] + names
    start = datetime(2025, 1, 1, tzinfo=UTC)
    articles = {name: raw_article(name, texts[name], start + timedelta(seconds=i)) for i, name in enumerate(order)}
    by_id = {a.article_id: name for name, a in articles.items()}

    story: dict[str, str | None] = {}
    with scratch_database(migrate=("enrich",)) as url:
        engine = make_engine(url)
        enricher = Enricher(EntityTagger(load_ner(model)), ReprintDetector(engine))
        for i in range(0, len(order), BATCH):
            for event in enricher.enrich([articles[n] for n in order[i : i + BATCH]]).events:
                story[by_id[event.article.article_id]] = event.story_id
        engine.dispose()

    groups: dict[str, list[str]] = {}
    for name, cluster in clusters.items():
        groups.setdefault(cluster, []).append(name)
    same = [pair for members in groups.values() for pair in itertools.combinations(sorted(members), 2)]
    business = [n for n in names if n.startswith("bbc_business")]
    entertainment = [n for n in names if n.startswith("bbc_entertainment")]
    different = list(itertools.product(business, entertainment))
    same_ok = sum(story[a] is not None and story[a] == story[b] for a, b in same)
    different_ok = sum(story[a] != story[b] for a, b in different)
    seed_stories = {story[f"seed:{p.name}"] for p in seeds}
    seed_story = next(iter(seed_stories)) if len(seed_stories) == 1 else None
    return {
        "same_pairs": len(same),
        "same_ok": same_ok,
        "different_pairs": len(different),
        "different_ok": different_ok,
        "stories": len({s for s in story.values() if s}),
        "articles": len(story),
        "seeds_one_story": seed_story is not None,
        "bbc_in_seed_story": sum(story[n] == seed_story for n in names) if seed_story else 0,
    }


# ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    first: str
    second: str
    same: bool
    half: str

    @classmethod
    def clear_pairs(cls, pairs: list[dict[str, object]]) -> list[Pair]:
        found = []
        for pair in pairs:
            rating = float(pair["overall"])  # type: ignore[arg-type]
            if SAME_EVENT_MAX < rating < UNRELATED_MIN:
                continue
            first, second = str(pair["pair_id"]).split("_")
            half = "A" if hashlib.sha1(str(pair["pair_id"]).encode()).digest()[0] % 2 == 0 else "B"
            found.append(cls(first, second, rating <= SAME_EVENT_MAX, half))
        return found


@dataclass(frozen=True)
class PairScore:
    same_ok: int
    same: int
    different_ok: int
    different: int

    @classmethod
    def of(cls, pairs: Sequence[Pair], together: Callable[[Pair], bool]) -> PairScore:
        same = [p for p in pairs if p.same]
        different = [p for p in pairs if not p.same]
        return cls(sum(together(p) for p in same), len(same), sum(not together(p) for p in different), len(different))

    @property
    def accuracy(self) -> float:
        return (self.same_ok + self.different_ok) / (self.same + self.different)

    @property
    def recall(self) -> float:
        return self.same_ok / self.same

    @property
    def merged(self) -> float:
        return (self.different - self.different_ok) / self.different

    @property
    def precision(self) -> float:
        joined = self.same_ok + self.different - self.different_ok
        return self.same_ok / joined if joined else 1.0

    def row(self, name: str) -> str:
        return (
            f"| {name} | {self.same + self.different} | {self.accuracy:.3f} | {self.same_ok}/{self.same} = "
            f"{self.recall:.3f} | {self.different - self.different_ok}/{self.different} = {self.merged:.3f} "
            f"| {self.precision:.3f} |"
        )


def semeval_texts() -> tuple[dict[str, str], list[Pair]]:
    pairs = json.loads(SEMEVAL_PAIRS.read_text())
    texts: dict[str, str] = {}
    for pair in pairs:
        first, second = str(pair["pair_id"]).split("_")
        texts[first], texts[second] = pair["text1"], pair["text2"]
    return texts, Pair.clear_pairs(pairs)


def pipeline_stories(texts: dict[str, str]) -> dict[str, str | None]:
    """Every text dropped into one running pipeline as ``<id>.txt``; its story id read back through the API."""
    import httpx

    from bench.throughput import Stack

    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url, Stack(Path(tmp), url, 1) as stack:
        files = Path(tmp) / "files"
        files.mkdir()
        for name, body in sorted(texts.items()):
            path = files / f"{name}.txt"
            path.write_text(body, encoding="utf-8")
            stack.drop(path)
        stack.wait_stored(len(texts))
        found: dict[str, str | None] = {}
        params: dict[str, str | int] = {"include_duplicates": "true", "limit": 100}
        while True:
            page = httpx.get(f"{stack.api}/articles", params=params, timeout=30).json()
            for item in page["items"]:
                found[item["source_file"].removesuffix(".txt")] = item["story_id"]
            if not page["next_cursor"]:
                break
            params["cursor"] = page["next_cursor"]
    return found


_TOKEN = re.compile(r"(?u)\b\w\w+\b")


def tfidf_cosines(texts: dict[str, str], pairs: Sequence[Pair]) -> dict[Pair, float]:
    """TF-IDF cosine of each pair's raw texts: sublinear tf, English stop words (spaCy's list), smooth idf."""
    from spacy.lang.en.stop_words import STOP_WORDS

    counts = {
        name: Counter(t for t in _TOKEN.findall(text.lower()) if t not in STOP_WORDS) for name, text in texts.items()
    }
    df: Counter[str] = Counter(t for c in counts.values() for t in c)
    n = len(texts)
    vectors = {}
    for name, c in counts.items():
        weights = {t: (1 + math.log(k)) * (math.log((1 + n) / (1 + df[t])) + 1) for t, k in c.items()}
        norm = math.sqrt(sum(w * w for w in weights.values())) or 1.0
        vectors[name] = {t: w / norm for t, w in weights.items()}
    return {p: sum(w * vectors[p.second].get(t, 0.0) for t, w in vectors[p.first].items()) for p in pairs}


def oracle_threshold(cosines: dict[Pair, float]) -> tuple[float, PairScore]:
    """The threshold (midway between two observed cosines) that scores best on the pairs' own labels."""
    values = sorted(set(cosines.values()))
    candidates = [0.0] + [(a + b) / 2 for a, b in itertools.pairwise(values)] + [values[-1] + 1e-9]
    pairs = list(cosines)

    def at(threshold: float) -> PairScore:
        return PairScore.of(pairs, lambda p: cosines[p] >= threshold)

    best = max(candidates, key=lambda t: at(t).accuracy)
    return best, at(best)


def semeval_accuracy() -> dict[str, object]:
    texts, pairs = semeval_texts()
    started = time.perf_counter()
    story = pipeline_stories(texts)
    seconds = time.perf_counter() - started
    missing = sorted(set(texts) - set(story))
    if missing:
        raise RuntimeError(f"{len(missing)} SemEval articles were not stored: {missing[:5]}")

    def together(p: Pair) -> bool:
        return story[p.first] is not None and story[p.first] == story[p.second]

    threshold, baseline = oracle_threshold(tfidf_cosines(texts, pairs))
    sizes = Counter(Counter(s for s in story.values() if s).values())
    return {
        "articles": len(texts),
        "seconds": seconds,
        "all": PairScore.of(pairs, together),
        "A": PairScore.of([p for p in pairs if p.half == "A"], together),
        "B": PairScore.of([p for p in pairs if p.half == "B"], together),
        "baseline": baseline,
        "threshold": threshold,
        "stories": sum(sizes.values()),
        "largest": max(sizes),
    }


class GivenEntities:
    """A tagger stand-in for the scaling run: each synthetic article's entities are chosen with it."""

    def __init__(self) -> None:
        self.entities: dict[str, list[EntityRef]] = {}

    def tag(self, articles: Sequence[RawArticle]) -> list[list[EntityRef]]:
        return [self.entities[a.article_id] for a in articles]


class SyntheticNews:
    def __init__(self, words: list[str], weights: list[float], names: list[tuple[str, str]], seed: int = 11) -> None:
        self.words, self.cumulative = words, list(itertools.accumulate(weights))
        self.names = names
        self.random = random.Random(seed)
        self.tagger = GivenEntities()
        self.clock = datetime(2025, 1, 1, tzinfo=UTC)
        self.made: list[tuple[str, list[EntityRef]]] = []

    def _article(self, body: str, entities: list[EntityRef]) -> RawArticle:
        self.clock += timedelta(minutes=1)
        article = raw_article(f"synthetic-{len(self.tagger.entities)}.txt", body, self.clock)
        self.tagger.entities[article.article_id] = entities
        self.made.append((body, entities))
        return article

    def new(self) -> RawArticle:
        words = self.random.choices(self.words, cum_weights=self.cumulative, k=WORDS_PER_ARTICLE)
        picked = self.random.sample(self.names, ENTITIES_PER_ARTICLE)
        entities = [EntityRef(id=entity_id(t, n), name=n, type=t, mentions=[n], count=2) for t, n in picked]
        return self._article("Headline\n\n" + " ".join(words), entities)

    def follow_up(self) -> RawArticle:
        """Another outlet's article on an earlier story: half its words and all its names."""
        body, entities = self.random.choice(self.made)
        words = body.split()
        kept = words[: len(words) // 2] + self.random.choices(
            self.words, cum_weights=self.cumulative, k=len(words) // 2
        )
        return self._article("Headline\n\n" + " ".join(kept), entities)


def story_scaling(sizes: list[int], probe: int) -> list[tuple[int, float]]:
    words, weights = vocabulary(EVAL_DEV)
    pool = [(t, f"{first} {last}") for t, first, last in _name_pool()]
    news = SyntheticNews(words, weights, pool)
    results: list[tuple[int, float]] = []
    with scratch_database(migrate=("enrich",)) as url:
        engine = make_engine(url)
        enricher = Enricher(news.tagger, ReprintDetector(engine))  # type: ignore[arg-type]
        filled = 0
        for size in sizes:
            while filled < size:
                step = min(BATCH, size - filled)
                enricher.enrich([news.new() for _ in range(step)])
                filled += step
            batch_articles = [news.new() if i % 2 else news.follow_up() for i in range(probe)]
            started = time.perf_counter()
            for i in range(0, probe, BATCH):
                enricher.enrich(batch_articles[i : i + BATCH])
            results.append((size, (time.perf_counter() - started) / probe * 1000))
            filled += probe
            print(f"{size} stories indexed: {results[-1][1]:.2f} ms per article", flush=True)
        engine.dispose()
    return results


def _name_pool() -> list[tuple[str, str, str]]:
    rng = random.Random(3)
    first = ["Amina", "Carlos", "Jin", "Olga", "Tariq", "Maria", "Kwame", "Lena", "Ravi", "Sofia", "Omar", "Ines"]
    last = ["Khan", "Silva", "Park", "Ivanova", "Mensah", "Novak", "Rossi", "Haddad", "Costa", "Larsen", "Ito"]
    orgs = ["Holdings", "Group", "Ministry", "Council", "Bank", "Union", "Airlines", "Motors", "Energy", "Telecom"]
    places = ["Northport", "Lakeside", "Eastvale", "Westbrook", "Southgate", "Highmoor", "Rivermouth", "Stonebridge"]
    pool = [("PERSON", f, ln) for f in first for ln in last]
    pool += [("ORG", p, o) for p in places for o in orgs]
    rng.shuffle(pool)
    return pool


def semeval_section(found: dict[str, object]) -> str:
    scores: dict[str, PairScore] = {k: found[k] for k in ("all", "A", "B", "baseline")}  # type: ignore[misc]
    ours, baseline = scores["all"], scores["baseline"]
    beats = "yes" if ours.accuracy > baseline.accuracy else "no"
    return f"""### SemEval-2022 pairs through the pipeline (issue 21)

{found["articles"]} articles of the 154 eval-dev SemEval pairs, each a file named by its SemEval id, all dropped
into one running pipeline (ingest, enrich, store; embedded broker, scratch Postgres), story ids read back
through `GET /articles`; {found["seconds"]:.0f} s from start-up to the last article read. Clear pairs only
(`overall` <= 1.5 same event, >= 3.5 unrelated). {found["stories"]} stories formed, the largest of
{found["largest"]} articles. Half A (pairs whose id's sha1 starts with an even byte) is the half the join
threshold was chosen on; half B played no part in choosing anything.

| | clear pairs | accuracy | same-event recall | unrelated merged | precision |
|---|---:|---:|---:|---:|---:|
{ours.row("pipeline, all pairs")}
{scores["A"].row("pipeline, half A (tuned on)")}
{scores["B"].row("pipeline, half B (held apart)")}
{baseline.row(f"TF-IDF cosine, oracle threshold {found['threshold']:.3f} (fitted on these labels)")}

Targets: accuracy >= 0.95, same-event recall >= 0.90, unrelated merged <= 3 %, above the oracle
TF-IDF baseline of the same run. Beats the baseline: **{beats}**.
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 10_000])
    parser.add_argument("--probe", type=int, default=320)
    parser.add_argument("--only", choices=("semeval", "bbc", "scaling"), default=None, help="one part, not written")
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    machine = machine_line()
    if args.only:
        if args.only == "semeval":
            found = semeval_accuracy()
            print(semeval_section(found))
        elif args.only == "bbc":
            print(story_accuracy(Settings().spacy_model))
        else:
            story_scaling(args.sizes, args.probe)
        return
    semeval = semeval_accuracy()
    print(semeval_section(semeval), flush=True)
    accuracy = story_accuracy(Settings().spacy_model)
    print(accuracy, flush=True)
    scaling = story_scaling(args.sizes, args.probe)
    same = accuracy["same_ok"] / accuracy["same_pairs"]
    different = accuracy["different_ok"] / accuracy["different_pairs"]
    first_ms = scaling[0][1]
    rows = "\n".join(f"| {size:,} | {ms:.2f} | {ms / first_ms:.2f}x |" for size, ms in scaling)
    body = f"""
## Stories (`bench/stories.py`)

Command: `.venv/bin/python -m bench.stories`. Machine: {machine}.

{semeval_section(semeval)}
### BBC set and seeds (in-process)

Pair accuracy: {accuracy["articles"]:,} articles (eval-dev dedupe documents and the five seeds) through
the real `Enricher` (spaCy entities, reprint index, story assignment, scratch Postgres), file order,
batches of {BATCH}; {accuracy["stories"]:,} stories formed.

| labelled pairs | pairs | correct | accuracy |
|---|---:|---:|---:|
| same story (inside a gold reprint group: must share a story) | {accuracy["same_pairs"]:,} \
| {accuracy["same_ok"]:,} | {same:.5f} |
| different story (business x entertainment: must never share) | {accuracy["different_pairs"]:,} \
| {accuracy["different_ok"]:,} | {different:.5f} |

The five seeds form one story: **{"yes" if accuracy["seeds_one_story"] else "no"}**; BBC articles in
the seeds' story: **{accuracy["bbc_in_seed_story"]}**.

### Cost per article as stories grow

Synthetic articles with given entities, so this is the reprint and story decision without NER;
{args.probe} probe articles per size, half new stories, half follow-ups:

| stories indexed | ms per article | vs first |
|---:|---:|---:|
{rows}
"""
    print(body)
    if not args.no_write:
        write_section("stories.py", body)


if __name__ == "__main__":
    main()
