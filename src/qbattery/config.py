"""Output time grid, solver options, and TOML model files.

A model file holds the physics (``[[modes]]``, ``[[couplings]]``, ``[[drives]]``,
``[[baths]]``, ``[[dissipators]]``, ``[[dephasing]]``), the output times (``[time]``
stop, points: times from 0 to stop in units of 1/omega) and the solver options (``[solver]``)::

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

    [[dissipators]]         # a correlated jump L = sum_i c_i x_i (complex c as [re, im])
    jump = { charger = 1.0, battery = [0.0, -1.0] }
    rate = 0.1              # optional: occupation, or temperature (and frequency)

    [[dephasing]]
    mode = "battery"
    rate = 0.01

    [time]
    stop = 100.0
    points = 401

    [solver]
    method = "auto"
"""

from __future__ import annotations

import math
import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .envelopes import Envelope
from .errors import ModelError, QBatteryError
from .kinds import mode_kind
from .model import MAX_OCCUPATION, Bath, Coupling, Dephasing, Dissipator, Drive, Mode, Model
from .options import SolverOptions, TimeGrid
from .validation import field_prefix

#: Largest (fastest rate in the rotating frame) x stop: the exact Gaussian propagators
#: keep phases to ~1e-6 rad below it.
MAX_PHASE = 1e10
#: The same for the density-matrix engines, whose steps are bounded by the fastest rate
#: (1e5 rad is ~16000 periods of the fastest motion; the paper's runs need < 500).
MAX_PHASE_DENSITY = 1e5
#: Largest number of values of one result variable (modes x output times): 0.4 GB.
MAX_RESULT_VALUES = 50_000_000


@dataclass(frozen=True)
class Simulation:
    """What a model file describes: a model, its output times and solver options.

    Checked when built: the types, and that a cutoff table names modes of the model.
    :func:`check_scales` (called where a model file is read) checks the sizes.
    """

    model: Model
    time: TimeGrid
    solver: SolverOptions = field(default_factory=SolverOptions)

    def __post_init__(self) -> None:
        for name, cls in (("model", Model), ("time", TimeGrid), ("solver", SolverOptions)):
            if not isinstance(getattr(self, name), cls):
                raise ModelError(name, f"expected a {cls.__name__}, got "
                                 f"{type(getattr(self, name)).__name__}")
        cutoff = self.solver.cutoff
        if isinstance(cutoff, Mapping):
            names = self.model.names
            for key in cutoff:
                if key not in names:
                    raise ModelError(f"solver.cutoff.{key}", f"unknown mode {key!r}; modes "
                                     f"are {', '.join(names)}")

    def run(self, *, progress: Callable[[float, str], None] | None = None) -> Any:
        """Solve the model on the time grid, after :func:`check_scales` (as the CLI does);
        returns a :class:`qbattery.Result`. ``progress(t, status)`` is told how far the
        engine is (see :func:`qbattery.solve`)."""
        from .api import solve

        check_scales(self)
        return solve(self.model, self.time.times, options=self.solver, progress=progress)

    def to_toml(self) -> str:
        """The model file as TOML text (round-trips through :func:`load_toml`)."""
        return dumps_toml(self)


# -- reading ------------------------------------------------------------------------------------
_TABLES = {"modes": Mode, "couplings": Coupling, "drives": Drive, "baths": Bath,
           "dissipators": Dissipator, "dephasing": Dephasing}
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
    sim = Simulation(model, time, solver)
    check_scales(sim)
    return sim


def with_method(sim: Simulation, method: str, *, flag: str = "solver.method") -> Simulation:
    """``sim`` solved with another method (e.g. ``--method``), checked as a model file is."""
    from .solvers import method_names

    known = ("auto", *method_names())
    if not isinstance(method, str) or method not in known:
        raise ModelError(flag, f"unknown method {method!r}; known: {', '.join(known)}")
    new = replace(sim, solver=replace(sim.solver, method=method))
    check_scales(new)
    return new


