r"""Design a charging protocol: maximise (or minimise) a figure of merit over model fields.

``optimize(sim, "ergotropy[battery]@200", {"drives.0.frequency": (0.6, 1.4)})``

Objectives (times in 1/omega, on the model's window [0, stop]):

* ``VAR[MODE]@T``: VAR at time T (T is added to the output grid, so no interpolation);
* ``max:VAR[MODE]``: the largest VAR over the window's output times;
* ``efficiency@T``: battery ergotropy / drive work at T;
* ``max_average_power[MODE]``: max over t > 0 of (E(t) - E(0))/t.

VAR is a per-mode variable of a result: ``energy``, ``ergotropy``, ``occupation``,
``incoherent_ergotropy``, ``coherent_ergotropy``, ``energy_variance``, ``power``,
``average_power`` (see :mod:`qbattery.merit_data`).

Method: **differential evolution** (scipy.optimize.differential_evolution, Sobol
initial population, deferred updating) for the global search — it needs no
gradients (the objectives are maxima over times and photon-number statistics,
not smooth everywhere), is robust to the several local optima these landscapes
have (two supermodes, revivals), and evaluates a whole generation at once: with
``vectorized=True`` each generation is one call of the batched Gaussian solver
(:func:`qbattery.solvers.gaussian_batch.solve_batch`) for all-oscillator models,
or one parallel map on a local process pool / Dask cluster otherwise. About 80 %
of the budget goes to it; the rest polishes the best point with bounded
Nelder-Mead (also derivative-free). ``budget`` caps the number of model solves.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from .config import Simulation
from .errors import ModelError
from .merit_data import cumulative_integral, derivative
from .model import Model
from .options import SolverOptions
from .terms import compile_model
from .validation import real_number

if TYPE_CHECKING:
    from .sweeps.paths import FieldPath

__all__ = ["Objective", "optimize", "parse_objective"]

VARIABLES = ("energy", "ergotropy", "occupation", "incoherent_ergotropy", "coherent_ergotropy",
             "energy_variance", "power", "average_power")
_GAUSSIAN_FIGURES = ("incoherent_ergotropy", "coherent_ergotropy", "energy_variance")
_AT = re.compile(r"^(\w+)\[([^\]]+)\]@(.+)$")
_MAX = re.compile(r"^max:(\w+)\[([^\]]+)\]$")
_EFF = re.compile(r"^efficiency@(.+)$")
_MAP = re.compile(r"^max_average_power\[([^\]]+)\]$")
_FORMS = ("VAR[MODE]@T, max:VAR[MODE], efficiency@T, max_average_power[MODE]; VAR one of "
          + ", ".join(VARIABLES))


@dataclass(frozen=True)
class Objective:
    """A parsed objective: ``form`` in at / max / efficiency / max_average_power."""

    text: str
    form: str
    variable: str
    mode: int | None
    time: float | None


def _bad(flag: str, text: str, why: str) -> ModelError:
    return ModelError(flag, f"objective {text!r}: {why}")


def parse_objective(model: Model, text: str, stop: float, *, flag: str = "--maximize"
                    ) -> Objective:
    """Parse and check ``text`` against ``model`` and the window [0, ``stop``]."""
    t = text.strip()
    forms = ((_AT, "at"), (_MAX, "max"), (_EFF, "efficiency"), (_MAP, "max_average_power"))
    hit = next(((m, k) for m, k in ((p.match(t), k) for p, k in forms) if m), None)
    if hit is None:
        raise _bad(flag, text, f"expected one of {_FORMS}")
    groups, form = hit[0].groups(), hit[1]
    variable = {"efficiency": "efficiency", "max_average_power": "average_power"}.get(
        form, groups[0])
    if form in ("at", "max") and variable not in VARIABLES:
        raise _bad(flag, text, f"unknown variable {variable!r}; known: {', '.join(VARIABLES)}")
    mode = None
    name = {"at": 1, "max": 1, "max_average_power": 0}.get(form)
    if name is not None:
        if groups[name] not in model.names:
            raise _bad(flag, text, f"unknown mode {groups[name]!r}; modes are "
                       + ", ".join(model.names))
        mode = model.index(groups[name])
    time = None
    if form in ("at", "efficiency"):
        try:
            time = float(groups[-1])
        except ValueError:
            raise _bad(flag, text, f"time {groups[-1]!r} is not a number") from None
        if not (math.isfinite(time) and 0 <= time <= stop):
            raise _bad(flag, text, f"time {groups[-1]} is outside the window [0, {stop:g}]")
    if form == "efficiency":
        if not model.drives or "battery" not in model.roles:
            raise _bad(flag, text, "efficiency needs a drive and a battery mode")
    return Objective(t, form, variable, mode, time)


def objective_value(obj: Objective, model: Model, t: NDArray[np.float64],
                    get: Callable[[str], NDArray[Any]], window: NDArray[np.intp]) -> float:
    """The objective from per-mode arrays ``get(name)`` (modes, times); ``window`` indexes the
    window's own output times in ``t``."""
    if obj.form == "efficiency":
        k = int(np.searchsorted(t, float(obj.time or 0.0)))
        work = float(cumulative_integral(get("drive_power").sum(0), t)[k])
        cells = [i for i, r in enumerate(model.roles) if r == "battery"]
        stored = float(get("ergotropy")[cells, k].sum())
        return stored / work if abs(work) > 1e-300 else 0.0
    if obj.variable in ("power", "average_power"):
        energy = get("energy")[obj.mode]
        power = derivative(energy, t)
        if obj.variable == "power":
            series = power
        else:
            series = power.copy()
            series[t > 0] = (energy[t > 0] - energy[0]) / t[t > 0]
    else:
        series = get(obj.variable)[obj.mode]
    if obj.form == "at":
        return float(series[int(np.searchsorted(t, float(obj.time or 0.0)))])
    if obj.form == "max_average_power":
        later = window[t[window] > 0]
        return float(np.max(series[later if later.size else window]))
    return float(np.max(series[window]))


