"""The result objects of :mod:`kerasx.stats`: an estimate with its interval."""

import dataclasses
import math

__all__ = ["Interval"]


@dataclasses.dataclass(frozen=True)
class Interval:
    """A point estimate with its confidence interval.

    Attributes:
        estimate: the statistic on the data as given.
        low: the interval's lower end.
        high: the interval's upper end.
        level: the interval's nominal coverage, e.g. ``0.95``.
        method: how the interval was made (``"wilson"``, ``"percentile"``, ``"bca"``, ...).
        n: the number of rows (or trials) it was computed from.
        n_groups: the number of groups resampled (``None`` when rows were resampled).

    >>> Interval(0.9, 0.8, 0.95, level=0.95, method="wilson", n=50)
    Interval(0.900 [0.800, 0.950], 95% wilson, n=50)
    >>> Interval(0.9, 0.8, 0.95, level=0.95, method="wilson", n=50).format(2)
    '0.90 [0.80, 0.95]'
    """

    estimate: float
    low: float
    high: float
    level: float = 0.95
    method: str = ""
    n: int | None = None
    n_groups: int | None = None

    def format(self, digits=3):
        """``"0.966 [0.951, 0.978]"``: the estimate and its interval, rounded."""
        if math.isnan(self.estimate):
            return "nan"
        return f"{self.estimate:.{digits}f} [{self.low:.{digits}f}, {self.high:.{digits}f}]"

    def to_dict(self):
        """The fields as a JSON-ready dict (``nan`` becomes ``None``)."""
        return {
            key: (None if isinstance(value, float) and math.isnan(value) else value)
            for key, value in dataclasses.asdict(self).items()
        }

    def __repr__(self):
        groups = f", {self.n_groups} groups" if self.n_groups is not None else ""
        return f"Interval({self.format()}, {self.level:.0%} {self.method}, n={self.n}{groups})"
