"""One rule from a ``(low, high)`` range to a distribution, for KerasTuner and scikit-learn.

:func:`search_range` checks a range of one of the MLP's hyperparameters against its domain and
picks its scale; the :class:`SearchRange` it returns declares itself on KerasTuner's
``HyperParameters`` (:meth:`SearchRange.declare`) or becomes a list or scipy-style distribution
for ``RandomizedSearchCV`` (:meth:`SearchRange.sampler`). Both paths therefore accept the same
ranges and draw from the same distributions:

- ``n_hidden``: uniform integers; ``n_neurons``: integers on a log scale (16 → 32 is as big a
  step as 256 → 512); ``learning_rate``: log scale; ``dropout``: linear, within [0, 0.999];
- ``l2``: log scale when ``low > 0``. A range that starts at 0 (no penalty) cannot be searched
  on a log scale, so it becomes "0 half of the time, else log-uniform on
  ``[high / 1000, high]``" (in KerasTuner a ``use_l2`` boolean plus ``l2``).

>>> search_range("l2", (0.0, 1e-2)).sampler()
zero_or_log_uniform(1e-05, 0.01)
>>> search_range("n_neurons", (16, 512)).sampler()
log_uniform_int(16, 512)
>>> search_range("learning_rate", (0.0, 1e-2))
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `learning_rate`. Expected a (low, high) pair of numbers > 0. Received: learning_rate=(0.0, 0.01)
"""

import dataclasses

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from kerasx._validation import check_one_of, check_range

__all__ = [
    "L2_DECADES",
    "RANGE_RULES",
    "SearchRange",
    "log_uniform_int",
    "search_range",
    "zero_or_log_uniform",
]

#: When a range on the ``"zero_or_log"`` scale starts at 0, its nonzero part is searched on a
#: log scale over this many decades below the upper bound.
L2_DECADES = 3

#: Each searchable hyperparameter of ``build_mlp``: its domain (``check_range`` arguments) and
#: its scale.
RANGE_RULES = {
    "n_hidden": ({"minimum": 0, "integer": True}, "linear"),
    "n_neurons": ({"minimum": 1, "integer": True}, "log"),
    "learning_rate": ({"log": True}, "log"),
    "dropout": ({"minimum": 0.0, "maximum": 0.999}, "linear"),
    "l2": ({"minimum": 0.0}, "zero_or_log"),
}


@dataclasses.dataclass(frozen=True)
class SearchRange:
    """A checked range of one hyperparameter and its scale.

    Attributes:
        name: the hyperparameter's name.
        low: the lower bound.
        high: the upper bound (equal to ``low`` for a fixed value).
        scale: ``"linear"``, ``"log"`` or ``"zero_or_log"`` (0, or log-uniform on
            ``[high / 10**L2_DECADES, high]``; only with ``low == 0 < high``).
        integer: draw integers.
    """

    name: str
    low: float
    high: float
    scale: str
    integer: bool = False

    @property
    def fixed(self):
        """True when the range holds one value."""
        return self.low == self.high

    def _nonzero_bounds(self):
        return self.high / 10**L2_DECADES, self.high

    def declare(self, hp):
        """Declares the range on KerasTuner's ``hp`` and returns this trial's value.

        >>> import keras_tuner
        >>> hp = keras_tuner.HyperParameters()
        >>> search_range("l2", (0.0, 1e-2)).declare(hp)
        0.0
        >>> sorted(hp.values)
        ['l2', 'use_l2']
        """
        if self.fixed:
            return hp.Fixed(self.name, self.low)
        if self.scale == "zero_or_log":
            use = hp.Boolean(f"use_{self.name}")
            value = hp.Float(self.name, *self._nonzero_bounds(), sampling="log")
            return value if use else 0.0
        declare = hp.Int if self.integer else hp.Float
        return declare(self.name, self.low, self.high, sampling=self.scale)

    def sampler(self):
        """The range for ``RandomizedSearchCV``: a list, or a distribution with ``rvs``.

        >>> search_range("n_hidden", (1, 3)).sampler()
        [1, 2, 3]
        """
        if self.fixed:
            return [self.low]
        if self.scale == "zero_or_log":
            return zero_or_log_uniform(*self._nonzero_bounds())
        if self.integer:
            if self.scale == "log":
                return log_uniform_int(self.low, self.high)
            return list(range(self.low, self.high + 1))
        if self.scale == "log":
            return stats.loguniform(self.low, self.high)
        return stats.uniform(self.low, self.high - self.low)


def search_range(name, value):
    """Checks the range ``value`` of the hyperparameter ``name`` and returns its :class:`SearchRange`.

    Args:
        name: one of :data:`RANGE_RULES`.
        value: a ``(low, high)`` pair, or one value to hold fixed.

    Returns:
        The :class:`SearchRange`.

    Raises:
        ValueError: for an unknown name, low > high, or a bound outside the domain.
    """
    check_one_of("name", name, tuple(RANGE_RULES))
    domain, scale = RANGE_RULES[name]
    low, high = check_range(name, value, **domain)
    if scale == "zero_or_log" and low > 0:
        scale = "log"
    return SearchRange(name, low, high, scale, integer=domain.get("integer", False))


class _LogUniformInt:
    """Integers in [low, high] whose logarithm is uniform (what ``hp.Int(sampling="log")`` does)."""

    def __init__(self, low, high):
        self.low, self.high = low, high

    def rvs(self, size=None, random_state=None):
        random_state = check_random_state(random_state)
        draw = np.exp(random_state.uniform(np.log(self.low), np.log(self.high + 1), size=size))
        return np.clip(np.floor(draw), self.low, self.high).astype(int)

    def __repr__(self):
        return f"log_uniform_int({self.low}, {self.high})"


class _ZeroOrLogUniform:
    """0 with probability 1/2, else log-uniform on [low, high] (the ``use_l2`` + ``l2`` pair)."""

    def __init__(self, low, high):
        self.low, self.high = low, high
        self._log_uniform = stats.loguniform(low, high)

    def rvs(self, size=None, random_state=None):
        # One generator for both draws: an integer seed given to each would replay the same
        # uniforms, so "use" would follow the value instead of being independent of it.
        random_state = check_random_state(random_state)
        values = self._log_uniform.rvs(size=size, random_state=random_state)
        use = stats.bernoulli(0.5).rvs(size=size, random_state=random_state)
        return np.where(use == 1, values, 0.0) if size is not None else float(values * use)

    def __repr__(self):
        return f"zero_or_log_uniform({self.low}, {self.high})"


def log_uniform_int(low, high):
    """A distribution (``rvs``) of integers in [low, high] with a log-uniform spread.

    >>> draws = log_uniform_int(16, 512).rvs(size=1000, random_state=0)
    >>> int(draws.min()), int(np.median(draws)), int(draws.max())  # a linear scale: median ~264
    (16, 84, 512)
    """
    return _LogUniformInt(low, high)


def zero_or_log_uniform(low, high):
    """A distribution (``rvs``): 0 half of the time, else log-uniform on [low, high].

    >>> draws = zero_or_log_uniform(1e-5, 1e-2).rvs(size=1000, random_state=0)
    >>> float(np.mean(draws == 0))
    0.481
    """
    return _ZeroOrLogUniform(low, high)
