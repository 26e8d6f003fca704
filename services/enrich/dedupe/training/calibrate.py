"""Fit the noisy-link model (``noisy_model.json``) on synthetic copies of the CoNLL++ training articles.

    .venv/bin/python -m services.enrich.dedupe.training.calibrate \\
        [--conll ../shared/eval-dev/ner-train/conllpp_train.txt] [--seed 20] [--out PATH]

The text is the CoNLL++ English *training* split (Reuters 1996): neither a dedupe evaluation set
nor the held-out one, and never copied into the repository. Its articles are split in two by a
seeded shuffle: pairs are built from the first 70 % to fit, from the rest to validate.

Pairs, each measured exactly as the service measures a candidate (``noisy.letter_evidence`` over
``TextFingerprint.content(()).letters``):

- copies (label 1): a scanned copy (1-6 % of letters misread; a third of them with a dateline
  and a footer line) and a rewrite (4-20 % of the words dropped or swapped, sentences reordered)
  of each article against it, and the two against each other;
- non-copies (label 0): each article against itself retold (45-70 % of the words changed), against
  another version of itself with 25-80 words of another article in the middle (sometimes scanned
  too), against the three other articles the
  letter-anchor index ranks closest to it (the candidates the service really sees), two articles
  carrying one shared passage of 15-60 words, and short articles ending with the same long passage.

The model is a ridge-regularised logistic regression over (log coverage, log weakest stretch),
fitted by Newton's method with numpy: the log makes it a product rule (both must be high), which
a copy meets and a text sharing only a passage, or only scattered phrases, does not. The report
printed (and stored in the JSON) gives precision and recall on the validation articles per kind.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from services.enrich.dedupe.fingerprint import TextFingerprint
from services.enrich.dedupe.letters import letter_anchors
from services.enrich.dedupe.noisy import MODEL_FILE, LetterEvidence, LetterText, NoisyLinkModel, letter_evidence
from services.enrich.dedupe.training import noise

DEFAULT_CONLL = Path(__file__).resolve().parents[4].parent / "shared" / "eval-dev" / "ner-train" / "conllpp_train.txt"
MIN_WORDS = 120
MIN_ALPHABETIC = 0.75  # share of tokens that are words: leaves out results tables and market listings
RIDGE = 1e-3
# Link when the model is 75 % sure, the Bayes decision when a wrong link costs three missed ones:
# a wrong link merges two articles' reprint groups for every reader, a missed one leaves a copy
# unlinked (still found by search).
THRESHOLD = 0.75
_SPACE_BEFORE = re.compile(r" ([.,;:!?%)\]'](?:\s|$)|n't\b|'s\b)")
_SPACE_AFTER = re.compile(r"([(\[$]) ")


@dataclass(frozen=True)
class Pair:
    kind: str
    label: int
    evidence: LetterEvidence


def conll_articles(path: Path) -> list[str]:
    """The CoNLL documents as plain articles: sentences detokenised, 1-3 a paragraph, headline dropped."""
    documents: list[list[list[str]]] = []
    sentence: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("-DOCSTART-"):
            documents.append([])
            continue
        if not line.strip():
            if sentence and documents:
                documents[-1].append(sentence)
            sentence = []
            continue
        sentence.append(line.split(" ", 1)[0])
    if sentence and documents:
        documents[-1].append(sentence)
    rng = random.Random(0)
    articles: list[str] = []
    for sentences in documents:
        tokens = [t for s in sentences[1:] for t in s]
        if len(tokens) < MIN_WORDS or sum(t.isalpha() for t in tokens) / len(tokens) < MIN_ALPHABETIC:
            continue
        texts = [_SPACE_AFTER.sub(r"\1", _SPACE_BEFORE.sub(r"\1", " ".join(s))) for s in sentences[1:]]
        paragraphs: list[str] = []
        while texts:
            take = rng.randint(1, 3)
            paragraphs.append(" ".join(texts[:take]))
            texts = texts[take:]
        articles.append("\n\n".join(paragraphs))
    return articles


def _letters(text: str) -> LetterText:
    return TextFingerprint.of(text).content(()).letters


def build_pairs(articles: list[str], rng: random.Random) -> list[Pair]:
    texts = [_letters(a) for a in articles]
    pairs: list[Pair] = []

    def add(kind: str, label: int, a: LetterText, b: LetterText) -> None:
        found = letter_evidence(a, b)
        if found is not None:
            pairs.append(Pair(kind, label, found))

    for index, article in enumerate(articles):
        other = articles[rng.randrange(len(articles))]
        if other == article:
            continue
        printed = noise.with_dateline_and_footer(article, rng) if rng.random() < 0.3 else article
        scan = _letters(noise.scanned(printed, rng, misread=rng.uniform(0.01, 0.06)))
        rewrite = _letters(noise.rewritten(article, rng, changed=rng.uniform(0.04, 0.2)))
        add("scanned copy", 1, scan, texts[index])
        add("rewritten copy", 1, rewrite, texts[index])
        add("scanned vs rewritten copy", 1, scan, rewrite)
        # Half the words changed is the story retold, no longer a copy (the gap between 20 % and
        # 45 % is left out: there the answer is a matter of policy, not of evidence).
        retold = _letters(noise.rewritten(article, rng, changed=rng.uniform(0.45, 0.7)))
        add("story retold (half the words changed)", 0, retold, texts[index])
        version = noise.another_version(
            article, other, rng, inserted_words=rng.randint(25, 80), replace=rng.random() < 0.5
        )
        add("another version", 0, _letters(version), texts[index])
        scanned_version = noise.scanned(version, rng, misread=rng.uniform(0.01, 0.04))
        add("another version, scanned", 0, _letters(scanned_version), texts[index])
        if len(article.split()) > 60:
            short = _opening(article, rng)
            tail = " ".join(other.split()[: rng.randint(80, 160)])
            partner = _opening(articles[rng.randrange(len(articles))], rng)
            add(
                "shared long tail",
                0,
                _letters(noise.with_shared_tail(short, tail)),
                _letters(noise.with_shared_tail(partner, tail)),
            )
        # Whole or cut to a short article: a short one has few phrases in common with another by
        # chance, so there the shared passage is all the two have in common.
        third = articles[rng.randrange(len(articles))].split()
        start = rng.randrange(max(1, len(third) - 60))
        passage = " ".join(third[start : start + rng.randint(15, 60)])
        first, second = (_opening(t, rng) if rng.random() < 0.5 else t for t in (article, other))
        add(
            "shared passage",
            0,
            _letters(noise.with_passage(first, passage, rng)),
            _letters(noise.with_passage(second, passage, rng)),
        )
    for index, neighbour in closest_others(texts):
        add("closest other article", 0, texts[index], texts[neighbour])
    return pairs


def _opening(article: str, rng: random.Random) -> str:
    """The article's first 60-150 words, paragraphs kept."""
    keep = rng.randint(60, 150)
    paragraphs: list[str] = []
    for paragraph in noise.paragraphs_of(article):
        if keep <= 0:
            break
        words = paragraph.split()[:keep]
        keep -= len(words)
        paragraphs.append(" ".join(words))
    return "\n\n".join(paragraphs)