def _fastest_rate(model: Model, *, damping: bool) -> tuple[float, str]:
    """The fastest rate of the model in the frame of ``model.frame_frequency``, and what it is."""
    wr = model.frame_frequency
    rates = [(abs(m.frequency - wr), f"detuning of mode {m.name!r}") for m in model.modes]
    rates += [(abs(d.frequency - wr), f"detuning of drives[{i}]")
              for i, d in enumerate(model.drives)]
    rates += [(abs(c.strength), f"couplings[{i}].strength") for i, c in enumerate(model.couplings)]
    # counter-rotating parts oscillate at 2 omega_r (dipole) and omega_f + omega_r (linear)
    rates += [(2 * wr, f"couplings[{i}] counter-rotating frequency 2 x frame frequency")
              for i, c in enumerate(model.couplings) if c.form != "exchange"]
    rates += [(d.frequency + wr, f"drives[{i}] counter-rotating frequency")
              for i, d in enumerate(model.drives) if d.form != "rotating"]
    if damping:
        for i, b in enumerate(model.baths):
            n = b.occupation_at(model.modes[model.index(b.mode)].frequency)
            rates.append((b.rate * (2 * n + 1) / 2, f"baths[{i}] rate x (2N + 1) / 2"))
        for i, d in enumerate(model.dissipators):
            n = _occupation(model, d)
            weight = sum(abs(c) ** 2 for _, c in d.jump)
            rates.append((d.rate * weight * (2 * n + 1) / 2,
                          f"dissipators[{i}] rate x sum|c|^2 x (2N + 1) / 2"))
        rates += [(p.rate / 2, f"dephasing[{i}].rate / 2") for i, p in enumerate(model.dephasing)]
    return max(rates, key=lambda r: r[0])


def _occupation(model: Model, d: Dissipator) -> float:
    """N of a correlated dissipator (its temperature at its modes' common frequency)."""
    return d.occupation_at([model.modes[model.index(name)].frequency for name in d.modes])


def check_scales(sim: Simulation, *, method: str | None = None, memory: bool = True) -> None:
    """Refuse a run whose numbers would overflow, lose their precision or never finish.

    Checked (``t`` the stop time):

    * the coherent amplitude bound |alpha(0)| + sum |F| t <= MAX_OCCUPATION (it holds for
      every oscillator network: the drift does not expand, the drives add at most sum |F|
      per unit time), so coherent occupations stay below 1e12;
    * (fastest rate) x t <= MAX_PHASE, or MAX_PHASE_DENSITY for the density-matrix
      engines (fock, displaced), whose step count grows with it;
    * modes x output times <= MAX_RESULT_VALUES;
    * density-matrix engines with ``cutoff = "auto"``: the Fock levels the thermal
      fluctuations need (see :func:`_check_thermal_levels`) fit within ``max_cutoff``.

    With ``memory = False`` the fixed-cutoff memory check is left to the engines
    (they refuse a space they cannot hold, naming its cutoffs).

    Raises:
        ModelError: naming the field that sets the limit.
    """
    model, stop = sim.model, sim.time.stop
    amp0 = math.sqrt(sum(abs(m.initial_amplitude) ** 2 for m in model.modes))
    drive = sum(abs(d.amplitude) for d in model.drives)
    bound = MAX_OCCUPATION
    if amp0 + drive * stop > bound:
        raise ModelError("drives", f"the drives can build an amplitude up to |alpha(0)| + "
                         f"sum|F| t = {amp0 + drive * stop:.3g} by t = {stop:g}; at most "
                         f"{bound:g} (reduce the amplitudes or [time] stop)")
    values = len(model.modes) * sim.time.points
    if values > MAX_RESULT_VALUES:
        raise ModelError("time.points", f"{len(model.modes)} modes x {sim.time.points} times "
                         f"= {values} values per result variable (~{values * 8 / 1e9:.3g} GB); "
                         f"at most {MAX_RESULT_VALUES}")
    density = _engine(sim, method) in ("fock", "displaced")
    if density:
        _check_thermal_levels(sim)
        if memory:
            _check_fixed_dimension(sim)
    rate, what = _fastest_rate(model, damping=density)
    limit = MAX_PHASE_DENSITY if density else MAX_PHASE
    if rate * stop > limit:
        engine = "a density-matrix engine" if density else "the Gaussian engine"
        raise ModelError("time.stop", f"{what} = {rate:.3g} times stop {stop:g} is "
                         f"{rate * stop:.3g} rad; {engine} allows at most {limit:g} "
                         "(shorten [time] stop or reduce the rate)")


