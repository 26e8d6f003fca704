"""Loading the spaCy model once, with only the pipes named-entity recognition needs."""

from __future__ import annotations

import importlib
import logging
import time

from spacy.language import Language

log = logging.getLogger(__name__)

# en_core_web_sm's NER has its own embedded tok2vec: the tagger, parser, lemmatizer and
# attribute ruler only cost time (about 2/3 of the pipeline) without changing entities.
NER_PIPES = ("ner",)


def load_ner(model_package: str) -> Language:
    """Import the installed model package (nothing is downloaded) and keep only NER."""
    started = time.perf_counter()
    try:
        package = importlib.import_module(model_package)
    except ImportError as exc:
        raise RuntimeError(
            f"spaCy model package {model_package!r} is not installed: install the project "
            "(`make install`) or set NEWSFLOW_SPACY_MODEL to an installed model package."
        ) from exc
    nlp: Language = package.load()
    disabled = [name for name in nlp.pipe_names if name not in NER_PIPES]
    for name in disabled:
        nlp.remove_pipe(name)
    if "ner" not in nlp.pipe_names:
        raise RuntimeError(f"spaCy model {model_package!r} has no 'ner' pipe; enrich needs one to tag entities.")
    log.info(
        "spacy model loaded",
        extra={"model": model_package, "pipes": nlp.pipe_names, "seconds": round(time.perf_counter() - started, 2)},
    )
    return nlp
