"""Archive-level entity resolution: which stored entity rows are one real entity, under one root.

Enrich decides an entity's name and type within one article, so the archive can hold "Trump"
(from an article that never writes "Donald") beside "Donald Trump", or "Tracey Emin" as a PERSON
in one article and an ORG in another. The store sees every article, so it decides here, for the
names each written batch touches:

1. *One name, one entity*: rows with the same name (any case) and different types are one
   entity; the type with the most original articles is its type (ties: PERSON, ORG, LOCATION,
   then the rest), the others fold into it.
2. *A surname names the person*: a one-word name whose entity is a PERSON ("Trump") folds into
   the person with that surname ("Donald Trump") when one person holds at least
   ``SURNAME_SHARE`` of the articles of all the archive's people with that surname. Otherwise
   ("Khan": Imran Khan, Fawad Khan, Shahid Khan...) it stays its own entity.

Rows keep their ids (what enrich published, the same for every replica and redelivery); a folded
row points at its root (``canonical_id``) and reads expand a root to its rows. An article's links
keep the type enrich gave the name in that article (the article's own evidence: "New York" is a
baseball team in a scores table and the city elsewhere); the entity, listed once, has the root's. Every decision is a
function of the archive's rows and their article counts, recomputed whenever a batch changes a
row of that name or surname, so the grouping does not depend on the order articles arrive in.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, text

from services.store.db.models import LAST_WORD_SQL

# A surname folds into the full name holding at least this share of its people's articles.
SURNAME_SHARE = 0.8
# Ties between types of one name go to the first of these.
_TYPE_PRECEDENCE = ("PERSON", "ORG", "LOCATION", "EVENT", "PRODUCT", "WORK_OF_ART", "LAW")

# Rows of the given names (any type), and people whose last word is one of the given surnames.
_ROWS = text(
    f"""
    SELECT id, name, type, article_count, canonical_id, group_article_count,
           lower(name) AS name_key, {LAST_WORD_SQL} AS last_word
    FROM entities WHERE lower(name) = ANY(CAST(:names AS text[]))
    UNION
    SELECT id, name, type, article_count, canonical_id, group_article_count,
           lower(name) AS name_key, {LAST_WORD_SQL} AS last_word
    FROM entities WHERE type = 'PERSON' AND {LAST_WORD_SQL} = ANY(CAST(:surnames AS text[]))
    """
)
_KEYS_OF = text(f"SELECT lower(name), {LAST_WORD_SQL}, type FROM entities WHERE id = ANY(CAST(:ids AS text[]))")
_ALL_KEYS = text(f"SELECT DISTINCT lower(name), {LAST_WORD_SQL}, type FROM entities")
_SET_GROUPS = text(
    """
    UPDATE entities AS e SET canonical_id = g.canonical_id, group_article_count = g.group_count
    FROM unnest(CAST(:ids AS text[]), CAST(:roots AS text[]), CAST(:counts AS integer[]))
         AS g(id, canonical_id, group_count)
    WHERE e.id = g.id
    """
)


@dataclass(frozen=True)
class _Row:
    id: str
    name: str
    type: str
    article_count: int
    canonical_id: str | None
    group_article_count: int
    name_key: str
    last_word: str


def _precedence(entity_type: str) -> int:
    return _TYPE_PRECEDENCE.index(entity_type) if entity_type in _TYPE_PRECEDENCE else len(_TYPE_PRECEDENCE)


def _name_root(rows: list[_Row]) -> _Row:
    """The row of one name that the others fold into: most articles, then type precedence, then id."""
    return min(rows, key=lambda r: (-r.article_count, _precedence(r.type), r.id))


def decide_roots(rows: Iterable[_Row]) -> dict[str, str | None]:
    """Each row's root id (None for a root), for a closed set of rows (every row of each name,
    and every person of each one-word name's surname)."""
    by_name: dict[str, list[_Row]] = defaultdict(list)
    for row in rows:
        by_name[row.name_key].append(row)
    name_root = {key: _name_root(members) for key, members in by_name.items()}
    name_total = {key: sum(r.article_count for r in members) for key, members in by_name.items()}

    # Full names of people by surname: the names (several words) whose entity is a PERSON.
    people: dict[str, list[str]] = defaultdict(list)
    for key, root in name_root.items():
        if root.type == "PERSON" and " " in key.strip():
            people[root.last_word].append(key)

    folded_into: dict[str, str] = {}  # one-word name -> the full name it folds into
    for key, root in name_root.items():
        if root.type != "PERSON" or " " in key.strip() or key not in people:
            continue
        candidates = people[key]
        best = min(candidates, key=lambda k: (-name_total[k], k))
        total = sum(name_total[k] for k in candidates)
        if total and name_total[best] >= SURNAME_SHARE * total:
            folded_into[key] = best

    decided: dict[str, str | None] = {}
    for key, members in by_name.items():
        target = name_root[folded_into[key]] if key in folded_into else name_root[key]
        for row in members:
            decided[row.id] = None if row.id == target.id else target.id
    return decided


def _fetch(conn: Connection, names: set[str], surnames: set[str]) -> list[_Row]:
    rows = conn.execute(_ROWS, {"names": sorted(names), "surnames": sorted(surnames)}).all()
    found = [_Row(*row) for row in rows]
    # Every other-typed row of each person's name belongs to the set too (rule 1 needs them all).
    missing = {r.name_key for r in found} - names
    if missing:
        more = conn.execute(_ROWS, {"names": sorted(missing), "surnames": []}).all()
        known = {r.id for r in found}
        found.extend(_Row(*row) for row in more if row[0] not in known)
    return found


def _keys(rows: Iterable[tuple[str, str, str]]) -> tuple[set[str], set[str]]:
    """Names and surnames to regroup for rows of (lower name, last word, type)."""
    names: set[str] = set()
    surnames: set[str] = set()
    for name_key, last_word, _type in rows:
        # A one-word name may be a surname, and any row of a full name can change which of its
        # types is the root, so the name's surname (a one-word row folded into it) is looked at too.
        names.update((name_key, last_word))
        surnames.add(last_word)
    return names, surnames


def regroup(conn: Connection, entity_ids: Iterable[str]) -> int:
    """Recompute the groups of the names and surnames of ``entity_ids``; returns rows changed.

    Runs in the writer's transaction after the batch's links and article counts are written.
    """
    ids = sorted(set(entity_ids))
    if not ids:
        return 0
    names, surnames = _keys(conn.execute(_KEYS_OF, {"ids": ids}).all())
    return _apply(conn, _fetch(conn, names, surnames))


def regroup_everything(conn: Connection) -> int:
    """Group the whole archive (the migration that introduces groups runs it once)."""
    names, surnames = _keys(conn.execute(_ALL_KEYS).all())
    return _apply(conn, _fetch(conn, names, surnames))


def _apply(conn: Connection, rows: list[_Row]) -> int:
    """Store the groups ``rows`` fall into; returns how many rows changed."""
    decided = decide_roots(rows)
    totals: dict[str, int] = defaultdict(int)
    for row in rows:
        totals[decided[row.id] or row.id] += row.article_count
    changes = [
        (row.id, decided[row.id], totals[row.id] if decided[row.id] is None else row.article_count)
        for row in sorted(rows, key=lambda r: r.id)
        if (decided[row.id], totals[row.id] if decided[row.id] is None else row.article_count)
        != (row.canonical_id, row.group_article_count)
    ]
    if changes:
        ids, roots, counts = zip(*changes, strict=True)
        conn.execute(_SET_GROUPS, {"ids": list(ids), "roots": list(roots), "counts": list(counts)})
    return len(changes)
