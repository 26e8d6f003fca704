"""The listing planner's tuning: every threshold and cost it weighs, in one typed, immutable object.

The application holds one (``app.state.listing_tuning``) and hands it to the planner with each
request; tests pass their own instead of patching module attributes. The defaults were measured
on the 100k-article bench database (``bench/api.py``); each field says what it bounds and why.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ListingTuning:
    """Thresholds and measured costs that steer which plan answers a listing (never which rows)."""

    # A search snippet is looked for in at most this much of a body: a 10 MB file must not stall a page.
    snippet_source_max_chars: int = 20_000
    # sort=relevance ranks the newest this-many matching articles, not every match: ts_rank reads
    # each candidate's whole search vector, so ranking every match of a common word ("market":
    # ~36k of 100k articles) took ~240 ms; the window bounds a page's cost whatever the word.
    relevance_window: int = 500
    # A search sorted by date first tests this many articles in sort order (the cheap plan for a
    # common word); when they hold less than a page of matches, the page comes from the GIN index.
    search_walk_rows: int = 300
    # Testing one article of a walk costs ~2.8 us (its search vector read from TOAST); taking one
    # match from the GIN index ~1.7 us (a heap visit, and its share of the sort).
    walk_us_per_article: float = 2.8
    index_us_per_match: float = 1.7
    # A search with entities takes the ANDed GIN indexes when its words are estimated in less than
    # this share of the archive (over the bench's 400 word and entity pairs: mean 3.9 ms against 5.7).
    keyed_search_max_share: float = 0.10
    # Links an entity may gain between reading its count and walking its links (commits in between).
    link_count_slack: int = 50
    # A window of the newest articles is sized to hold this many pages of matches.
    window_pages: float = 3.0
    # A relevance window is sized to hold this many times relevance_window matches; one that would
    # span more than ranked_window_max_share of the archive is not used (it would visit most
    # matches anyway and only add the estimate's cost).
    ranked_window_margin: float = 1.5
    ranked_window_max_share: float = 0.5
    # A search sorted by ingest time estimates its matches before the short walk only in an archive
    # of at least this many articles (below it the walk and the index are both cheap, the estimate
    # is not); it then walks when the walk is expected to find walk_fill_margin pages of matches.
    estimate_first_min_archive: int = 10_000
    walk_fill_margin: float = 1.0
    # A longer walk aims this much past the estimate of the articles a page needs, and never walks
    # further than longest_walk articles.
    walk_margin: float = 1.5
    longest_walk: int = 20_000
    # A walk of every link an entity group has is tried only for groups of at most this many links
    # (~10 us a link), and only when the short walk found 1 / link_walk_max_growth of a page.
    longest_link_walk: int = 1_500
    link_walk_max_growth: int = 3
