r"""Truncated-Fock density-matrix solver for any network (``method = "fock"``).

Solves the local Lindblad master equation of :func:`qbattery.solve`,

    d rho/dt = -i [H(t), rho] + sum_baths gamma ((N + 1) D[x] + N D[x^dag]) rho,

in the frame rotating at ``model.frame_frequency`` on the product of truncated
Fock spaces (oscillators: ``cutoff`` levels each; qubits: 2 levels), with the
matrix-form right-hand side of :class:`qbattery.hilbert.Lindblad` and SciPy's
adaptive DOP853 integrator (tolerances ``rtol``, ``atol`` from the options).

Truncation is never silent: the population of each oscillator's top Fock
level is checked at every integrator step and output time. With
``cutoff = "auto"`` the cutoffs are estimated from the Gaussian twin of the
model and enlarged (and the run restarted) when a tail exceeds
``truncation_tol``; a fixed cutoff that is too small raises
:class:`~qbattery.errors.TruncationError` (or warns, ``on_truncation = "warn"``).

``result.extra`` holds ``cutoff`` and ``max_tail`` per mode, ``tail``
(mode, time), and, when the model has a mode named ``catalyst``, the catalyst's
ground-state fidelity, purity, mutual informations and logarithmic
negativities (see :func:`qbattery.hilbert.catalyst_observables`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from ..errors import ModelError
from ..hilbert import (
    FockSpace,
    Lindblad,
    NeedsLargerCutoff,
    TruncationMonitor,
    catalyst_observables,
    estimate_cutoffs,
    initial_state,
    integrate,
    jumps,
    marginals,
    mode_observables,
    pair_operators,
    plan_cutoffs,
    rotating_hamiltonian,
    stable_step,
    tails,
)
from ..merit_data import FigureRecorder  # figures of merit (merit issue)
from ..model import Model
from ..options import SolverOptions
from ..result import Extra, SolverOutput
from . import SolverSpec, register

#: Integrator (a SciPy explicit Runge-Kutta method).
METHOD = "DOP853"
#: Largest memory the integrator's work arrays may take (about 20 copies of rho).
MAX_MEMORY_BYTES = 8 * 2**30
#: Name of the catalyst mode whose correlations are reported.
CATALYST = "catalyst"


def _supports(model: Model) -> str | None:
    return None


def _check_memory(space: FockSpace) -> None:
    need = 20 * 16 * space.size**2
    if need > MAX_MEMORY_BYTES:
        dims = ", ".join(f"{n} = {d}" for n, d in zip(space.names, space.dims, strict=True))
        raise ModelError("cutoff", f"the Fock space {{{dims}}} has dimension {space.size} and "
                         f"needs about {need / 2**30:.0f} GiB (limit "
                         f"{MAX_MEMORY_BYTES / 2**30:.0f} GiB); lower the cutoffs or "
                         "max_cutoff, or shorten the run")


def solve_on_space(model: Model, space: FockSpace, times: NDArray[np.float64],
                   options: SolverOptions, monitor: TruncationMonitor, *,
                   on_state: Callable[[float, NDArray[np.complex128]], None] | None = None
                   ) -> SolverOutput:
    """Integrate ``model`` on a fixed truncated ``space`` (no cutoff changes).

    Args:
        model: the network.
        space: the truncated space.
        times: output times.
        options: tolerances.
        monitor: receives the tails; raises :class:`NeedsLargerCutoff` or
            :class:`~qbattery.errors.TruncationError` as its policy says.
        on_state: called with (t, rho) at each output time, rho the (D, D)
            density matrix (not a copy: do not modify it).
    """
    _check_memory(space)
    dim = space.size
    ham = rotating_hamiltonian(model, space)
    lind = Lindblad(space, jumps(model))
    pairs = pair_operators(model, space)
    n_modes, n_t = len(model.modes), times.size
    occ = np.zeros((n_modes, n_t))
    amp = np.zeros((n_modes, n_t), dtype=complex)
    coh = np.zeros((len(model.couplings), n_t), dtype=complex)
    erg = np.zeros((n_modes, n_t))
    tail = np.zeros((n_modes, n_t))
    catalyst: dict[str, NDArray[np.float64]] = {}
    figures = FigureRecorder(model, n_t)  # merit

    def fun(t: float, y: NDArray[np.complex128]) -> NDArray[np.complex128]:
        rho = np.ascontiguousarray(y).reshape(dim, dim)
        return lind.rhs(rho, ham.at(t)).ravel()

    def on_step(t: float, y: NDArray[np.complex128]) -> None:
        monitor.check(t, marginals(y.reshape(dim, dim), space))

    def on_output(k: int, t: float, y: NDArray[np.complex128]) -> None:
        rho = y.reshape(dim, dim)
        if on_state is not None:
            on_state(t, rho)
        populations = marginals(rho, space)
        tail[:, k] = tails(populations, space)
        monitor.check(t, populations)
        occ[:, k], amp[:, k], coh[:, k], erg[:, k] = mode_observables(rho, space, model, pairs)
        figures.record(k, rho, space.dims, erg[:, k])  # merit
        if CATALYST in model.names:
            for name, value in catalyst_observables(rho, space, model, catalyst=CATALYST).items():
                catalyst.setdefault(name, np.zeros(n_t))[k] = value

    rho0 = initial_state(model, space)
    monitor.check(0.0, marginals(rho0, space))
    # Dense linear algebra only touches reduced states of one or two modes (at most a
    # few thousand levels); on the shared 2-core machine one BLAS thread was up to 15x
    # faster for these (eigvalsh of a 532-level state: 0.07 s vs 1.05 s).
    with threadpool_limits(limits=1, user_api="blas"):
        stats = integrate(fun, rho0.ravel(), times, rtol=options.rtol, atol=options.atol,
                          on_output=on_output, on_step=on_step, method=METHOD,
                          max_step=stable_step(ham.spread(), lind.max_decay, METHOD))
    extra: Extra = {
        "cutoff": (("mode",), np.array(space.dims)),
        "max_tail": (("mode",), monitor.max_tail.copy()),
        "tail": (("mode", "time"), tail),
    }
    extra.update({name: (("time",), values) for name, values in catalyst.items()})
    extra.update(figures.extra())  # merit
    return SolverOutput(occupation=occ, amplitude=amp, pair_coherence=coh, ergotropy=erg,
                        extra=extra, stats={"hilbert_dimension": dim, **stats})


def _start_cutoffs(model: Model, stop: float, options: SolverOptions
                   ) -> tuple[dict[str, int], tuple[str, ...]]:
    """The cutoffs a run to ``stop`` starts from, and the names of the automatic ones."""
    plan = plan_cutoffs(model, options.cutoff)
    return {**plan.fixed, **estimate_cutoffs(model, stop, plan.auto,
                                             tol=options.truncation_tol,
                                             max_cutoff=options.max_cutoff)}, plan.auto


def _run(model: Model, times: NDArray[np.float64], options: SolverOptions) -> SolverOutput:
    cutoffs, auto = _start_cutoffs(model, float(times[-1]), options)
    history: list[dict[str, Any]] = []
    while True:
        space = FockSpace.of(model, cutoffs)
        monitor = TruncationMonitor(space, options, auto)
        try:
            out = solve_on_space(model, space, times, options, monitor)
            monitor.finish()
        except NeedsLargerCutoff as need:
            history.append(dict(cutoffs))
            cutoffs = {**cutoffs, **need.cutoffs}
            continue
        out.stats["cutoff_attempts"] = len(history) + 1
        if history:
            out.stats["cutoff_history"] = "; ".join(
                ", ".join(f"{n}={d}" for n, d in c.items()) for c in history)
        out.stats["cutoffs"] = ", ".join(f"{n}={d}" for n, d in cutoffs.items())
        return out


def _cost(model: Model, stop: float, options: SolverOptions) -> float:
    """Squared dimension of the lab-frame space the cutoff plan starts from."""
    return float(FockSpace.of(model, _start_cutoffs(model, stop, options)[0]).size) ** 2


SPEC = register(SolverSpec(
    name="fock", run=_run, supports=_supports, priority=20, cost=_cost,
    description="truncated-Fock density matrix (any network, qubits included); "
                "automatic, checked cutoffs",
))
