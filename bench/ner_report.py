"""Entity-tagging scores as eval-dev's README defines them: micro P/R/F1 over document-level sets of
(type, mention surface), overall and per type (PER / ORG / LOC), with the surfaces most often
wrong, and the tables ``bench/quality.py`` writes from them."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

from bench.scores import Score
from shared.events import EntityRef

NER_TYPES = {"PERSON": "PER", "ORG": "ORG", "LOCATION": "LOC"}
SPACY_TYPES = {"PERSON": "PER", "ORG": "ORG", "GPE": "LOC", "LOC": "LOC", "FAC": "LOC"}
SCORED_TYPES = ("PER", "ORG", "LOC")
ERROR_SURFACES_SHOWN = 10


def norm_surface(surface: str) -> str:
    """A surface as the README scores it: white space collapsed, a trailing possessive 's removed."""
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


def found_mentions(entities: Iterable[EntityRef]) -> Mentions:
    return {(NER_TYPES[e.type], norm_surface(m)) for e in entities if e.type in NER_TYPES for m in e.mentions}


def gold_mentions(pairs: Iterable[Iterable[str]]) -> Mentions:
    return {(t, norm_surface(surface)) for t, surface in pairs}


def table_rows(rows: list[tuple[str, NerReport]]) -> str:
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


def errors_table(report: NerReport) -> str:
    lines = ["| surface | documents | what went wrong |", "|---|---:|---|"]
    lines += [f"| {surface} | {count} | {kinds} |" for surface, count, kinds in report.errors]
    return "\n".join(lines)


def print_report(report: NerReport, label: str) -> None:
    print("\n".join(report.lines(label)))
    for surface, count, kinds in report.errors:
        print(f"      {count:3d}  {surface!r}: {kinds}")
