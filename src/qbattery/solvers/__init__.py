"""The engines and their registry.

Every engine lives in its own module and is registered here as a
:class:`~qbattery.solvers.base.SolverSpec` (name, ``supports(problem)``, a
priority for ``method = "auto"``, an optional cost estimate, and
``run(problem, times, state, options, context) -> EngineOutput``; the contract
is in :mod:`qbattery.solvers.base`). :func:`run_engine` runs one on a compiled
model; the public :func:`qbattery.solve` (in :mod:`qbattery.api`) wraps it into
a :class:`~qbattery.Result`. Nothing here calls the public ``solve``.
"""

from __future__ import annotations

import time as _time
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ModelError, UnsupportedMethodError
from ..model import Model
from ..options import SolverOptions
from ..terms import CompiledModel, compiled
from . import displaced, fock, gaussian
from .base import (
    DensityState,
    EngineOutput,
    GaussianState,
    Progress,
    RunContext,
    SolverSpec,
    State,
)

__all__ = ["DensityState", "EngineOutput", "GaussianState", "RunContext", "SolverSpec", "State",
           "check_times", "choose_method", "method_names", "methods", "register", "run_engine"]

_REGISTRY: dict[str, SolverSpec] = {}


def register(spec: SolverSpec) -> SolverSpec:
    """Add an engine to the registry."""
    _REGISTRY[spec.name] = spec
    return spec


for _spec in (fock.SPEC, displaced.SPEC, gaussian.SPEC):
    register(_spec)


def method_names() -> tuple[str, ...]:
    """Names of the registered solver methods."""
    return tuple(_REGISTRY)


def methods() -> dict[str, str]:
    """Registered methods and what each does."""
    return {name: spec.description for name, spec in _REGISTRY.items()}


def _resolve(problem: CompiledModel, method: str, stop: float | None, options: SolverOptions,
             context: RunContext) -> str:
    if method == "auto":
        usable = sorted((s for s in _REGISTRY.values() if s.supports(problem) is None),
                        key=lambda s: s.priority)
        if not usable:
            reasons = "; ".join(f"{s.name}: {s.supports(problem)}" for s in _REGISTRY.values())
            raise UnsupportedMethodError(f"no registered method can solve this model ({reasons})")
        best = usable[0]
        if stop is not None and best.cost is not None:
            costs = [(s.cost(problem, stop, options, context), s.priority, s.name)
                     for s in usable if s.cost is not None]
            return min(costs)[2]  # ties: the lower priority
        return best.name
    if method not in _REGISTRY:
        raise ModelError("method", f"unknown method {method!r}; known: auto, "
                         + ", ".join(_REGISTRY))
    reason = _REGISTRY[method].supports(problem)
    if reason is not None:
        ok = [s.name for s in _REGISTRY.values() if s.supports(problem) is None]
        raise UnsupportedMethodError(
            f"method {method!r} cannot solve this model: {reason}; "
            f"methods that can: {', '.join(['auto', *ok])}")
    return method


def choose_method(model: Model | CompiledModel, method: str = "auto", *,
                  stop: float | None = None, options: SolverOptions | None = None,
                  initial_state: State | None = None) -> str:
    """The engine that ``method`` resolves to for ``model``.

    ``"auto"`` picks the supporting engine of lowest priority: the exact
    Gaussian solver for linear networks, else a density-matrix engine. Given the
    run's ``stop`` time (as :func:`qbattery.solve` and sweeps do), it compares the
    density-matrix engines' cost estimates (the squared dimension each one's
    cutoff plan starts from: the lab-frame Fock space for ``fock``, the
    fluctuations' space for ``displaced``) and takes the cheaper; without it,
    the engine of lowest priority (the displaced frame): pass ``stop`` to learn
    the engine a solve to ``stop`` will use.
    """
    problem = compiled(model)
    opts = SolverOptions() if options is None else options
    return _resolve(problem, method, stop, opts, RunContext(problem, initial_state))


def check_times(times: ArrayLike, *, start: float = 0.0) -> NDArray[np.float64]:
    """Validate output times: a 1-D, real, finite, strictly increasing array >= ``start``."""
    arr = np.asarray(times) if not isinstance(times, np.ndarray) else times
    if np.iscomplexobj(arr):
        if np.any(np.imag(arr) != 0):
            raise ModelError("times", "must be real, got complex values")
        arr = np.real(arr)
    try:
        t = np.asarray(arr, dtype=float)
    except (TypeError, ValueError):
        raise ModelError("times", f"expected an array of numbers, got {times!r}") from None
    t = np.atleast_1d(t)
    if t.ndim != 1 or t.size == 0:
        raise ModelError("times", f"expected a non-empty 1-D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ModelError("times", "must be finite")
    if t[0] < start:
        what = "the initial state's time" if start else "0"
        raise ModelError("times", f"must be >= {what} ({start:g}), got {t[0]!r}")
    if np.any(np.diff(t) <= 0):
        raise ModelError("times", "must be strictly increasing")
    return t


def run_engine(model: Model | CompiledModel, times: NDArray[np.float64], options: SolverOptions,
               *, initial_state: State | None = None, progress: Progress | None = None
               ) -> tuple[str, EngineOutput, dict[str, Any]]:
    """Resolve the method and run its engine once: (method, output, timing stats).

    The compiled model and the Gaussian twin are built once and shared by the
    method choice and the engine.
    """
    problem = compiled(model)
    context = RunContext(problem, initial_state, progress)
    name = _resolve(problem, options.method, float(times[-1]), options, context)
    start = _time.perf_counter()
    out = _REGISTRY[name].run(problem, times, initial_state, options, context)
    return name, out, {"solve_seconds": _time.perf_counter() - start}
