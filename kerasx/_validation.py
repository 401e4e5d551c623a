"""Argument checks shared by every kerasx component.

All of them raise :class:`InvalidArgument` (a ``ValueError``) with one message form, the one
Keras uses::

    Invalid value for argument `beta`. Expected a float > 0. Received: beta=0

>>> check_positive("beta", 0.5)
0.5
>>> check_positive("beta", 0)
Traceback (most recent call last):
...
kerasx.InvalidArgument: Invalid value for argument `beta`. Expected a float > 0. Received: beta=0
"""

import argparse
import math
import numbers

__all__ = [
    "InvalidArgument",
    "argument_type",
    "check_data",
    "check_in_range",
    "check_int",
    "check_non_negative",
    "check_one_of",
    "check_positive",
    "check_range",
    "invalid_value",
]


class InvalidArgument(ValueError):
    """A value a user gave is not one kerasx accepts: the error a command reports in one line.

    A ``ValueError``, so ``except ValueError`` still catches it. The ``kerasx`` commands report
    this class (and a missing file, and a data set that cannot be had) as one line and exit
    status 2; any other exception is a bug and shows its traceback.

    Args:
        message: what was wrong, in the standard form ``Invalid value for argument `beta`.
            Expected a float > 0. Received: beta=0``.
        expected: what was expected, e.g. ``"a float > 0"`` (``argparse`` types reuse it).
        hint: one sentence on what to do instead, shown after the message.

    >>> error = InvalidArgument("Bad value.", hint="Try 3.")
    >>> str(error), error.hint, isinstance(error, ValueError)
    ('Bad value. Try 3.', 'Try 3.', True)
    """

    def __init__(self, message, *, expected=None, hint=None):
        super().__init__(message)
        self.message, self.expected, self.hint = message, expected, hint

    def __str__(self):
        return self.message if self.hint is None else f"{self.message} {self.hint}"

    def __reduce__(self):  # picklable across processes, with its keyword arguments
        return _rebuild_invalid_argument, (self.message, self.expected, self.hint)


InvalidArgument.__module__ = "kerasx"  # its public name: kerasx.InvalidArgument


def _rebuild_invalid_argument(message, expected, hint):
    return InvalidArgument(message, expected=expected, hint=hint)


def invalid_value(name, expected, received, *, describe=repr, hint=None):
    """Builds the standard :class:`InvalidArgument` (to be raised by the caller).

    Args:
        name: the argument's name.
        expected: what was expected, e.g. ``"a float > 0"``.
        received: the value received.
        describe: turns ``received`` into the text after ``name=`` (default ``repr``; e.g. a
            summary of a large array).
        hint: one sentence on what to do instead, or ``None``.

    Returns:
        An :class:`InvalidArgument` with the message in the standard form.

    >>> str(invalid_value("n_bins", "an integer >= 1", 0))
    'Invalid value for argument `n_bins`. Expected an integer >= 1. Received: n_bins=0'
    >>> str(invalid_value("w", "finite values", [1, None], describe=lambda v: f"{len(v)} items"))
    'Invalid value for argument `w`. Expected finite values. Received: w=2 items'
    """
    message = (
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={describe(received)}"
    )
    # ``expected`` separately, for argument_type (which reports it under the option's name).
    return InvalidArgument(message, expected=expected, hint=hint)


def _is_real(value):
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_positive(name, value):
    """Returns ``value`` if it is a finite real number > 0, else raises."""
    if not _is_real(value) or not math.isfinite(value) or value <= 0:
        raise invalid_value(name, "a float > 0", value)
    return value


def check_non_negative(name, value):
    """Returns ``value`` if it is a finite real number >= 0, else raises."""
    if not _is_real(value) or not math.isfinite(value) or value < 0:
        raise invalid_value(name, "a float >= 0", value)
    return value


def check_in_range(name, value, low, high, *, low_open=False, high_open=False):
    """Returns ``value`` if it is a real number in the given interval, else raises.

    >>> check_in_range("l1_ratio", 1.5, 0, 1)
    Traceback (most recent call last):
    ...
    kerasx.InvalidArgument: Invalid value for argument `l1_ratio`. Expected a float in [0, 1]. Received: l1_ratio=1.5
    """
    left = "(" if low_open else "["
    right = ")" if high_open else "]"
    ok = _is_real(value) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        raise invalid_value(name, f"a float in {left}{low}, {high}{right}", value)
    return value


