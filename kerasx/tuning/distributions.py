"""One mapping from a search space as people write it to KerasTuner and to scikit-learn.

:func:`search_dimension` takes one hyperparameter's values as a course or a scikit-learn user
writes them and returns an object that declares itself on KerasTuner's ``HyperParameters``
(``declare(hp)``) and becomes what ``RandomizedSearchCV`` draws from (``sampler()``), so both
searches draw from the same distribution:

- evenly spaced integers (``range(1, 4)``, ``np.arange(4, 33)``, ``[32, 64, 96]``): KerasTuner's
  ``hp.Int(low, high, step)``; scikit-learn draws from the list;
- any other list, tuple or 1-D array (``["relu", "tanh"]``): ``hp.Choice`` (values it cannot
  hold, such as ``None`` or a tuple, by their text, mapped back); the list;
- ``(low, high)``, two numbers: ``hp.Int`` or ``hp.Float``, linear; ``randint`` or ``uniform``;
  ``(low, high, "log")``: the same on a log scale; ``loguniform`` (:func:`log_uniform_int` for
  integers);
- ``scipy.stats`` ``uniform``, ``loguniform`` (the course's ``reciprocal``) and ``randint``:
  ``hp.Float`` (linear or log) or ``hp.Int`` over the distribution's support; scikit-learn
  draws from the distribution itself; any other distribution (``norm``…) only scikit-learn can
  draw from, and KerasTuner refuses it;
- one value (``3``, ``"relu"``): ``hp.Fixed``; a one-value list.

A pair of numbers is a range: write a list (``[16, 64]``) for a choice between two values.

For the MLP's own hyperparameters (:data:`RANGE_RULES`) a range also has a domain and a scale of
its own: :func:`search_range` checks a range of one of them against its domain and picks its
scale; the :class:`SearchRange` it returns declares itself on KerasTuner's
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
import itertools
import math
import numbers

import numpy as np
from scipy import stats
from sklearn.utils import check_random_state

from kerasx._validation import check_int, check_one_of, check_range, invalid_value

__all__ = [
    "L2_DECADES",
    "RANGE_RULES",
    "Choices",
    "Sampled",
    "SearchRange",
    "log_uniform_int",
    "mlp_dimension",
    "search_dimension",
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
        step: for integers on a linear scale, the spacing of the values (``np.arange(4, 33, 2)``:
            2); None for every integer.
        source: what the user wrote, when scikit-learn should draw from it as it is (a list, a
            scipy distribution); None to draw from the range.
    """

    name: str
    low: float
    high: float
    scale: str
    integer: bool = False
    step: int | None = None
    source: object = dataclasses.field(default=None, compare=False, repr=False)

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
        if self.integer:
            return hp.Int(self.name, self.low, self.high, step=self.step, sampling=self.scale)
        return hp.Float(self.name, self.low, self.high, sampling=self.scale)

    def sampler(self):
        """The range for ``RandomizedSearchCV``: a list, or a distribution with ``rvs``.

        >>> search_range("n_hidden", (1, 3)).sampler()
        [1, 2, 3]
        """
        if self.source is not None:
            return self.source
        if self.fixed:
            return [self.low]
        if self.scale == "zero_or_log":
            return zero_or_log_uniform(*self._nonzero_bounds())
        if self.integer:
            if self.scale == "log":
                return log_uniform_int(self.low, self.high)
            return list(range(self.low, self.high + 1, self.step or 1))
        if self.scale == "log":
            return stats.loguniform(self.low, self.high)
        return stats.uniform(self.low, self.high - self.low)

    def describe(self):
        """The range as JSON: ``[low, high]``, or a dict when it has a scale or step of its own."""
        if self.scale == "linear" and self.step in (None, 1):
            return [self.low, self.high]
        record = {"low": self.low, "high": self.high, "scale": self.scale}
        return record if self.step is None else {**record, "step": self.step}


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


# ----------------------------------------------------------------------------------------------
# Any search space as people write it


#: The value types ``hp.Choice`` holds; a choice among other values is declared by their text.
_KERAS_TUNER_TYPES = (str, bool, int, float)