def _thermal_level(model: Model, stop: float) -> tuple[float, str]:
    """An upper bound on any oscillator's thermal (fluctuation) occupation up to ``stop``,
    and the field that sets it: the fluctuations of a passive network never exceed the
    largest of the initial and bath occupations, nor the total noise injected,
    sum n0 + sum gamma N t."""
    sources = [(m.initial_occupation, f"modes[{i}].initial_occupation")
               for i, m in enumerate(model.modes) if mode_kind(m.kind).truncated]
    injected = sum(n for n, _ in sources)
    for i, b in enumerate(model.baths):
        n = b.occupation_at(model.modes[model.index(b.mode)].frequency)
        field = f"baths[{i}].{'occupation' if b.occupation is not None else 'temperature'}"
        sources.append((n, field))
        injected += b.rate * n * stop
    for i, d in enumerate(model.dissipators):
        n = _occupation(model, d)
        field = f"dissipators[{i}].{'occupation' if d.occupation is not None else 'temperature'}"
        sources.append((n, field))
        injected += d.rate * sum(abs(c) ** 2 for _, c in d.jump) * n * stop
    if not sources:
        return 0.0, ""
    level, field = max(sources, key=lambda s: s[0])
    return min(level, injected), field


def _check_thermal_levels(sim: Simulation) -> None:
    """A thermal state of occupation n puts (n / (n + 1))^c in the levels >= c: refuse,
    before a density-matrix run, fluctuations whose tail cannot fall below
    ``truncation_tol`` within ``max_cutoff`` levels (``cutoff = "auto"``)."""
    if sim.solver.cutoff != "auto":
        return  # a fixed cutoff's tail is checked by the engine from the first step
    n, field = _thermal_level(sim.model, sim.time.stop)
    if n <= 0:
        return
    levels = math.log(1.0 / sim.solver.truncation_tol) / math.log1p(1.0 / n)
    if levels > sim.solver.max_cutoff:
        raise ModelError(field, f"thermal occupations up to {n:.3g} need ~{levels:.3g} Fock "
                         f"levels per oscillator for truncation_tol {sim.solver.truncation_tol:g}"
                         f"; max_cutoff is {sim.solver.max_cutoff} (a density-matrix engine "
                         "cannot hold this model)")
    # at least that oscillator needs them, with every finite-level mode: a lower bound
    dim = levels * math.prod(mode_kind(m.kind).levels or 1 for m in sim.model.modes)
    need, have = 16 * dim**2, _available_memory()
    if need > have:
        raise ModelError(field, f"thermal occupations up to {n:.3g} need a density matrix of "
                         f"dimension >= {dim:.3g} ({need / 1e9:.3g} GB); {have / 1e9:.3g} GB "
                         "of memory is available")


def _check_fixed_dimension(sim: Simulation) -> None:
    """A fixed cutoff sets the density matrix's dimension: refuse one that cannot be held."""
    cutoff = sim.solver.cutoff
    if cutoff == "auto":
        return
    dim = 1.0
    for m in sim.model.modes:
        levels = mode_kind(m.kind).levels
        if levels is not None:
            dim *= levels
        elif isinstance(cutoff, int):
            dim *= cutoff
        elif isinstance(cutoff, Mapping):
            dim *= cutoff.get(m.name, 1)
    need, have = 16 * dim**2, _available_memory()
    if need > have:
        raise ModelError("solver.cutoff", f"the density matrix has dimension {dim:.3g} "
                         f"({need / 1e9:.3g} GB); {have / 1e9:.3g} GB of memory is available")


def _available_memory() -> float:
    """Free physical memory in bytes (infinite where the system does not say)."""
    try:
        return float(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):
        return math.inf


def _engine(sim: Simulation, method: str | None) -> str:
    from .solvers import choose_method

    try:
        return choose_method(sim.model, method or sim.solver.method)
    except QBatteryError:  # the solve names the method problem itself
        return "auto"


def loads_toml(text: str) -> Simulation:
    """Parse a model file's text (a UTF-8 byte-order mark before it is ignored)."""
    try:
        data = tomllib.loads(text.removeprefix("\ufeff"))
    except tomllib.TOMLDecodeError as err:
        raise ModelError("toml", f"malformed TOML: {err}") from None
    return simulation_from_dict(data)


def load_toml(path: str | Path) -> Simulation:
    """Read and validate a model file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
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
    if isinstance(value, tuple) and value and all(
            isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) for v in value):
        return _toml_value(dict(value))  # (name, value) pairs: a jump's weights
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
        if f.name in ("form", "phase") and value == f.default:  # files stay as they were
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