def check_int(name, value, *, minimum=None):
    """Returns ``value`` if it is an integer (not a bool) >= ``minimum``, else raises."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        ok = False
    else:
        ok = minimum is None or value >= minimum
    if not ok:
        expected = "an integer" if minimum is None else f"an integer >= {minimum}"
        raise invalid_value(name, expected, value)
    return int(value)


def check_one_of(name, value, allowed):
    """Returns ``value`` if it is one of ``allowed``, else raises.

    >>> check_one_of("weights", "cubic", (None, "linear", "quadratic"))
    Traceback (most recent call last):
    ...
    kerasx.InvalidArgument: Invalid value for argument `weights`. Expected one of (None, 'linear', 'quadratic'). Received: weights='cubic'
    """
    if value not in allowed:
        raise invalid_value(name, f"one of {tuple(allowed)!r}", value)
    return value


def argument_type(parse, check=None, /, **check_kwargs):
    """Makes an ``argparse`` type from a parser of text and one of the checks above.

    Command-line options are validated at parse time with the same checks (and the same
    "expected" wording) as the Python API; ``argparse`` then reports the option's name.

    Args:
        parse: turns the text into a value, e.g. ``int`` or ``float``.
        check: a ``check_*`` function of this module, or ``None``.
        **check_kwargs: passed to ``check`` after the name and value.

    Returns:
        A function of one string for ``add_argument(type=...)``.

    >>> positive = argument_type(int, check_int, minimum=1)
    >>> positive("3")
    3
    >>> positive("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected an integer >= 1. Received: '0'
    >>> argument_type(float, check_positive)("many")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: expected a float > 0. Received: 'many'
    """

    def convert(text):
        try:
            value = parse(text)
            return value if check is None else check("value", value, **check_kwargs)
        except (TypeError, ValueError) as error:
            expected = getattr(error, "expected", None)
        if expected is None and check is not None:
            # The parse failed: say what the check would have wanted, or what parse reads.
            try:
                check("value", None, **check_kwargs)
            except (TypeError, ValueError) as error:
                expected = getattr(error, "expected", None)
        expected = expected or f"a value that {getattr(parse, '__name__', 'the parser')} reads"
        raise argparse.ArgumentTypeError(f"expected {expected}. Received: {text!r}")

    convert.__name__ = getattr(check, "__name__", getattr(parse, "__name__", "value"))
    return convert


def check_range(name, value, *, minimum=None, maximum=None, integer=False, log=False):
    """Returns ``(low, high)`` for a range given as a ``(low, high)`` pair or as one fixed value.

    Raises when low > high, a bound is not a finite number (an integer if ``integer``), a bound
    is outside ``[minimum, maximum]``, or ``log`` is set and a bound is <= 0.

    >>> check_range("n_neurons", (8, 64), minimum=1, integer=True)
    (8, 64)
    >>> check_range("dropout", 0.2, minimum=0.0, maximum=0.999)
    (0.2, 0.2)
    >>> check_range("learning_rate", (0.1, 0.001), log=True)
    Traceback (most recent call last):
    ...
    kerasx.InvalidArgument: Invalid value for argument `learning_rate`. Expected a (low, high) pair with low <= high. Received: learning_rate=(0.1, 0.001)
    """
    pair = tuple(value) if isinstance(value, (tuple, list)) else (value, value)
    if len(pair) != 2:
        raise invalid_value(name, "a number or a (low, high) pair", value)
    for bound in pair:
        ok = _is_real(bound) and math.isfinite(bound)
        ok = ok and (not integer or float(bound).is_integer())
        ok = ok and (minimum is None or bound >= minimum) and (maximum is None or bound <= maximum)
        if not ok or (log and bound <= 0):
            kind = "integers" if integer else "numbers"
            bounds = f" >= {minimum}" if minimum is not None else ""
            bounds += f" and <= {maximum}" if maximum is not None else ""
            expected = f"a (low, high) pair of {kind}{' > 0' if log else bounds}"
            raise invalid_value(name, expected, value)
    low, high = (int(b) for b in pair) if integer else (float(b) for b in pair)
    if low > high:
        raise invalid_value(name, "a (low, high) pair with low <= high", value)
    return low, high


def check_data(X, y, *, x_name="X", y_name="y"):
    """Returns ``X`` and ``y`` as NumPy arrays, or raises for data no model can learn from.

    Refused: an ``X`` that is empty or has no feature axis, values that are not numbers or not
    finite (NaN or inf), and a ``y`` without one label per sample of ``X``.

    Args:
        X: samples, shape ``(n_samples, n_features, ...)``.
        y: one label per sample.
        x_name, y_name: the arguments' names in the caller, for the message.

    >>> X, y = check_data([[0.0, 1.0], [2.0, 3.0]], [0, 1])
    >>> X.shape, y.shape
    ((2, 2), (2,))
    >>> check_data([[0.0, float("nan")]], [1], x_name="X_test")
    Traceback (most recent call last):
    ...
    kerasx.InvalidArgument: Invalid value for argument `X_test`. Expected finite values (no NaN or inf). Received: X_test=array of shape (1, 2)
    """
    import numpy as np  # here: the other checks need the standard library only

    def shape(array):
        return f"array of shape {array.shape}"

    X, y = np.asarray(X), np.asarray(y)
    if X.ndim < 2 or len(X) == 0:
        expected = "a non-empty array of samples, shape (n_samples, n_features, ...)"
        raise invalid_value(x_name, expected, X, describe=shape)
    for name, array in ((x_name, X), (y_name, y)):
        if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
            raise invalid_value(name, "numbers", array.dtype, describe=str)
        # One float64 sum first (no temporary as large as the data); an exact pass if it fails.
        total = float(np.sum(array, dtype=np.float64))
        if not (math.isfinite(total) or bool(np.isfinite(array).all())):
            raise invalid_value(name, "finite values (no NaN or inf)", array, describe=shape)
    if y.shape[:1] != X.shape[:1]:
        expected = f"one label per sample of {x_name} ({len(X)})"
        raise invalid_value(y_name, expected, y, describe=shape)
    return X, y
