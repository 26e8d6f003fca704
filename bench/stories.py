"""Story grouping: pair accuracy on eval-dev, and the cost per article as stories grow to 10k (issue 8).

    .venv/bin/python -m bench.stories [--sizes 1000 5000 10000] [--probe 320] [--no-write]

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
import itertools
import json
import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1_000, 5_000, 10_000])
    parser.add_argument("--probe", type=int, default=320)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args()
    machine = machine_line()
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

Pair accuracy: {accuracy["articles"]:,} articles (eval-dev dedupe documents and the five seeds) through
the real `Enricher` (spaCy entities, reprint index, story assignment, scratch Postgres), file order,
batches of {BATCH}; {accuracy["stories"]:,} stories formed.

| labelled pairs | pairs | correct | accuracy |
|---|---:|---:|---:|
| same story (inside a gold reprint group: must share a story) | {accuracy["same_pairs"]:,} \
| {accuracy["same_ok"]:,} | {same:.4f} |
| different story (business x entertainment: must never share) | {accuracy["different_pairs"]:,} \
| {accuracy["different_ok"]:,} | {different:.4f} |

The five seeds form one story: **{"yes" if accuracy["seeds_one_story"] else "no"}**; BBC articles in
the seeds' story: **{accuracy["bbc_in_seed_story"]}**.

Cost per article as stories grow (synthetic articles with given entities, so this is the reprint and
story decision without NER; {args.probe} probe articles per size, half new stories, half follow-ups):

| stories indexed | ms per article | vs first |
|---:|---:|---:|
{rows}
"""
    print(body)
    if not args.no_write:
        write_section("stories.py", body)


if __name__ == "__main__":
    main()
