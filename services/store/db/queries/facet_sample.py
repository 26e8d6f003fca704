"""Which matching articles the facets count: all of them, or a fixed slice of them when there are many.

Facets of a common word read every link of tens of thousands of articles (1.3 s for 36,000
matches of 100,000 articles). Above about twice the sample size, the facets count the matches
whose id falls in a slice of the id space instead, and scale up: a Bernoulli sample, since an
article id is a uuid5 (SHA-1), so its leading hex digits are uniform and independent of the
article's content. The slice is a power-of-two share of the id space (``article_id < below``,
read from the primary key's index), so the same search always reads the same sample: repeated
requests and every API worker give the same answer, and a smaller slice lies inside a larger one.

Estimates are Horvitz-Thompson: a value seen in ``x`` sampled articles stands for ``x / share``
matches, with a 95 % margin of ``1.96 * sqrt(x * (1 - share)) / share`` (the binomial variance of
``x``). The share is chosen from a pilot count on a 1/64 slice, so choosing costs a sixty-fourth
of counting; the pilot counts every finer slice in the same pass (``NESTED_COUNTS_SQL``), so a
sample finer than the pilot (a search matching more than 64 samples' worth) is counted already.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Article ids are compared on their first eight hex digits: 2**32 slices of the id space.
_ID_SPACE = 16**8
PILOT_BITS = 6
# A slice of 2**-20 of the id space is one article in a million: no archive needs a finer one.
MAX_BITS = 20
_Z_95 = 1.96


@dataclass(frozen=True)
class Sample:
    """The slice of the id space counted: a share of ``2 ** -bits``, the ids below ``below``."""

    bits: int

    @property
    def share(self) -> float:
        return 2.0**-self.bits

    @property
    def scale(self) -> int:
        """The matches one sampled article stands for (1 / share)."""
        return 1 << self.bits

    @property
    def below(self) -> str:
        """Every id whose first eight hex digits are below this one is in the slice (ids are lower case)."""
        return format(_ID_SPACE >> self.bits, "08x")

    def estimate(self, sampled: int) -> int:
        """The matches a count of ``sampled`` articles in the slice stands for."""
        return sampled * self.scale

    def margin(self, sampled: int) -> int:
        """The half-width of the estimate's 95 % interval, in articles."""
        return math.ceil(_Z_95 * math.sqrt(sampled * (1.0 - self.share)) / self.share)


PILOT = Sample(PILOT_BITS)
# The slices inside the pilot's, finest last, and their counts over ``articles a`` (bounds are hex
# constants of this module, never request values).
NESTED_BITS = tuple(range(PILOT_BITS + 1, MAX_BITS + 1))
NESTED_COUNTS_SQL = ", ".join(f"count(*) FILTER (WHERE a.article_id < '{Sample(bits).below}')" for bits in NESTED_BITS)


def choose_sample(pilot_count: int, target: int) -> Sample | None:
    """The slice to count, given the matches in the pilot slice; None: count every match.

    Every match is counted up to about twice ``target``; above, the share whose expected sample
    is nearest ``target`` on a log scale (between 0.71 and 1.41 times it): the sample's cost is
    centred on the target rather than up to twice it.
    """
    expected = PILOT.estimate(pilot_count)
    if expected <= 2 * target:
        return None
    return Sample(min(MAX_BITS, max(1, round(math.log2(expected / target)))))
