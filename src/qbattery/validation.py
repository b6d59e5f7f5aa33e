"""Converting and checking input values, with errors that name the field.

The bottom of the layers: :mod:`qbattery.model`, :mod:`qbattery.envelopes` and
:mod:`qbattery.options` build their validated objects with these.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator
from typing import Any

from .errors import ModelError

__all__ = ["field_prefix", "real_number"]


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
