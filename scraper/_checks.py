"""Argument checks that raise ``TypeError`` and ``ValueError`` in one wording.

Every message names the argument, states what is accepted and shows the received
value, so a caller can fix the call from the message alone.
"""

import numbers
import os

from scraper.errors import InvalidArgumentError, InvalidArgumentTypeError


def type_error(name, expected, value):
    """Build the ``TypeError`` for argument ``name`` of the wrong type."""
    return InvalidArgumentTypeError(
        f"Invalid type for argument `{name}`. Expected {expected}. "
        f"Received {name}={value!r} of type {type(value).__name__}.",
        argument=name,
        expected=expected,
        value=value,
    )


def value_error(name, expected, value):
    """Build the ``ValueError`` for argument ``name`` with a value out of range."""
    return InvalidArgumentError(
        f"Invalid value for argument `{name}`. Expected {expected}. "
        f"Received {name}={value!r}.",
        argument=name,
        expected=expected,
        value=value,
    )


def check_int(name, value, *, minimum=None, maximum=None, allowed=()):
    """Return ``value`` if it is an int in ``[minimum, maximum]`` or in ``allowed``.

    ``bool`` is rejected although it subclasses ``int``, because ``True`` as a
    count is almost always a mistake.
    """
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise type_error(name, "an int", value)
    value = int(value)
    if value in allowed:
        return value
    too_small = minimum is not None and value < minimum
    too_large = maximum is not None and value > maximum
    if too_small or too_large:
        raise value_error(name, _describe_range(minimum, maximum, allowed), value)
    return value


def check_float(name, value, *, minimum, maximum, include_maximum=True):
    """Return ``value`` as a float if it is a real number in the given range."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise type_error(name, "a float", value)
    value = float(value)
    upper_ok = value <= maximum if include_maximum else value < maximum
    if not (minimum <= value and upper_ok):
        bracket = "]" if include_maximum else ")"
        raise value_error(name, f"a number in [{minimum}, {maximum}{bracket}", value)
    return value


def check_choice(name, value, choices):
    """Return ``value`` if it is one of the strings in ``choices``."""
    accepted = ", ".join(repr(choice) for choice in choices)
    if not isinstance(value, str):
        raise type_error(name, f"a str, one of {accepted}", value)
    if value not in choices:
        raise value_error(name, f"one of {accepted}", value)
    return value


def check_path(name, value):
    """Return ``value`` as a path string if it is a ``str`` or ``os.PathLike``."""
    if not isinstance(value, (str, os.PathLike)):
        raise type_error(name, "a str or os.PathLike path", value)
    return os.fspath(value)


def _describe_range(minimum, maximum, allowed):
    if minimum is not None and maximum is not None:
        text = f"an int in [{minimum}, {maximum}]"
    elif minimum is not None:
        text = f"an int >= {minimum}"
    else:
        text = f"an int <= {maximum}"
    for value in allowed:
        text += f" or {value}"
    return text
