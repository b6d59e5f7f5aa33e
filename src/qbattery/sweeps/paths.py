"""Addressing a model's numeric fields by PATH, and the ``--vary`` axes of a sweep.

A PATH is ``SECTION.ITEM.FIELD``: ``drives.0.frequency``, ``couplings.1.strength``,
``baths.0.occupation``, ``modes.catalyst.frequency``, ``dissipators.0.rate``,
``dephasing.catalyst.rate``. ITEM is the item's index in its section or, for modes,
the mode's name; a bath may also be named by its mode (a mode has at most one bath),
and a drive or a dephasing by its mode when that mode has exactly one. Setting a
bath's ``occupation`` clears its ``temperature`` and vice versa (a bath has one or
the other).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from ..model import Model
from ..validation import field_prefix

#: The numeric fields a sweep may vary, per section.
FIELDS: dict[str, tuple[str, ...]] = {
    "modes": ("frequency", "initial_occupation"),
    "couplings": ("strength",),
    "drives": ("amplitude", "frequency"),
    "baths": ("rate", "occupation", "temperature"),
    "dissipators": ("rate", "occupation", "temperature"),
    "dephasing": ("rate",),
}
#: Largest number of values of one axis (each value is validated by building the model).
MAX_AXIS_VALUES = 1_000_000
_EXCLUSIVE = {"occupation": "temperature", "temperature": "occupation"}


@dataclass(frozen=True)
class FieldPath:
    """One numeric field of a model: ``getattr(model, section)[index].field``."""

    section: str
    index: int
    field: str

    @property
    def canonical(self) -> str:
        """The path with the item as an index, e.g. ``modes.1.frequency``."""
        return f"{self.section}.{self.index}.{self.field}"


def _items(model: Model, section: str) -> list[tuple[str, ...]]:
    """Every way to name each item of ``section``: index first, then aliases."""
    out: list[tuple[str, ...]] = []
    items = getattr(model, section)
    for i, item in enumerate(items):
        names: tuple[str, ...] = (str(i),)
        if section == "modes":
            names += (item.name,)
        elif section == "baths" or (section == "dephasing"
                                    and sum(d.mode == item.mode for d in items) == 1):
            names += (item.mode,)
        elif section == "drives" and sum(d.mode == item.mode for d in items) == 1:
            names += (item.mode,)
        out.append(names)
    return out


def valid_paths(model: Model) -> list[str]:
    """Every PATH of ``model`` that a sweep can vary (indices and name aliases)."""
    out = []
    for section, fields in FIELDS.items():
        for names in _items(model, section):
            out += [f"{section}.{name}.{field}" for name in names for field in fields]
    return out


def parse_path(model: Model, text: str, *, argument: str = "--vary") -> FieldPath:
    """Resolve ``text`` to a :class:`FieldPath` of ``model``.

    Raises:
        ModelError: naming ``argument`` and listing the valid paths.
    """
    parts = text.split(".")
    if len(parts) == 3 and parts[0] in FIELDS and parts[2] in FIELDS[parts[0]]:
        section, item, name = parts
        for i, names in enumerate(_items(model, section)):
            if item in names:
                return FieldPath(section, i, name)
    raise ModelError(argument, f"unknown path {text!r}; valid paths: "
                     + ", ".join(valid_paths(model)))


class PointBuilder:
    """Builds ``model`` with new values of ``paths``, for many points.

    Each changed item (a drive, a coupling, ...) is built and validated once per
    distinct value and reused across points; only the :class:`Model` itself is
    rebuilt (and re-validated) per point.
    """

    def __init__(self, model: Model, paths: Sequence[FieldPath]) -> None:
        self.model = model
        self._groups: dict[tuple[str, int], list[tuple[int, str]]] = {}
        for k, path in enumerate(paths):
            self._groups.setdefault((path.section, path.index), []).append((k, path.field))
        self._items: dict[tuple[str, int, tuple[float, ...]], Any] = {}

    def _item(self, section: str, index: int, fields: list[tuple[int, str]],
              values: Sequence[float]) -> Any:
        key = (section, index, tuple(float(values[k]) for k, _ in fields))
        item = self._items.get(key)
        if item is None:
            changes: dict[str, float | None] = {}
            for k, name in fields:
                changes[name] = float(values[k])
                if section == "baths" and name in _EXCLUSIVE:
                    changes.setdefault(_EXCLUSIVE[name], None)
            with field_prefix(f"{section}[{index}]"):
                item = replace(getattr(self.model, section)[index], **changes)
            self._items[key] = item
        return item

    def __call__(self, values: Sequence[float]) -> Model:
        sections: dict[str, list[Any]] = {}
        for (section, index), fields in self._groups.items():
            items = sections.setdefault(section, list(getattr(self.model, section)))
            items[index] = self._item(section, index, fields, values)
        new: dict[str, Any] = {k: tuple(v) for k, v in sections.items()}
        return replace(self.model, **new)


def with_values(model: Model, paths: Sequence[FieldPath], values: Sequence[float]) -> Model:
    """``model`` with each field in ``paths`` set to the matching value (validated)."""
    return PointBuilder(model, paths)(values)


@dataclass(frozen=True)
class Axis:
    """One ``--vary PATH=START:STOP:COUNT`` axis of a sweep.

    Args:
        name: the PATH as given (the dimension name of the results).
        path: the field it addresses.
        values: the values, distinct.
    """

    name: str
    path: FieldPath
    values: tuple[float, ...]

    def __post_init__(self) -> None:
        if not self.values:
            raise ModelError("--vary", f"{self.name}: no values")
        if len(set(self.values)) != len(self.values):
            raise ModelError("--vary", f"{self.name}: values must be distinct")

    @property
    def array(self) -> NDArray[np.float64]:
        """The values as an array."""
        return np.array(self.values, dtype=float)


def _number(text: str, what: str, spec: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ModelError("--vary", f"{spec!r}: {what} {text!r} is not a number") from None
    if not np.isfinite(value):
        raise ModelError("--vary", f"{spec!r}: {what} must be finite, got {text!r}")
    return value


def parse_vary(model: Model, spec: str) -> Axis:
    """Parse ``PATH=START:STOP:COUNT`` (COUNT values, ends included) or ``PATH=V1,V2,...``.

    Every value is checked by building the model with it, so a range that
    leaves a field's domain (e.g. a negative frequency) is refused up front.
    """
    if "=" not in spec:
        raise ModelError("--vary", f"expected PATH=START:STOP:COUNT, got {spec!r}")
    name, _, rng = (s.strip() for s in spec.partition("="))
    path = parse_path(model, name)
    if ":" in rng:
        parts = rng.split(":")
        if len(parts) != 3:
            raise ModelError("--vary", f"{spec!r}: expected START:STOP:COUNT")
        start = _number(parts[0], "START", spec)
        stop = _number(parts[1], "STOP", spec)
        try:
            count = int(parts[2])
        except ValueError:
            raise ModelError("--vary", f"{spec!r}: COUNT {parts[2]!r} is not an integer") \
                from None
        if count < 1:
            raise ModelError("--vary", f"{spec!r}: COUNT must be >= 1, got {count}")
        if count > MAX_AXIS_VALUES:
            raise ModelError("--vary", f"{spec!r}: COUNT {count} is too many values; at most "
                             f"{MAX_AXIS_VALUES} per axis")
        if count == 1 and start != stop:
            raise ModelError("--vary", f"{spec!r}: COUNT 1 needs START == STOP")
        if count > 1 and start == stop:
            raise ModelError("--vary", f"{spec!r}: START and STOP must differ when COUNT > 1")
        values = tuple(float(v) for v in np.linspace(start, stop, count))
    else:
        values = tuple(_number(v, "value", spec) for v in rng.split(",") if v.strip())
        if len(values) > MAX_AXIS_VALUES:
            raise ModelError("--vary", f"{name}: {len(values)} values is too many; at most "
                             f"{MAX_AXIS_VALUES} per axis")
    axis = Axis(name, path, values)
    # every field's domain is an interval: a range's ends cover its values
    for value in (values[0], values[-1]) if ":" in rng else values:
        try:
            with_values(model, [path], [value])
        except ModelError as err:
            raise ModelError("--vary", f"{name}={value:g} is invalid: {err}") from None
    return axis


def check_axes(axes: Sequence[Axis]) -> None:
    """Refuse two axes on one field (``modes.0.frequency`` and ``modes.charger.frequency``),
    or on a bath's occupation and temperature (setting one clears the other)."""
    seen: dict[str, str] = {}
    for axis in axes:
        p = axis.path
        key = f"{p.section}.{p.index}.{'occupation' if p.field in _EXCLUSIVE else p.field}"
        if key in seen:
            raise ModelError("--vary", f"{axis.name!r} and {seen[key]!r} address the same field")
        seen[key] = axis.name
