"""Output time grid, solver options, and TOML model files.

A model file holds the physics (``[[modes]]``, ``[[couplings]]``, ``[[drives]]``,
``[[baths]]``), the output times (``[time]`` stop, points: times from 0 to stop
in units of 1/omega) and the solver options (``[solver]``)::

    [[modes]]
    name = "charger"
    kind = "oscillator"
    frequency = 1.0

    [[couplings]]
    between = ["charger", "battery"]
    strength = 0.2

    [[drives]]
    mode = "charger"
    amplitude = 0.1
    frequency = 1.0

    [[baths]]
    mode = "charger"
    rate = 0.05
    occupation = 0.0        # or: temperature = 0.5

    [time]
    stop = 100.0
    points = 401

    [solver]
    method = "auto"
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .envelopes import Envelope
from .errors import ModelError
from .model import Bath, Coupling, Drive, Mode, Model, field_prefix
from .options import SolverOptions, TimeGrid


@dataclass(frozen=True)
class Simulation:
    """What a model file describes: a model, its output times and solver options."""

    model: Model
    time: TimeGrid
    solver: SolverOptions = field(default_factory=SolverOptions)

    def run(self) -> Any:
        """Solve the model on the time grid; returns a :class:`qbattery.Result`."""
        from .api import solve

        return solve(self.model, self.time.times, options=self.solver)

    def to_toml(self) -> str:
        """The model file as TOML text (round-trips through :func:`load_toml`)."""
        return dumps_toml(self)


# -- reading ------------------------------------------------------------------------------------
_TABLES = {"modes": Mode, "couplings": Coupling, "drives": Drive, "baths": Bath}
_TOP = (*_TABLES, "time", "solver")


def _build(cls: type, path: str, raw: Any) -> Any:
    if not isinstance(raw, Mapping):
        raise ModelError(path, f"expected a table, got {raw!r}")
    allowed = {f.name for f in fields(cls) if f.init}
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ModelError(f"{path}.{unknown[0]}",
                         f"unknown field; allowed fields: {', '.join(sorted(allowed))}")
    with field_prefix(path):
        try:
            return cls(**raw)
        except TypeError as err:  # a required field is missing
            missing = [f.name for f in fields(cls) if f.init and f.name not in raw]
            raise ModelError(missing[0] if missing else "?", f"required field missing ({err})") \
                from None


def simulation_from_dict(data: Mapping[str, Any]) -> Simulation:
    """Build and validate a :class:`Simulation` from parsed TOML."""
    unknown = sorted(set(data) - set(_TOP))
    if unknown:
        raise ModelError(unknown[0], f"unknown section; allowed: {', '.join(_TOP)}")
    parts: dict[str, tuple[Any, ...]] = {}
    for key, cls in _TABLES.items():
        raw = data.get(key, [])
        if not isinstance(raw, list):
            raise ModelError(key, f"expected an array of tables [[{key}]], got {raw!r}")
        parts[key] = tuple(_build(cls, f"{key}[{i}]", item) for i, item in enumerate(raw))
    model = Model(**parts)
    if "time" not in data:
        raise ModelError("time", "missing section [time] (stop, points)")
    time = _build(TimeGrid, "time", data["time"])
    solver = _build(SolverOptions, "solver", data.get("solver", {}))
    from .solvers import method_names  # engines sit below this module; imported late (result)

    known = ("auto", *method_names())
    if solver.method not in known:
        raise ModelError("solver.method", f"unknown method {solver.method!r}; "
                         f"known: {', '.join(known)}")
    return Simulation(model, time, solver)


def loads_toml(text: str) -> Simulation:
    """Parse a model file's text."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ModelError("toml", f"malformed TOML: {err}") from None
    return simulation_from_dict(data)


def load_toml(path: str | Path) -> Simulation:
    """Read and validate a model file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise ModelError("file", f"cannot read {str(p)!r}: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise ModelError("file", f"{str(p)!r} is not UTF-8 text") from None
    return loads_toml(text)


# -- writing ------------------------------------------------------------------------------------
def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, complex):
        return f"[{value.real!r}, {value.imag!r}]"
    if isinstance(value, int | float):
        return repr(float(value)) if isinstance(value, float) else str(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, Envelope):
        return _toml_value(value.as_dict())
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{k} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"cannot write {value!r} to TOML")


def _table_lines(obj: Any, defaults_skip: bool = True) -> list[str]:
    lines = []
    for f in fields(obj):
        if not f.init:
            continue
        value = getattr(obj, f.name)
        if value is None:
            continue
        if defaults_skip and f.name.startswith("initial_") and not value:
            continue
        lines.append(f"{f.name} = {_toml_value(value)}")
    return lines


def dumps_toml(sim: Simulation) -> str:
    """Serialise a :class:`Simulation` to model-file TOML."""
    out: list[str] = []
    for key in _TABLES:
        for item in getattr(sim.model, key):
            out += [f"[[{key}]]", *_table_lines(item), ""]
    out += ["[time]", *_table_lines(sim.time), "", "[solver]", *_table_lines(sim.solver), ""]
    return "\n".join(out)