class _Evaluator:
    """Solves the model at many parameter points and returns the objective at each."""

    def __init__(self, sim: Simulation, paths: Sequence[FieldPath], obj: Objective,
                 pool: Any = None) -> None:
        from .solvers import choose_method
        from .sweeps.paths import PointBuilder

        self.sim, self.obj, self.pool = sim, obj, pool
        self.build = PointBuilder(sim.model, paths)
        grid = sim.time.times
        self.times = grid if obj.time is None else np.union1d(grid, [obj.time])
        self.window = np.searchsorted(self.times, grid)
        self.batched = choose_method(sim.model, sim.solver.method) == "gaussian" \
            and sim.solver.master_equation == "local"
        self.count = 0

    def __call__(self, points: NDArray[np.float64]) -> NDArray[np.float64]:
        """Objective values at ``points`` (P, D)."""
        models = [self.build(list(x)) for x in points]
        self.count += len(models)
        if self.batched:
            return self._batched(models)
        if self.pool is None:
            return np.array([_point_value(m, self.sim.solver, self.times, self.obj,
                                          self.window) for m in models])
        return np.array(self.pool(models, self.sim.solver, self.times, self.obj, self.window))

    def _batched(self, models: list[Model]) -> NDArray[np.float64]:
        from .merit import gaussian_local_figures
        from .observables import energy_flows
        from .solvers.gaussian_batch import solve_batch

        out = solve_batch(models, self.times)
        values = np.zeros(len(models))
        for p, model in enumerate(models):
            cache: dict[str, NDArray[Any]] = {
                "energy": out.energy[p], "ergotropy": out.ergotropy[p],
                "occupation": out.occupation[p]}

            def get(name: str, p: int = p, model: Model = model,
                    cache: dict[str, NDArray[Any]] = cache) -> NDArray[Any]:
                if name == "drive_power":
                    no_pairs = np.zeros((len(model.couplings), self.times.size), complex)
                    return energy_flows(compile_model(model), self.times, out.occupation[p],
                                        out.amplitude[p], no_pairs)["drive_power"]
                if name not in cache:
                    i = int(self.obj.mode)  # type: ignore[arg-type]
                    figs = gaussian_local_figures(model.modes[i].frequency, out.amplitude[p, i],
                                                  out.fluctuation[p, i])
                    full = np.zeros_like(out.energy[p])
                    full[i] = figs[name]
                    cache[name] = full
                return cache[name]

            values[p] = objective_value(self.obj, model, self.times, get, self.window)
        return values


def _point_value(model: Model, options: SolverOptions, times: NDArray[np.float64],
                 obj: Objective, window: NDArray[np.intp]) -> float:
    """Solve one model (any engine) and evaluate the objective on its Dataset."""
    from .api import solve

    ds = solve(model, times, options=options).to_xarray()
    return objective_value(obj, model, times, lambda name: ds[name].values, window)


