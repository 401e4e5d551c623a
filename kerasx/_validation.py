"""Argument checks shared by every kerasx component.

All of them raise ``ValueError`` with one message form, the one Keras uses::

    Invalid value for argument `beta`. Expected a float > 0. Received: beta=0

>>> check_positive("beta", 0.5)
0.5
>>> check_positive("beta", 0)
Traceback (most recent call last):
...
ValueError: Invalid value for argument `beta`. Expected a float > 0. Received: beta=0
"""

import argparse
import math
import numbers

__all__ = [
    "argument_type",
    "check_in_range",
    "check_int",
    "check_non_negative",
    "check_one_of",
    "check_positive",
    "check_range",
    "invalid_value",
]


def invalid_value(name, expected, received, *, describe=repr):
    """Builds the standard ``ValueError`` (to be raised by the caller).

    Args:
        name: the argument's name.
        expected: what was expected, e.g. ``"a float > 0"``.
        received: the value received.
        describe: turns ``received`` into the text after ``name=`` (default ``repr``; e.g. a
            summary of a large array).

    Returns:
        A ``ValueError`` with the message in the standard form.

    >>> str(invalid_value("n_bins", "an integer >= 1", 0))
    'Invalid value for argument `n_bins`. Expected an integer >= 1. Received: n_bins=0'
    >>> str(invalid_value("w", "finite values", [1, None], describe=lambda v: f"{len(v)} items"))
    'Invalid value for argument `w`. Expected finite values. Received: w=2 items'
    """
    error = ValueError(
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received: {name}={describe(received)}"
    )
    # The parts, for argument_type (which reports "expected ..." under the option's name).
    error.kerasx_expected = expected
    return error


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
    ValueError: Invalid value for argument `l1_ratio`. Expected a float in [0, 1]. Received: l1_ratio=1.5
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
    ValueError: Invalid value for argument `weights`. Expected one of (None, 'linear', 'quadratic'). Received: weights='cubic'
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
            expected = getattr(error, "kerasx_expected", None)
        if expected is None and check is not None:
            # The parse failed: say what the check would have wanted, or what parse reads.
            try:
                check("value", None, **check_kwargs)
            except (TypeError, ValueError) as error:
                expected = getattr(error, "kerasx_expected", None)
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
    ValueError: Invalid value for argument `learning_rate`. Expected a (low, high) pair with low <= high. Received: learning_rate=(0.1, 0.001)
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
