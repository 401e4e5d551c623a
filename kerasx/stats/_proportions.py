"""The Wilson score interval of a proportion."""

import math

from kerasx._validation import check_in_range, check_int, invalid_value
from kerasx.stats._result import Interval

__all__ = ["wilson_interval"]


def _z(level):
    from scipy.stats import norm

    return float(norm.ppf(0.5 + level / 2))


def wilson_interval(k, n, level=0.95):
    """The Wilson score interval of ``k`` successes in ``n`` trials.

    The interval a statistician uses for an accuracy, a sensitivity or a specificity: unlike
    the normal ("Wald") interval it stays inside [0, 1] and keeps its coverage near 0 and 1.
    It equals ``statsmodels.stats.proportion.proportion_confint(k, n, method="wilson")``.

    Args:
        k: the number of successes, an int in ``[0, n]``.
        n: the number of trials, an int ``>= 1``.
        level: the coverage, a float in ``(0, 1)``.

    Returns:
        An :class:`Interval` with ``estimate = k / n``.

    Raises:
        kerasx.InvalidArgument: ``n < 1``, ``k`` outside ``[0, n]`` or ``level`` outside (0, 1).

    >>> wilson_interval(45, 50).format()
    '0.900 [0.786, 0.957]'
    """
    n = check_int("n", n, minimum=1)
    k = check_int("k", k, minimum=0)
    if k > n:
        raise invalid_value("k", f"an int in [0, n] = [0, {n}]", k)
    level = check_in_range("level", level, 0, 1, low_open=True, high_open=True)
    z = _z(level)
    p = k / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Interval(
        p, max(0.0, centre - half), min(1.0, centre + half), level=level, method="wilson", n=n
    )
