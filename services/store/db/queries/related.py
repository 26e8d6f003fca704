"""Who appears with whom: the entities named in a subject's articles, among the articles a search matches.

``GET /entities/{key}/related``. Every count is over the articles ``GET /articles`` lists for the
filters (``listing.matching``: originals only unless ``include_duplicates``), entities folded
into their roots as the facets fold them (an article's own ``entity_ids`` through the aliases,
``facets.named_roots_sql``), an article counting once per entity however often it names it:

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

Many matches are counted on slices of the id space and scaled up, as the facets are
(``facet_sample``), on two slices chosen by one pilot count on the 1/64 slice:

- the *subject's slice*: |A| and each |A and B| are counted on the subject's articles in a
  slice chosen for about ``sample_target`` of them (every one when there are few);
- the *total's slice*: N and each |B| on the matching articles in a slice chosen for about
  ``TOTAL_TARGET_FACTOR`` times as many (N's articles are many more than A's, and |B|, a
  lift's denominator, is its weakest part: the larger slice keeps it as steady as |A and B|).

Each is a Bernoulli sample, so each count scales up to an unbiased estimate with a binomial 95 %
margin, and the scores are the estimates' lift and npmi. Two bounds that hold of the true counts
are applied to the estimates, so that a slice that missed a name cannot give an infinite lift or
a log of zero: |B| is at least |A and B| (a rare name the total's slice missed, or undercounted,
is taken as named only with the subject: the largest lift it can have) and N at least |A|. On a
slice the ``min_count`` floor applies to the shared articles in the slice (the evidence, not its
scaled-up estimate, which is at least as large): a name seen once in a sample is not ranked on
the strength of its scale. Counted exactly (few matches, or ``exact``), both bounds hold already.

|B| is always counted, never read from ``entities.group_article_count``: that sums the article
counts of a group's rows, so an article naming two of them ("Oscar" the person and the film)
counts twice (11,726 against 11,687 articles for Oscar in the 100k bench archive), and it knows
no filters.

Every statement's text comes from constants and the filter registry; request values are bound.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import Any

from services.store.db.listing.filters import ArticleFilters
from services.store.db.queries.facet_sample import PILOT, Sample, choose_sample
from services.store.db.queries.facets import ALIASES_SQL, matched_rows, named_roots_sql
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
    # Counted on slices: the 95 % margins of ``count`` and ``total``, in articles (0: counted exactly).
    margin: int | None = None
    total_margin: int | None = None


@dataclass(frozen=True)
class RelatedSample:
    """The slices an estimated answer was counted on (None: every article of that side)."""

    subject: Sample | None
    subject_articles: int  # the subject's matching articles in its slice
    total: Sample | None
    total_articles: int  # the matching articles in the total's slice


@dataclass(frozen=True)
class Related:
    total: int  # matching articles
    count: int  # matching articles naming the subject
    related: list[RelatedEntity]
    sample: RelatedSample | None = None


# Scores are given to this many decimals (ranked on them too: ties then fall to the count, as shown).
SCORE_DECIMALS = 6
# The total's slice is chosen for this many times the subject's sample target (see the docstring).
TOTAL_TARGET_FACTOR = 2
# The scores of a row of ``ratios`` (``x``), as given and ranked.
_LIFT_SQL = f"round(x.lift, {SCORE_DECIMALS})"
# Always named together (|A| = |B| = |A and B|): the limit is 1, whatever N (with N too, -ln(1)
# would divide by zero).
_NPMI_SQL = f"""round(CASE WHEN x.count = x.subject AND x.count = x.total THEN 1
                  ELSE ln(x.lift) / -ln(x.share) END, {SCORE_DECIMALS})"""
# The pilot: matching articles, and those naming the subject, in the 1/64 slice.
_PILOT_SQL = "SELECT count(*), count(*) FILTER (WHERE m.entity_ids && %(member_ids)s) FROM m"
# The slices' conditions: on ``m`` for the subject's articles, on ``m s`` for the total's (``m``
# is inlined, so each reading takes its own to the primary key's index).
_SUBJECT_SLICE = "\n    AND m.article_id < %(subject_below)s"
_TOTAL_SLICE = "\n    AND s.article_id < %(total_below)s"


# Pairs first, floored by min_count (on the sampled articles): |B| is then counted only for the
# roots that can be answered, not for every entity of the matching articles, and only their rows
# (``members``) are looked up in the total's articles. %(subject_scale)s and %(total_scale)s
# scale a slice's count up (1 for every article); the bounds are the docstring's.
_RELATED_SQL = f"""
, {ALIASES_SQL}
, subject AS MATERIALIZED (
  SELECT m.article_id, m.entity_ids FROM m
  WHERE m.entity_ids && %(member_ids)s{{subject_slice}}
)
, pairs AS (
  SELECT n.root, count(*) AS n
  FROM ({named_roots_sql("subject")}) AS n
  WHERE n.root <> %(root)s
  GROUP BY n.root
  HAVING count(*) >= %(min_count)s
)
, members AS (
  SELECT p.root AS id, p.root FROM pairs p
  UNION ALL
  SELECT al.id, al.canonical_id FROM aliases al JOIN pairs p ON p.root = al.canonical_id
)
, totals AS (
  SELECT n.root, count(*) AS n FROM (
    SELECT DISTINCT s.article_id, mb.root
    FROM m s CROSS JOIN unnest(s.entity_ids) AS u(id) JOIN members mb ON mb.id = u.id
    WHERE TRUE{{total_slice}}
  ) AS n
  GROUP BY n.root
)
, sampled AS MATERIALIZED (
  SELECT (SELECT count(*) FROM subject) AS subject_n,
         (SELECT count(*) FROM m s WHERE TRUE{{total_slice}}) AS total_n
)
, sizes AS MATERIALIZED (
  SELECT subject_n, total_n, subject_n * %(subject_scale)s AS subject,
         greatest(total_n * %(total_scale)s, subject_n * %(subject_scale)s) AS total
  FROM sampled
)
, estimates AS (
  SELECT p.root, p.n AS pair_n, coalesce(t.n, 0) AS total_n, p.n * %(subject_scale)s AS count,
         greatest(coalesce(t.n, 0) * %(total_scale)s, p.n * %(subject_scale)s) AS total
  FROM pairs p LEFT JOIN totals t ON t.root = p.root
), ratios AS (
  -- In numeric, not float: the division and ln are Postgres' own exact-to-scale arithmetic, so a
  -- score is the same on every machine (no libm in it), and equal ratios tie exactly.
  SELECT x.*, s.subject, (x.count * s.total)::numeric / (s.subject * x.total) AS lift,
         x.count::numeric / s.total AS share
  FROM estimates x CROSS JOIN sizes s
)
, scored AS (SELECT x.*, {{score}} AS score FROM ratios x)
-- Names are read only for the top rows (the ties at the last place too, for the order by name).
, last_place AS (SELECT score, count FROM scored ORDER BY 1 DESC, 2 DESC LIMIT 1 OFFSET %(limit)s - 1)
, top AS (
  SELECT r.id, r.name, r.type, x.*
  FROM scored x JOIN entities r ON r.id = x.root
  WHERE NOT EXISTS (SELECT FROM last_place) OR (x.score, x.count) >= (SELECT score, count FROM last_place)
  ORDER BY x.score DESC, x.count DESC, r.name COLLATE "C", r.id
  LIMIT %(limit)s
)
-- The sizes with the ranked rows (one row of sizes and NULLs when none is ranked); npmi (two
-- logarithms) is worked out for every row only when it is the order.
SELECT s.subject_n, s.total_n, s.subject, s.total,
       x.id, x.name, x.type, x.pair_n, x.total_n, x.count, x.total, {_LIFT_SQL}, {_NPMI_SQL}