class _Pool:
    """Evaluates points on a local process pool (the sweep runner's fork server) or Dask."""

    def __init__(self, workers: int, scheduler: str | None) -> None:
        self.client: Any = None
        self.executor: Any = None
        if scheduler is not None:
            from distributed import Client

            try:
                self.client = Client(scheduler, timeout="20s", set_as_default=False)
            except OSError as err:
                raise ModelError("--scheduler", f"cannot connect to {scheduler}: {err}") \
                    from None
        else:
            import os
            from concurrent.futures import ProcessPoolExecutor

            from .sweeps.runner import _fork_server, _init_worker

            self.executor = ProcessPoolExecutor(max_workers=workers, mp_context=_fork_server(),
                                                initializer=_init_worker,
                                                initargs=(os.getpid(),))

    def __call__(self, models: list[Model], *args: Any) -> list[float]:
        if self.client is not None:
            futures = [self.client.submit(_point_value, m, *args, pure=False) for m in models]
            return list(self.client.gather(futures))
        return list(self.executor.map(_point_value, models, *([a] * len(models) for a in args)))

    def close(self) -> None:
        if self.client is not None:
            self.client.close()
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)


def parse_bounds(model: Model, bounds: Mapping[str, Sequence[float]]
                 ) -> tuple[list[str], list[FieldPath], list[tuple[float, float]]]:
    """Check ``{PATH: (lo, hi)}``: known paths, distinct fields, finite lo < hi, valid models."""
    from .sweeps.paths import Axis, check_axes, parse_path, with_values

    if not bounds:
        raise ModelError("--vary", "give at least one PATH=LO:HI to optimise over")
    names, paths, pairs = [], [], []
    for name, pair in bounds.items():
        path = parse_path(model, name)
        if not isinstance(pair, Sequence) or isinstance(pair, str) or len(pair) != 2:
            raise ModelError("--vary", f"{name}: expected bounds LO:HI, got {pair!r}")
        lo = real_number(f"--vary {name} LO", pair[0])
        hi = real_number(f"--vary {name} HI", pair[1])
        if not lo < hi:
            raise ModelError("--vary", f"{name}: LO must be < HI, got {lo:g}:{hi:g}")
        for value in (lo, hi):
            try:
                with_values(model, [path], [value])
            except ModelError as err:
                raise ModelError("--vary", f"{name}={value:g} is invalid: {err}") from None
        names.append(name)
        paths.append(path)
        pairs.append((lo, hi))
    check_axes([Axis(n, p, (lo, hi)) for n, p, (lo, hi) in zip(names, paths, pairs,
                                                                strict=True)])
    return names, paths, pairs


def _as_simulation(model: Model | Simulation, times: Any, options: SolverOptions | None
                   ) -> Simulation:
    from .options import TimeGrid

    if isinstance(model, Simulation):
        sim = model
    elif isinstance(model, Model):
        if times is None:
            raise ModelError("times", "give the output times (or pass a Simulation)")
        t = np.asarray(times, dtype=float)
        if t.ndim != 1 or t.size < 2 or t[0] != 0 or not np.allclose(
                t, np.linspace(0, t[-1], t.size), rtol=1e-12, atol=1e-12 * t[-1]):
            raise ModelError("times", "expected linspace(0, stop, points), points >= 2")
        sim = Simulation(model, TimeGrid(float(t[-1]), int(t.size)))
    else:
        raise ModelError("model", f"expected a Model or Simulation, got {type(model).__name__}")
    return sim if options is None else replace(sim, solver=options)


