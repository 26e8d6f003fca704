"""Who appears with whom: the entities named in a subject's articles, among the articles a search matches.

``GET /entities/{key}/related``. Every count is over the articles ``GET /articles`` lists for the
filters (``listing.matching``: originals only unless ``include_duplicates``), entities folded
into their roots as the facets fold them (``facets.ENTITY_ROOT_SQL``), an article counting once
per entity however often it names it:

- ``total`` (N): the matching articles;
- ``count`` (|A|): those naming the subject's group;
- for each other root B named in one of those: ``count`` (|A and B|), the articles naming both,
  and ``total`` (|B|), the matching articles naming B.

A raw count favours the names every article carries (a capital, a head of state); the scores
compare it with what chance would give. ``lift`` = |A and B| * N / (|A| * |B|): 1 when B is as
common in A's articles as in all the matching ones, 2 when twice as common. ``npmi`` is
log(lift) / -log(|A and B| / N), the normalised pointwise mutual information: 1 when A and B are
only ever named together, 0 when independent. Both favour rare names, one shared article making a
rare name look telling, so a ``min_count`` floor on |A and B| applies whatever the order. Scores
are computed in numeric (the same on every machine) and given, and ranked, to six decimals.

Every statement's text comes from constants and the filter registry; request values are bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from services.store.db.listing.filters import ArticleFilters
from services.store.db.queries.facets import ENTITY_ROOT_SQL, matched_rows
from services.store.db.read_connection import AsyncConnection


class RelatedSort(StrEnum):
    # Members named apart from their values: ``count`` would shadow ``str.count``.
    by_lift = "lift"
    by_npmi = "npmi"
    by_count = "count"


@dataclass(frozen=True)
class RelatedEntity:
    """A root entity named in the subject's matching articles, with its counts and scores."""

    id: str
    name: str
    type: str
    count: int  # matching articles naming the subject and this entity
    total: int  # matching articles naming this entity
    lift: float
    npmi: float


@dataclass(frozen=True)
class Related:
    total: int  # matching articles
    count: int  # matching articles naming the subject
    related: list[RelatedEntity]


# Scores are given to this many decimals (ranked on them too: ties then fall to the count, as shown).
SCORE_DECIMALS = 6
# The matching articles naming the subject's group (any of its rows), after the CTE ``m``.
_SUBJECT_SQL = """, subject AS (
  SELECT DISTINCT m.article_id
  FROM m JOIN article_entities ae ON ae.article_id = m.article_id
  WHERE ae.entity_id = ANY(%(member_ids)s)
)
"""
_SIZES_SQL = _SUBJECT_SQL + "SELECT (SELECT count(*) FROM m), (SELECT count(*) FROM subject)"
# Pairs first, floored by min_count: |B| is then counted only for the roots that can be answered,
# not for every entity of the matching articles.
_RELATED_SQL = (
    _SUBJECT_SQL
    + f""", pairs AS (
  SELECT {ENTITY_ROOT_SQL} AS root, count(DISTINCT s.article_id) AS n
  FROM subject s
  JOIN article_entities ae ON ae.article_id = s.article_id
  JOIN entities e ON e.id = ae.entity_id
  WHERE {ENTITY_ROOT_SQL} <> %(root)s
  GROUP BY 1
  HAVING count(DISTINCT s.article_id) >= %(min_count)s
), totals AS (
  SELECT p.root, count(DISTINCT m.article_id) AS n
  FROM pairs p
  JOIN entities e ON {ENTITY_ROOT_SQL} = p.root
  JOIN article_entities ae ON ae.entity_id = e.id
  JOIN m ON m.article_id = ae.article_id
  GROUP BY p.root
), sizes AS (
  SELECT (SELECT count(*) FROM m) AS total, (SELECT count(*) FROM subject) AS subject
), ratios AS (
  -- In numeric, not float: the division and ln are Postgres' own exact-to-scale arithmetic, so a
  -- score is the same on every machine (no libm in it), and equal ratios tie exactly.
  SELECT p.root, p.n AS count, t.n AS total, s.subject, (p.n * s.total)::numeric / (s.subject * t.n) AS lift,
         p.n::numeric / s.total AS share
  FROM pairs p JOIN totals t ON t.root = p.root CROSS JOIN sizes s
), scored AS (
  SELECT r.id, r.name, r.type, x.count, x.total,
         round(x.lift, {SCORE_DECIMALS}) AS lift,
         -- Always named together (|A| = |B| = |A and B|): the limit is 1, whatever N (with N too,
         -- -ln(1) would divide by zero).
         round(CASE WHEN x.count = x.subject AND x.count = x.total THEN 1
                    ELSE ln(x.lift) / -ln(x.share) END, {SCORE_DECIMALS}) AS npmi
  FROM ratios x JOIN entities r ON r.id = x.root
)
SELECT id, name, type, count, total, lift, npmi FROM scored
ORDER BY {{order}} DESC, count DESC, name COLLATE "C", id
LIMIT %(limit)s
"""
)
# The column each order ranks by first; ties go to the most shared articles, then the name in code
# point order (the same answer whatever the database's locale), then the id.
_ORDER_SQL: dict[RelatedSort, str] = {
    RelatedSort.by_lift: "lift",
    RelatedSort.by_npmi: "npmi",
    RelatedSort.by_count: "count",
}


async def related_entities(
    conn: AsyncConnection,
    filters: ArticleFilters,
    root: str,
    member_ids: Sequence[str],
    *,
    sort: RelatedSort = RelatedSort.by_lift,
    min_count: int = 2,
    limit: int = 10,
) -> Related:
    """The ``limit`` entities best related to the group ``root`` (rows ``member_ids``) by ``sort``.

    Only entities named with the subject in at least ``min_count`` matching articles are ranked.
    """
    values = {"member_ids": list(member_ids)}
    ((total, count),) = await matched_rows(conn, filters, _SIZES_SQL, values)
    if not count:
        # The subject is in no matching article: nothing is named with it.
        return Related(total=total, count=0, related=[])
    statement = _RELATED_SQL.format(order=_ORDER_SQL[sort])
    rows = await matched_rows(
        conn, filters, statement, {**values, "root": root, "min_count": min_count, "limit": limit}
    )
    return Related(total=total, count=count, related=[_related(*row) for row in rows])


def _related(id_: str, name: str, type_: str, count: int, total: int, lift: Decimal, npmi: Decimal) -> RelatedEntity:
    return RelatedEntity(id_, name, type_, count, total, float(lift), float(npmi))