FROM sizes s LEFT JOIN top x ON TRUE
ORDER BY x.score DESC, x.count DESC, x.name COLLATE "C", x.id
"""
# The score each order ranks by first; ties go to the most shared articles, then the name in code
# point order (the same answer whatever the database's locale), then the id.
_SCORE_SQL: dict[RelatedSort, str] = {
    RelatedSort.by_lift: _LIFT_SQL,
    RelatedSort.by_npmi: _NPMI_SQL,
    RelatedSort.by_count: "x.count",
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
    sample_target: int | None = None,
) -> Related:
    """The ``limit`` entities best related to the group ``root`` (rows ``member_ids``) by ``sort``.

    Only entities named with the subject in at least ``min_count`` matching articles are ranked.
    With ``sample_target``, many matches are counted on slices (see the module's docstring) and
    the answer carries its ``sample``; without, every match is counted.
    """
    values: dict[str, Any] = {"member_ids": list(member_ids)}
    subject_sample = total_sample = None
    if sample_target is not None:
        ((pilot_total, pilot_subject),) = await matched_rows(conn, filters, _PILOT_SQL, values, PILOT)
        subject_sample = choose_sample(pilot_subject, sample_target)
        total_sample = choose_sample(pilot_total, TOTAL_TARGET_FACTOR * sample_target)
    statement = _RELATED_SQL.format(
        score=_SCORE_SQL[sort],
        subject_slice=_SUBJECT_SLICE if subject_sample is not None else "",
        total_slice=_TOTAL_SLICE if total_sample is not None else "",
    )
    values |= {"root": root, "min_count": min_count, "limit": limit}
    values |= _slice_values("subject", subject_sample) | _slice_values("total", total_sample)
    rows = await matched_rows(conn, filters, statement, values)
    subject_n, total_n, count, total = rows[0][:4]
    if subject_sample is None and total_sample is None:
        related = [_related(*row[4:]) for row in rows if row[4] is not None]
        return Related(total=total, count=count, related=related)
    related = [_related(*row[4:], samples=(subject_sample, total_sample)) for row in rows if row[4] is not None]
    sample = RelatedSample(subject_sample, subject_n, total_sample, total_n)
    return Related(total=total, count=count, related=related, sample=sample)


def _slice_values(side: str, sample: Sample | None) -> dict[str, Any]:
    """A side's bound and scale (a slice's count times the scale is its estimate; 1: every article)."""
    if sample is None:
        return {f"{side}_scale": 1}
    return {f"{side}_below": sample.below, f"{side}_scale": sample.scale}


def margin(sample: Sample | None, sampled: int) -> int:
    """The 95 % margin of a count of ``sampled`` articles in ``sample``'s slice (0: counted exactly)."""
    return 0 if sample is None else sample.margin(sampled)


def _related(
    id_: str,
    name: str,
    type_: str,
    pair_n: int,
    total_n: int,
    count: int,
    total: int,
    lift: Decimal,
    npmi: Decimal,
    *,
    samples: tuple[Sample | None, Sample | None] | None = None,
) -> RelatedEntity:
    if samples is None:
        return RelatedEntity(id_, name, type_, count, total, float(lift), float(npmi))
    subject_sample, total_sample = samples
    # A name the total's slice missed has no count to take a margin of, yet may be that common:
    # its margin is at least one sampled article's worth.
    return RelatedEntity(
        id_,
        name,
        type_,
        count,
        total,
        float(lift),
        float(npmi),
        margin=margin(subject_sample, pair_n),
        total_margin=margin(total_sample, max(total_n, 1)),
    )
