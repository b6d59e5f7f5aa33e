"""Solver registry and the public :func:`solve`.

Every engine lives in its own module and registers a :class:`SolverSpec`:
its name, a ``supports(model)`` check returning ``None`` or the reason it
cannot solve the model, a priority for ``method="auto"`` (lower is preferred),
and the engine function ``run(model, times, options) -> SolverOutput``.
"""

from __future__ import annotations

import time as _time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import ArrayLike, NDArray

from ..errors import ModelError, UnsupportedMethodError
from ..model import Model
from ..observables import energy_flows

if TYPE_CHECKING:  # avoid an import cycle at runtime
    from ..options import SolverOptions
    from ..result import Result, SolverOutput


@dataclass(frozen=True)
class SolverSpec:
    """A registered solver engine."""

    name: str
    run: Callable[[Model, NDArray[np.float64], SolverOptions], SolverOutput]
    supports: Callable[[Model], str | None]
    priority: int
    description: str
    #: Relative cost of a run to ``stop`` (the squared Hilbert-space dimension the
    #: engine's cutoff plan starts from), for engines that ``auto`` compares.
    cost: Callable[[Model, float, SolverOptions], float] | None = None


_REGISTRY: dict[str, SolverSpec] = {}


def register(spec: SolverSpec) -> SolverSpec:
    """Add a solver engine to the registry (called by each engine module)."""
    _REGISTRY[spec.name] = spec
    return spec


def method_names() -> tuple[str, ...]:
    """Names of the registered solver methods."""
    return tuple(_REGISTRY)


def methods() -> dict[str, str]:
    """Registered methods and what each does."""
    return {name: spec.description for name, spec in _REGISTRY.items()}


def choose_method(model: Model, method: str = "auto", *, stop: float | None = None,
                  options: SolverOptions | None = None) -> str:
    """The engine that ``method`` resolves to for ``model``.

    ``"auto"`` picks the supporting engine of lowest priority: the exact
    Gaussian solver for all-oscillator networks, else a density-matrix engine
    for networks with qubits. Given the run's ``stop`` time, it compares the
    density-matrix engines' cost estimates (the squared dimension each one's
    cutoff plan starts from: the lab-frame Fock space for ``fock``, the
    fluctuations' space for ``displaced``) and takes the cheaper; without it,
    the displaced frame.
    """
    if method == "auto":
        usable = sorted((s for s in _REGISTRY.values() if s.supports(model) is None),
                        key=lambda s: s.priority)
        if not usable:
            raise UnsupportedMethodError("no registered method can solve this model")
        best = usable[0]
        if stop is not None and best.cost is not None:
            from ..options import SolverOptions

            opts = SolverOptions() if options is None else options
            costs = [(s.cost(model, stop, opts), s.priority, s.name)
                     for s in usable if s.cost is not None]
            return min(costs)[2]  # ties: the lower priority
        return best.name
    if method not in _REGISTRY:
        raise ModelError("method", f"unknown method {method!r}; known: auto, "
                         + ", ".join(_REGISTRY))
    reason = _REGISTRY[method].supports(model)
    if reason is not None:
        ok = [s.name for s in _REGISTRY.values() if s.supports(model) is None]
        raise UnsupportedMethodError(
            f"method {method!r} cannot solve this model: {reason}; "
            f"methods that can: {', '.join(['auto', *ok])}")
    return method


def check_times(times: ArrayLike) -> NDArray[np.float64]:
    """Validate output times: a 1-D, finite, non-negative, strictly increasing array."""
    try:
        t = np.asarray(times, dtype=float)
    except (TypeError, ValueError):
        raise ModelError("times", f"expected an array of numbers, got {times!r}") from None
    t = np.atleast_1d(t)
    if t.ndim != 1 or t.size == 0:
        raise ModelError("times", f"expected a non-empty 1-D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)):
        raise ModelError("times", "must be finite")
    if t[0] < 0:
        raise ModelError("times", f"must be >= 0, got {t[0]!r}")
    if np.any(np.diff(t) <= 0):
        raise ModelError("times", "must be strictly increasing")
    return t


def solve(model: Model, times: ArrayLike, *, method: str | None = None,
          options: SolverOptions | None = None) -> Result:
    """Solve the local Lindblad master equation of ``model`` at ``times``.

    d rho/dt = -i [H(t), rho] + sum_baths gamma_i ((N_i + 1) D[x_i] + N_i D[x_i^dag]) rho,

    with H(t) the network Hamiltonian of :mod:`qbattery.model`, solved in the
    rotating frame of ``model.frame_frequency``.

    Args:
        model: the network.
        times: output times (>= 0, increasing), in units of 1/omega.
        method: overrides ``options.method``.
        options: solver options (default :class:`SolverOptions`).

    Returns:
        A :class:`Result` with energies, ergotropies, amplitudes and energy
        flows; ``result.stats["solve_seconds"]`` is the wall time of the solve.
    """
    from ..options import SolverOptions
    from ..result import Result

    if not isinstance(model, Model):
        raise ModelError("model", f"expected a qbattery.Model, got {type(model).__name__}")
    opts = SolverOptions() if options is None else options
    if not isinstance(opts, SolverOptions):
        raise ModelError("options", f"expected SolverOptions, got {type(opts).__name__}")
    if method is not None:
        opts = replace(opts, method=method)
    t = check_times(times)
    name = choose_method(model, opts.method, stop=float(t[-1]), options=opts)
    start = _time.perf_counter()
    out = _REGISTRY[name].run(model, t, opts)
    seconds = _time.perf_counter() - start
    flows = energy_flows(model, t, out.occupation, out.amplitude, out.pair_coherence)
    return Result(model=model, times=t, method=name, options=opts,
                  occupation=out.occupation, amplitude=out.amplitude, ergotropy=out.ergotropy,
                  extra=out.extra, stats={"solve_seconds": seconds, **out.stats}, **flows)


from . import displaced as _displaced  # noqa: E402,F401  (registers the engine)
from . import fock as _fock  # noqa: E402,F401  (registers the engine)
from . import gaussian as _gaussian  # noqa: E402,F401  (registers the engine)