@dataclasses.dataclass(frozen=True)
class Choices:
    """A choice among listed values (one value: fixed).

    Attributes:
        name: the hyperparameter's name.
        values: the values, as given (NumPy scalars made plain).
    """

    name: str
    values: tuple

    @property
    def fixed(self):
        """True when there is one value."""
        return len(self.values) == 1

    def _as_text(self):
        """True when KerasTuner cannot hold the values (None, tuples, mixed types)."""
        kinds = {type(value) for value in self.values}
        return len(kinds) != 1 or not kinds <= set(_KERAS_TUNER_TYPES)

    def declare(self, hp):
        """Declares the choice on KerasTuner's ``hp`` and returns this trial's value.

        >>> import keras_tuner
        >>> Choices("units", (None, (64, 32))).declare(keras_tuner.HyperParameters()) is None
        True
        """
        if not self._as_text():
            if self.fixed:
                return hp.Fixed(self.name, self.values[0])
            return hp.Choice(self.name, list(self.values))
        by_text = {repr(value): value for value in self.values}
        if len(by_text) != len(self.values):
            raise invalid_value(self.name, "values whose repr() differ", list(self.values))
        if self.fixed:
            return self.values[0]
        return by_text[hp.Choice(self.name, list(by_text))]

    def sampler(self):
        """The values, as the list ``RandomizedSearchCV`` draws from."""
        return list(self.values)

    def describe(self):
        """The values as JSON (text for values JSON cannot hold)."""
        plain = (str, bool, int, float, type(None))
        return [value if isinstance(value, plain) else repr(value) for value in self.values]


@dataclasses.dataclass(frozen=True)
class Sampled:
    """A distribution (``rvs``) that scikit-learn draws from but KerasTuner cannot declare.

    Attributes:
        name: the hyperparameter's name.
        distribution: the distribution, e.g. ``scipy.stats.norm(0, 1)``.
    """

    name: str
    distribution: object

    fixed = False

    def declare(self, hp):
        """Refuses: KerasTuner draws only from choices and linear or log ranges."""
        expected = (
            "for KerasTuner a list, a (low, high) pair or a scipy.stats uniform, loguniform or "
            "randint distribution (other distributions work with tuner='sklearn')"
        )
        raise invalid_value(self.name, expected, self.describe(), describe=str)

    def sampler(self):
        """The distribution itself."""
        return self.distribution

    def describe(self):
        """The distribution's name and arguments, as text."""
        return _distribution_text(self.distribution)


