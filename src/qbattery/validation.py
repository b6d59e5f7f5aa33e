"""Converting and checking input values, with errors that name the field.

The bottom of the layers: :mod:`qbattery.model`, :mod:`qbattery.envelopes` and
:mod:`qbattery.options` build their validated objects with these.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from .errors import ModelError

__all__ = ["complex_number", "field_prefix", "jump_weights", "mode_name", "real_number"]


@contextlib.contextmanager
def field_prefix(prefix: str) -> Iterator[None]:
    """Re-raise :class:`ModelError` from the body with ``prefix.`` prepended to the field."""
    try:
        yield
    except ModelError as err:
        raise err.renamed(f"{prefix}.{err.field}" if prefix else err.field) from None


def real_number(name: str, value: Any, *, minimum: float | None = None,
                positive: bool = False, magnitude: float | None = None) -> float:
    """Convert ``value`` to a finite float, or raise a ModelError naming ``name``.

    Checked: a real number (not a bool), finite, > 0 with ``positive``, >= ``minimum``,
    and |value| <= ``magnitude``.
    """
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModelError(name, f"expected a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ModelError(name, f"must be finite, got {value!r}")
    if positive and number <= 0:
        raise ModelError(name, f"must be > 0, got {value!r}")
    if minimum is not None and number < minimum:
        raise ModelError(name, f"must be >= {minimum:g}, got {value!r}")
    if magnitude is not None and abs(number) > magnitude:
        raise ModelError(name, f"must be at most {magnitude:g} in magnitude, got {value!r}")
    return number


def complex_number(name: str, value: Any, *, magnitude: float | None = None) -> complex:
    """Convert a number or a ``[re, im]`` pair to a finite complex (|z| <= ``magnitude``)."""
    if isinstance(value, complex):
        parts: Sequence[Any] = (value.real, value.imag)
    elif isinstance(value, list | tuple):
        if len(value) != 2:
            raise ModelError(name, f"expected a number or [re, im], got {value!r}")
        parts = value
    else:
        parts = (value, 0.0)
    re_ = real_number(name, parts[0])
    im_ = real_number(name, parts[1])
    z = complex(re_, im_)
    if magnitude is not None and abs(z) > magnitude:
        raise ModelError(name, f"must be at most {magnitude:g} in magnitude, got {value!r}")
    return z


def mode_name(name: str, value: Any) -> str:
    """A mode name: a non-empty string of printable characters (no newline, NUL, tab or
    other control character, which would break the stored model file and the paths)."""
    if not isinstance(value, str) or not value.strip():
        raise ModelError(name, f"expected a non-empty string, got {value!r}")
    if not value.isprintable():
        raise ModelError(name, f"must contain printable characters only (no newline, tab "
                         f"or control character), got {value!r}")
    return value


def jump_weights(name: str, value: Any, *, magnitude: float) -> tuple[tuple[str, complex], ...]:
    """A jump's weights {mode: c} (a table, or (mode, c) pairs) as pairs: non-empty,
    printable names, finite complex numbers ([re, im] or real, |c| <= ``magnitude``),
    not all zero."""
    if isinstance(value, Mapping):
        items = list(value.items())
    elif isinstance(value, list | tuple) and all(
            isinstance(p, list | tuple) and len(p) == 2 for p in value):
        items = [tuple(p) for p in value]
    else:
        raise ModelError(name, f"expected a table {{mode = weight}}, got {value!r}")
    if not items:
        raise ModelError(name, "a jump needs at least one mode")
    out: dict[str, complex] = {}
    for key, weight in items:
        mode = mode_name(name, key)
        if mode in out:
            raise ModelError(f"{name}.{mode}", "mode given twice")
        out[mode] = complex_number(f"{name}.{mode}", weight, magnitude=magnitude)
    if not any(out.values()):
        raise ModelError(name, "every weight is zero (the jump operator would be 0)")
    return tuple(out.items())


def choice(name: str, value: Any, options: tuple[str, ...]) -> str:
    """One of ``options`` (a string), else a :class:`ModelError` naming ``name``."""
    if not isinstance(value, str) or value not in options:
        raise ModelError(name, f"unknown {name} {value!r}; known: {', '.join(options)}")
    return value


#: Bounds on single fields, in units of omega (so that nothing a solver computes from
#: them overflows; far beyond the rotating-wave model's range of validity):
#: frequencies (modes and drives) in [MIN_FREQUENCY, MAX_FREQUENCY]; |coupling|,
#: |drive amplitude|, bath rate <= MAX_RATE; occupations, temperatures and |initial
#: amplitude| <= MAX_OCCUPATION (a thermal occupation of 1e6 quanta, or 1e12 for a
#: coherent amplitude of 1e6).
MIN_FREQUENCY = 1e-6
MAX_FREQUENCY = 1e6
MAX_RATE = 1e6
MAX_OCCUPATION = 1e6

#: Spectral densities a bath may have (see :class:`Bath`).
SPECTRAL_DENSITIES = ("flat", "ohmic")


def frequency_value(name: str, value: Any) -> float:
    """A frequency: a real number in [MIN_FREQUENCY, MAX_FREQUENCY]."""
    number = real_number(name, value, positive=True, magnitude=MAX_FREQUENCY)
    if number < MIN_FREQUENCY:
        raise ModelError(name, f"must be >= {MIN_FREQUENCY:g} (units of omega), got {value!r}")
    return number