def optimize(model: Model | Simulation, objective: str,
             bounds: Mapping[str, Sequence[float]], *, times: Any = None,
             options: SolverOptions | None = None, minimize: bool = False, budget: int = 300,
             seed: int = 0, workers: int = 1, scheduler: str | None = None,
             progress: bool = False) -> dict[str, Any]:
    """Maximise (``minimize=False``) or minimise ``objective`` over ``bounds`` (inclusive).

    Args:
        model: a Simulation (model, window, solver options) or a Model with ``times``
            (linspace(0, stop, points)).
        objective: see the module doc, e.g. ``"ergotropy[battery]@200"``.
        bounds: {PATH: (lo, hi)}, PATH as in ``qbattery sweep``.
        budget: the most model solves (>= 10 per varied field + 10).
        seed: random seed of the global search (results are reproducible).
        workers, scheduler: where non-Gaussian models are solved (local pool of
            ``workers`` processes, 1: in-process; or a Dask scheduler address).
        progress: a tqdm bar on stderr (shown on a terminal only).

    Returns:
        {"optimum": {PATH: value}, "value", "objective", "sense", "model" (TOML text at the
        optimum), "evaluations", "history": [[params..., value], ...], "method"}.
    """
    from scipy.optimize import differential_evolution

    sim = _as_simulation(model, times, options)
    flag = "--minimize" if minimize else "--maximize"
    obj = parse_objective(sim.model, objective, sim.time.stop, flag=flag)
    names, paths, pairs = parse_bounds(sim.model, bounds)
    dim = len(paths)
    if isinstance(budget, bool) or not isinstance(budget, int) or budget < 10 * dim + 10:
        raise ModelError("--budget", f"expected an integer >= {10 * dim + 10} for {dim} "
                         f"field(s), got {budget!r}")
    pool = _Pool(workers, scheduler) if (scheduler or workers > 1) else None
    evaluate = _Evaluator(sim, paths, obj, pool)
    sign = 1.0 if minimize else -1.0
    history: list[list[float]] = []
    bar = _bar(budget, progress)

    def run(points: NDArray[np.float64]) -> NDArray[np.float64]:
        values = evaluate(points)
        history.extend([*map(float, x), float(v)] for x, v in zip(points, values, strict=True))
        bar.update(len(values))
        return sign * np.where(np.isfinite(values), values, -sign * np.inf)

    # population: popsize * dim members, 5..15 per field, leaving >= ~10 generations
    popsize = int(np.clip(int(0.8 * budget) // (10 * dim), 5, 15))
    generations = max(1, int(0.8 * budget) // (popsize * dim) - 1)
    try:
        de = differential_evolution(lambda x: run(np.atleast_2d(x.T)), pairs, popsize=popsize,
                                    maxiter=generations, init="latinhypercube", tol=1e-7,
                                    seed=seed, polish=False, vectorized=True,
                                    updating="deferred")
        _polish(run, de.x, pairs, budget - evaluate.count)
    finally:
        bar.close()
        if pool is not None:
            pool.close()
    return _report(sim, obj, names, paths, history, minimize, evaluate.count)


def _bar(total: int, enabled: bool) -> Any:
    import sys

    from tqdm import tqdm

    show = enabled and sys.stderr.isatty()
    return tqdm(total=total, unit="solve", desc="optimize", disable=not show, file=sys.stderr)


def _polish(run: Callable[[NDArray[np.float64]], NDArray[np.float64]],
            x0: NDArray[np.float64], pairs: list[tuple[float, float]], left: int) -> None:
    """Bounded Nelder-Mead from ``x0`` with at most ``left`` solves (simplex: 2 % of each range)."""
    from scipy.optimize import minimize

    dim = len(pairs)
    if left < dim + 2:
        return
    lo, hi = np.array(pairs).T
    step = 0.02 * (hi - lo)
    simplex = np.vstack([x0] + [x0 + np.where(x0 + s * e <= hi, s, -s) * e
                                for s, e in zip(step, np.eye(dim), strict=True)])
    minimize(lambda x: float(run(x[None, :])[0]), x0, method="Nelder-Mead",
             bounds=list(pairs), options={"maxfev": left, "initial_simplex": simplex,
                                          "xatol": 1e-7 * float(np.max(hi - lo)),
                                          "fatol": 1e-12})


def _report(sim: Simulation, obj: Objective, names: list[str], paths: list[FieldPath],
            history: list[list[float]], minimize: bool, count: int) -> dict[str, Any]:
    from .config import dumps_toml
    from .sweeps.paths import PointBuilder

    values = np.array([h[-1] for h in history])
    best = int(np.argmin(values) if minimize else np.argmax(values))
    x = history[best][:-1]
    model = PointBuilder(sim.model, paths)(x)
    return {"optimum": dict(zip(names, x, strict=True)), "value": history[best][-1],
            "objective": obj.text, "sense": "minimize" if minimize else "maximize",
            "model": dumps_toml(replace(sim, model=model)), "evaluations": count,
            "method": "scipy differential_evolution (latinhypercube, deferred) + bounded "
                      "Nelder-Mead polish",
            "history": history}
