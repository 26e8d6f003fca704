"""What story assignment compares: an article's salient terms and entities as sparse weighted vectors.

- *Terms* are the stemmed content words of the headline and body (case-folded, stop words,
  numbers and one- or two-letter tokens left out; Snowball stems, so "crashes" and "crashed" are
  one term), hashed to signed 64-bit keys. An article has two term vectors (sub-vectors, as in
  Miranda et al., EMNLP 2018): the *text* (headline words counted ``TITLE_TERM_WEIGHT`` times,
  then the body) and the *lead* (the headline and the first ``LEAD_WORDS`` content words of the
  body: news puts the event in its opening lines, and a text with no separate headline opens
  with it). Weights are sublinear term frequency times the inverse document frequency the
  durable index has counted so far over the archive's originals (``idf``); only the
  ``ARTICLE_TERMS`` heaviest text terms are kept.
- *Entities* are the tagged entity ids, weighted by sublinear mention count and by type: a
  person or an organisation says more about which event an article reports than a country does.

Both vectors are L2-normalised, so a story's centroid is the plain sum of its articles' vectors
and cosine similarity to it is a dot product over the norm. Everything here is pure and cheap;
it runs outside the index lock.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TypeVar

import Stemmer  # PyStemmer: the Snowball stemmers
from spacy.lang.en.stop_words import STOP_WORDS

from services.enrich.dedupe.normalize import words
from shared.events import EntityRef, EntityType, RawArticle

# The heaviest terms an article keeps; the long tail of a text says little about its event.
ARTICLE_TERMS = 60
TITLE_TERM_WEIGHT = 2
# Content words of the body that belong to the lead (about two sentences of news prose).
LEAD_WORDS = 40
# Documents counted before the index's IDF is trusted fully (see ``idf``).
IDF_WARM_UP_DOCUMENTS = 500
MIN_TERM_CHARS = 3
# How much one entity of each type says about the event (a country is shared by many events).
ENTITY_TYPE_WEIGHTS: dict[EntityType, float] = {
    "PERSON": 1.0,
    "ORG": 1.0,
    "EVENT": 1.0,
    "LAW": 1.0,
    "WORK_OF_ART": 1.0,
    "PRODUCT": 0.8,
    "LOCATION": 0.5,
}
# Stop words plus words every news article uses whatever it reports.
_NEWS_STOP_WORDS = frozenset(
    {"said", "says", "told", "according", "year", "years", "new", "people", "time", "including", "reported"}
)
_STOP = frozenset(STOP_WORDS) | _NEWS_STOP_WORDS

SparseVector = dict[int, float]
K = TypeVar("K", int, str)
_stemmer = Stemmer.Stemmer("english")


def key_of(namespace: str, value: str) -> int:
    """A signed 64-bit key (Postgres ``bigint``) for a term or an entity id."""
    digest = hashlib.blake2b(f"{namespace}\x00{value}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


@dataclass(frozen=True)
class TermCounts:
    """An article's term counts: the whole text (headline weighted) and its lead."""

    text: Counter[int]
    lead: Counter[int]


def content_terms(text: str) -> list[int]:
    """The term keys of ``text``'s content words, in reading order."""
    kept = [w for w in words(text) if len(w) >= MIN_TERM_CHARS and w not in _STOP and not w.isdigit()]
    stems = _stemmer.stemWords(kept)
    # Each distinct stem hashed once: a long text repeats its words (a 5 MB transcript: 440,000
    # stems, a few thousand distinct).
    keys = {stem: key_of("s", stem) for stem in set(stems)}
    return [keys[stem] for stem in stems]


def term_counts(article: RawArticle) -> TermCounts:
    """The text and lead term counts of an article's headline and body."""
    title, body = content_terms(article.title or ""), content_terms(article.body)
    text: Counter[int] = Counter(body)
    for term in title:
        text[term] += TITLE_TERM_WEIGHT
    return TermCounts(text=text, lead=Counter(title + body[:LEAD_WORDS]))


def idf(document_frequency: int, documents: int) -> float:
    """Smoothed inverse document frequency, phased in over the first ``IDF_WARM_UP_DOCUMENTS``.

    On a young index every shared term has a high document frequency *because* the few articles
    seen so far are about the same events: a raw IDF then punishes exactly the words two
    articles of one story share. Below the warm-up count the weight blends towards 1 (plain
    term frequency, stop words removed).
    """
    raw = math.log((documents + 1) / (document_frequency + 1)) + 1.0
    confidence = min(1.0, documents / IDF_WARM_UP_DOCUMENTS)
    return confidence * raw + (1.0 - confidence)


def normalised(vector: Mapping[K, float]) -> dict[K, float]:
    norm = math.sqrt(sum(w * w for w in vector.values()))
    return {k: w / norm for k, w in vector.items()} if norm > 0 else {}


def term_vector(
    counts: Mapping[int, int], df: Mapping[int, int], documents: int, keep: int | None = ARTICLE_TERMS
) -> SparseVector:
    """The ``keep`` heaviest terms (all when None), tf-idf weighted and L2-normalised."""
    weighted = {t: (1.0 + math.log(c)) * idf(df.get(t, 0), documents) for t, c in counts.items()}
    top = sorted(weighted.items(), key=lambda item: (-item[1], item[0]))[:keep]
    return normalised(dict(top))


def entity_vector(entities: list[EntityRef]) -> dict[str, float]:
    """Entity id -> weight, L2-normalised."""
    weights = {e.id: (1.0 + math.log(e.count)) * ENTITY_TYPE_WEIGHTS.get(e.type, 1.0) for e in entities}
    return normalised(weights)


def cosine(a: Mapping[K, float], b: Mapping[K, float]) -> float:
    """Cosine of a normalised vector ``a`` and any vector ``b``."""
    if len(a) > len(b):
        a, b = b, a
    dot = sum(w * b.get(k, 0.0) for k, w in a.items())
    if dot == 0.0:
        return 0.0
    norm_a = math.sqrt(sum(w * w for w in a.values()))
    norm_b = math.sqrt(sum(w * w for w in b.values()))
    return dot / (norm_a * norm_b)


def dot(a: Mapping[K, float], b: Mapping[K, float]) -> float:
    """The dot product of two sparse vectors."""
    if len(a) > len(b):
        a, b = b, a
    return sum(w * b.get(k, 0.0) for k, w in a.items())


def name_terms(entities: list[EntityRef]) -> tuple[frozenset[int], ...]:
    """The term keys of each entity's name and mentions ("Kim Jong Un" -> kim, jong): what one name adds to a score."""
    found = (frozenset(t for text in (e.name, *e.mentions) for t in content_terms(text)) for e in entities)
    return tuple(terms for terms in found if terms)


def actors(entities: list[EntityRef]) -> frozenset[str]:
    """The entities that act in an event (everything but places): two reports of one event share one."""
    return frozenset(e.id for e in entities if e.type != "LOCATION")