def _distribution_text(distribution):
    family = getattr(getattr(distribution, "dist", None), "name", None)
    if family is None:
        return repr(distribution)
    arguments = [repr(a) for a in distribution.args]
    arguments += [f"{key}={value!r}" for key, value in sorted(distribution.kwds.items())]
    return f"{family}({', '.join(arguments)})"


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _is_number(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _step(values):
    """The common step of increasing, evenly spaced integers, else None."""
    if len(values) < 2 or not all(isinstance(v, numbers.Integral) for v in values):
        return None
    if any(isinstance(v, bool) for v in values):
        return None
    steps = {b - a for a, b in itertools.pairwise(values)}
    return steps.pop() if len(steps) == 1 and min(steps) > 0 else None


def _from_values(name, values, source):
    values = tuple(_plain(v) for v in values)
    if not values:
        raise invalid_value(name, "at least one value", source)
    step = _step(values)
    if step is not None:  # a range KerasTuner can search with hp.Int
        return SearchRange(name, values[0], values[-1], "linear", True, step, source=list(values))
    return Choices(name, values)


def _from_pair(name, value):
    """``(low, high)`` or ``(low, high, "log")``: a linear or log range."""
    low, high = (_plain(v) for v in value[:2])
    log = len(value) == 3
    integer = all(isinstance(v, numbers.Integral) for v in (low, high))
    low, high = check_range(name, (low, high), integer=integer, log=log)
    if integer and not log and low < high:
        source = stats.randint(low, high + 1)
    else:
        source = None  # drawn from the range: uniform, loguniform or log_uniform_int
    return SearchRange(name, low, high, "log" if log else "linear", integer, source=source)


def _is_range_tuple(value):
    if not isinstance(value, tuple) or len(value) not in (2, 3):
        return False
    return all(_is_number(_plain(v)) for v in value[:2]) and value[2:] in ((), ("log",))


def _from_distribution(name, distribution):
    """A scipy-style distribution: a range when KerasTuner can draw from it, else Sampled."""
    if isinstance(distribution, _LogUniformInt):
        return SearchRange(name, distribution.low, distribution.high, "log", True)
    if isinstance(distribution, _ZeroOrLogUniform):
        if math.isclose(distribution.low, distribution.high / 10**L2_DECADES):
            return SearchRange(name, 0.0, distribution.high, "zero_or_log", source=distribution)
        return Sampled(name, distribution)
    family = getattr(getattr(distribution, "dist", None), "name", None)
    if family not in ("uniform", "loguniform", "reciprocal", "randint"):
        return Sampled(name, distribution)
    low, high = (float(bound) for bound in distribution.support())
    if family == "randint":
        return SearchRange(name, int(low), int(high), "linear", True, source=distribution)
    # loguniform with a shifted loc is not log-uniform on its support: its median tells.
    scale = "log" if family != "uniform" else "linear"
    middle = math.sqrt(low * high) if scale == "log" and low > 0 else (low + high) / 2
    if not math.isclose(distribution.cdf(middle), 0.5, abs_tol=1e-9):
        return Sampled(name, distribution)
    return SearchRange(name, low, high, scale, source=distribution)


def search_dimension(name, value):
    """One hyperparameter's values as written, as KerasTuner and scikit-learn both draw them.

    The one mapping behind every search space of :mod:`kerasx.tuning` (see this module's table).

    Args:
        name: the hyperparameter's name.
        value: a list, tuple, 1-D NumPy array, ``range``, scipy distribution (``rvs``),
            ``(low, high)`` or ``(low, high, "log")`` pair, or one value to hold fixed.

    Returns:
        A :class:`SearchRange`, :class:`Choices` or :class:`Sampled`: ``declare(hp)`` for
        KerasTuner, ``sampler()`` for ``RandomizedSearchCV``, ``describe()`` for the record.

    Raises:
        ValueError: an empty list, a range with low > high, a multi-dimensional array, or a
            value of another kind.

    >>> search_dimension("n_neurons", np.arange(4, 33))
    SearchRange(name='n_neurons', low=4, high=32, scale='linear', integer=True, step=1)
    >>> search_dimension("activation", ["relu", "tanh"]).sampler()
    ['relu', 'tanh']
    >>> search_dimension("learning_rate", stats.loguniform(3e-4, 3e-2)).scale
    'log'
    >>> search_dimension("batch_size", {"low": 16})
    Traceback (most recent call last):
    ...
    kerasx.InvalidArgument: Invalid value for argument `batch_size`. Expected a list, tuple, range, 1-D NumPy array, scipy.stats distribution, (low, high) pair or one value. Received: batch_size={'low': 16}
    """
    if isinstance(value, (SearchRange, Choices, Sampled)):
        return value
    if hasattr(value, "rvs"):
        return _from_distribution(name, value)
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value.item()
    if isinstance(value, np.ndarray):
        if value.ndim != 1:
            expected = "a 1-D array of values"
            raise invalid_value(name, expected, f"an array of shape {value.shape}", describe=str)
        return _from_values(name, value.tolist(), value)
    if _is_range_tuple(value):
        return _from_pair(name, value)
    if isinstance(value, (list, tuple, range)):
        return _from_values(name, list(value), value)
    if value is None or isinstance(value, (*_KERAS_TUNER_TYPES, np.generic)):
        return Choices(name, (_plain(value),))
    expected = (
        "a list, tuple, range, 1-D NumPy array, scipy.stats distribution, (low, high) pair or "
        "one value"
    )
    raise invalid_value(name, expected, value)


def mlp_dimension(name, value):
    """:func:`search_dimension` for a hyperparameter of the MLP, checked against its domain.

    A ``(low, high)`` pair or one number follows the MLP's own scale (:func:`search_range`:
    ``n_neurons`` on a log scale, ``l2`` from 0…); any other form is taken as written, and its
    bounds must lie in the domain.

    >>> mlp_dimension("n_neurons", np.arange(4, 33)).step
    1
    >>> mlp_dimension("dropout", [0.0, 0.2, 1.5])
    Traceback (most recent call last):
    ...
    kerasx.InvalidArgument: Invalid value for argument `dropout`. Expected a (low, high) pair of numbers >= 0.0 and <= 0.999. Received: dropout=(0.0, 1.5)
    """
    check_one_of("name", name, tuple(RANGE_RULES))
    if _is_number(_plain(value)) or (_is_range_tuple(value) and len(value) == 2):
        return search_range(name, value)
    dimension = search_dimension(name, value)
    domain = dict(RANGE_RULES[name][0])
    if isinstance(dimension, SearchRange):
        check_range(name, (dimension.low, dimension.high), **domain)
    elif isinstance(dimension, Choices):
        if not all(_is_number(v) for v in dimension.values):
            raise invalid_value(name, "numbers", list(dimension.values))
        check_range(name, (min(dimension.values), max(dimension.values)), **domain)
        if domain.get("integer"):
            dimension = Choices(name, tuple(check_int(name, v) for v in dimension.values))
    return dimension
