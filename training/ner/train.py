"""Train enrich's NER model on the CoNLL++ training split and write it where enrich loads it.

    .venv/bin/python -m training.ner.train [--train-file ../shared/eval-dev/ner-train/conllpp_train.txt]
        [--config training/ner/ner.toml] [--out services/enrich/entities/ner_model]

The model is spaCy's small CNN NER (the architecture of ``en_core_web_sm``'s NER, hash
embeddings, no word vectors), started from ``en_core_web_sm``'s trained NER weights (they have
seen OntoNotes' news, web and broadcast text) and trained further on CoNLL++'s 946 Reuters
documents. The text is prepared exactly as enrich prepares an article (``casing.restore_case``
over ALL-CAPS lines), so the model learns from what it will see.

Labels: CoNLL's PER, ORG and LOC become PERSON, ORG and LOC. CoNLL's MISC mixes nationalities,
events, products, works and laws; a MISC span that ``en_core_web_sm`` itself tags with exactly
the same boundaries keeps that finer label (NORP, EVENT, PRODUCT, WORK_OF_ART, LAW, LANGUAGE),
so the model keeps enrich's minor types; the rest stay MISC (enrich does not report MISC).

A fixed share of the documents (``held_out_percent``, chosen by a hash of each text) is never
trained on: the epoch that scores best on it is the one kept, and ``--report`` scores the saved
model on it the way eval-dev's README scores documents. Training takes 20-40 minutes on 2 cores.
The CoNLL data is read in place; it is never copied into the repository.
"""

from __future__ import annotations

import argparse
import json
import random
import time
import tomllib
from pathlib import Path
from typing import Any

import spacy
from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.training import Example
from spacy.util import compounding, minibatch

from services.enrich.entities.casing import restore_case
from training.ner.conll import ConllDocument, read_conll, split

REPO = Path(__file__).resolve().parents[2]
DEFAULT_TRAIN = REPO.parent / "shared" / "eval-dev" / "ner-train" / "conllpp_train.txt"
DEFAULT_CONFIG = Path(__file__).with_name("ner.toml")
DEFAULT_OUT = REPO / "services" / "enrich" / "entities" / "ner_model"

CONLL_LABELS = {"PER": "PERSON", "ORG": "ORG", "LOC": "LOC"}
# en_core_web_sm labels that may refine a CoNLL MISC span with the same boundaries.
MISC_REFINEMENTS = frozenset({"NORP", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW", "LANGUAGE"})


def load_config(path: Path) -> dict[str, Any]:
    with path.open("rb") as handle:
        return tomllib.load(handle)


def base_pipeline(config: dict[str, Any]) -> Language:
    """``en_core_web_sm`` with only its NER (its vocab, tokenizer and NER weights)."""
    nlp = spacy.load(config["base_model"])
    for name in list(nlp.component_names):  # disabled ones (sm's "senter") too
        if name != "ner":
            nlp.remove_pipe(name)
    # sm's own scores describe sm, not this model (training.json holds this one's).
    nlp.meta.pop("performance", None)
    nlp.meta.update(
        name="newsflow_ner",
        author="newsflow (from Explosion's en_core_web_sm)",
        version=config["version"],
        description="enrich's NER: en_core_web_sm's NER trained further on CoNLL++ train (training/ner).",
        sources=[{"name": "CoNLL++ (CoNLL-2003 English train, CrossWeigh corrections)"}],
    )
    return nlp


def reference_doc(nlp: Language, document: ConllDocument, base_ents: dict[tuple[int, int], str]) -> Doc:
    """The gold Doc of ``document`` (re-cased as enrich re-cases), MISC refined where sm agrees."""
    doc = nlp.make_doc(restore_case(document.text))
    spans: list[Span] = []
    for span in document.spans:
        label = CONLL_LABELS.get(span.label)
        if label is None:
            refined = base_ents.get((span.start, span.end))
            label = refined if refined in MISC_REFINEMENTS else "MISC"
        char_span = doc.char_span(span.start, span.end, label=label, alignment_mode="expand")
        if char_span is not None:
            spans.append(char_span)
    doc.ents = spacy.util.filter_spans(spans)
    return doc


def examples(nlp: Language, documents: list[ConllDocument]) -> list[Example]:
    """Training examples; sm's own predictions (made once, before training) refine MISC labels."""
    texts = [restore_case(d.text) for d in documents]
    found: list[Example] = []
    for document, predicted in zip(documents, nlp.pipe(texts, batch_size=32), strict=True):
        base_ents = {(e.start_char, e.end_char): e.label_ for e in predicted.ents}
        gold = reference_doc(nlp, document, base_ents)
        found.append(Example(nlp.make_doc(gold.text), gold))
    return found


def entity_f1(nlp: Language, held_out: list[Example]) -> float:
    scores = nlp.evaluate(held_out)
    return float(scores.get("ents_f") or 0.0)


def train(config: dict[str, Any], train_file: Path, out: Path) -> dict[str, Any]:
    random.seed(config["seed"])
    spacy.util.fix_random_seed(config["seed"])
    documents = read_conll(train_file)
    kept, held = split(documents, config["held_out_percent"])
    nlp = base_pipeline(config)
    train_examples = examples(nlp, kept)
    held_examples = examples(nlp, held)
    ner = nlp.get_pipe("ner")
    for example in train_examples:
        for ent in example.reference.ents:
            ner.add_label(ent.label_)  # type: ignore[attr-defined]
    optimizer = nlp.resume_training()
    optimizer.learn_rate = config["learn_rate"]
    best, best_epoch, history = -1.0, 0, []
    started = time.perf_counter()
    for epoch in range(1, config["max_epochs"] + 1):
        random.shuffle(train_examples)
        losses: dict[str, float] = {}
        sizes = compounding(config["batch_start"], config["batch_stop"], config["batch_compound"])
        for batch in minibatch(train_examples, size=sizes):
            nlp.update(batch, sgd=optimizer, drop=config["dropout"], losses=losses)
        with nlp.use_params(optimizer.averages):
            f1 = entity_f1(nlp, held_examples)
            if f1 > best:
                best, best_epoch = f1, epoch
                nlp.to_disk(out)
        history.append({"epoch": epoch, "loss": round(float(losses.get("ner", 0.0)), 1), "held_out_f1": round(f1, 4)})
        print(json.dumps({**history[-1], "seconds": round(time.perf_counter() - started)}), flush=True)
        if epoch - best_epoch >= config["patience"]:
            break
    summary = {
        "train_documents": len(kept),
        "held_out_documents": len(held),
        "best_epoch": best_epoch,
        "held_out_token_f1": round(best, 4),
        "history": history,
    }
    (out / "training.json").write_text(json.dumps(summary, indent=2) + "\n")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--train-file", type=Path, default=DEFAULT_TRAIN)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if not args.train_file.exists():
        raise SystemExit(f"no training file at {args.train_file} (the CoNLL++ train split, CoNLL format)")
    summary = train(load_config(args.config), args.train_file, args.out)
    print(json.dumps({k: v for k, v in summary.items() if k != "history"}))


if __name__ == "__main__":
    main()