def closest_others(texts: list[LetterText], per_article: int = 3) -> list[tuple[int, int]]:
    """Each article's ``per_article`` most anchor-sharing other articles (the service's candidates)."""
    anchors = [letter_anchors(t) for t in texts]
    postings: dict[int, list[int]] = defaultdict(list)
    for index, found in enumerate(anchors):
        for anchor in found:
            postings[anchor].append(index)
    pairs: set[tuple[int, int]] = set()
    for index, found in enumerate(anchors):
        shared = Counter(other for anchor in found for other in postings[anchor] if other != index)
        for other, _ in shared.most_common(per_article):
            pairs.add((min(index, other), max(index, other)))
    return sorted(pairs)


def design(pairs: list[Pair]) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x = np.array([p.evidence.model_inputs() for p in pairs])
    y = np.array([p.label for p in pairs], dtype=np.float64)
    return x, y


def fit(x: npt.NDArray[np.float64], y: npt.NDArray[np.float64]) -> tuple[float, tuple[float, float]]:
    """Ridge logistic regression by Newton's method (the bias is not penalised)."""
    features = np.hstack([np.ones((len(x), 1)), x])
    beta = np.zeros(features.shape[1])
    penalty = np.diag([0.0] + [RIDGE * len(x)] * x.shape[1])
    for _ in range(100):
        p = 1.0 / (1.0 + np.exp(-(features @ beta)))
        gradient = features.T @ (p - y) + penalty @ beta
        hessian = features.T @ (features * (p * (1 - p))[:, None]) + penalty
        step = np.linalg.solve(hessian, gradient)
        beta -= step
        if np.abs(step).max() < 1e-9:
            break
    return float(beta[0]), (float(beta[1]), float(beta[2]))


def report(model: NoisyLinkModel, pairs: list[Pair]) -> dict[str, dict[str, float]]:
    """Per kind: how many pairs, and the share the model links."""
    by_kind: dict[str, list[bool]] = defaultdict(list)
    for pair in pairs:
        by_kind[f"{pair.kind} ({'copy' if pair.label else 'not a copy'})"].append(model.links(pair.evidence))
    return {kind: {"pairs": len(v), "linked": round(sum(v) / len(v), 4)} for kind, v in sorted(by_kind.items())}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--conll", type=Path, default=DEFAULT_CONLL)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--out", type=Path, default=MODEL_FILE)
    args = parser.parse_args()
    if not args.conll.exists():
        raise SystemExit(f"no CoNLL++ training file at {args.conll} (pass --conll PATH)")
    articles = conll_articles(args.conll)
    rng = random.Random(args.seed)
    rng.shuffle(articles)
    cut = int(len(articles) * 0.7)
    train = build_pairs(articles[:cut], rng)
    validation = build_pairs(articles[cut:], rng)
    bias, weights = fit(*design(train))
    model = NoisyLinkModel(bias, weights, THRESHOLD)
    results = {"fit": report(model, train), "validation": report(model, validation)}
    for split, kinds in results.items():
        print(split)
        for kind, figures in kinds.items():
            print(f"  {kind:45s} {figures['pairs']:5d} pairs, linked {figures['linked']:.4f}")
    spec = {
        "model": "logistic regression over (log coverage, log weakest stretch), clamped at 1e-3",
        "bias": round(bias, 6),
        "weights": [round(w, 6) for w in weights],
        "threshold": THRESHOLD,
        "trained_on": (
            f"{cut} CoNLL++ training articles (Reuters 1996) with synthetic copies and non-copies, "
            f"seed {args.seed}; validated on the other {len(articles) - cut}"
        ),
        "command": "python -m services.enrich.dedupe.training.calibrate",
        "report": results,
    }
    args.out.write_text(json.dumps(spec, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}: bias {bias:.3f}, weights {weights[0]:.3f} (log coverage), {weights[1]:.3f} (log weakest)")


if __name__ == "__main__":
    main()
