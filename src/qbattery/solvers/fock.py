r"""Truncated-Fock density-matrix solver for any network (``method = "fock"``).

Solves the Lindblad master equation of the compiled model,

    d rho/dt = -i [H(t), rho] + sum_c D[c] rho,

(H(t) and the collapse operators c from the terms' operators, e.g. the thermal
baths' gamma (N + 1) D[x] + gamma N D[x^dag]) in the frame rotating at the
model's frame frequency on the product of truncated Fock spaces (unbounded
modes: ``cutoff`` levels each; finite-level modes: their levels), with the
matrix-form right-hand side of :class:`qbattery.hilbert.Lindblad` in packed real
storage (M = Re rho + Im rho, :meth:`~qbattery.hilbert.Lindblad.apply_packed`: Hermitian
by construction, half the numbers) and the adaptive DOP853 integrator of
:mod:`qbattery.hilbert.rk` (tolerances ``rtol``, ``atol`` from the options).

Truncation is never silent: the population of each oscillator's top Fock
level is checked at every integrator step and output time. With
``cutoff = "auto"`` the cutoffs are estimated from the Gaussian twin of the
model and enlarged (and the run restarted) when a tail exceeds
``truncation_tol``; a fixed cutoff that is too small raises
:class:`~qbattery.errors.TruncationError` (or warns, ``on_truncation = "warn"``).

State in: a lab-frame :class:`~qbattery.solvers.base.DensityState` (or None:
the model's product initial state at t = 0), embedded in the run's space;
state out: the density matrix at the last time.

``result.extra`` holds ``cutoff`` and ``max_tail`` per mode, ``tail``
(mode, time), and, when the model has a mode named ``catalyst``, the catalyst's
ground-state fidelity, purity, mutual informations and logarithmic
negativities (see :func:`qbattery.hilbert.catalyst_observables`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from ..errors import ModelError, UnsupportedMethodError
from ..hilbert import (
    FockSpace,
    Lindblad,
    NeedsLargerCutoff,
    TruncationMonitor,
    anomalous_operators,
    estimate_cutoffs,
    expectations,
    initial_state,
    integrate_piecewise,
    marginals,
    mode_observables,
    pack_hermitian,
    pair_operators,
    plan_cutoffs,
    resize,
    rotating_hamiltonian,
    stable_step,
    tails,
)
from ..hilbert.redfield import RedfieldBaths
from ..hilbert.space import RotatingHamiltonian
from ..model import Model
from ..observables import Reductions
from ..options import SolverOptions
from ..terms import CompiledModel, compiled
from .base import DensitySeries, DensityState, EngineOutput, RunContext, SolverSpec, State
from .displaced_terms import AffineSparse

#: Integrator (an explicit Runge-Kutta method of :func:`qbattery.hilbert.integrate`).
METHOD = "DOP853"
#: Largest memory the integrator's work arrays may take (about 20 copies of rho).
MAX_MEMORY_BYTES = 8 * 2**30


def _supports(problem: CompiledModel) -> str | None:
    lacking = problem.lacking("density")
    if lacking:
        return "the Fock solver has no operators for " + ", ".join(lacking)
    return None


def check_memory(space: FockSpace) -> None:
    """Refuse a space whose density matrix and integrator work arrays (about 20 copies)
    exceed ``MAX_MEMORY_BYTES``, naming its cutoffs."""
    need = 20 * 16 * space.size**2
    if need > MAX_MEMORY_BYTES:
        dims = space.cutoffs
        raise ModelError("cutoff", f"the Fock space {{{dims}}} has dimension {space.size} and "
                         f"needs about {need / 2**30:.0f} GiB (limit "
                         f"{MAX_MEMORY_BYTES / 2**30:.0f} GiB); lower the cutoffs or "
                         "max_cutoff, or shorten the run")


class PackedGenerator:
    """[Re G(t); Im G(t)] for G(t) = -i H(t) - (1/2) sum_c c^dag c, the stacked real
    generator :meth:`Lindblad.apply_packed` takes (one matrix updated in place: the
    oscillating and enveloped parts of H(t) enter with their phases as coefficients)."""

    def __init__(self, ham: RotatingHamiltonian, lind: Lindblad) -> None:
        ops: list[sp.spmatrix] = []
        for v in [v for _, v in ham.oscillating] + [v for _, _, v in ham.modulated]:
            ops += [-1j * v, -1j * v.conj().T]
        self.ham = ham
        self.gen = AffineSparse(-1j * ham.static - sp.diags(lind.half_decay), ops)
        self.static = None if ops else self.gen.at(np.zeros(0, dtype=complex))

    def at(self, t: float) -> sp.csr_matrix:
        if self.static is not None:
            return self.static
        ham = self.ham
        parts = [(1.0, delta) for delta, _ in ham.oscillating]
        parts += [(float(env(t)), delta) for env, delta, _ in ham.modulated]
        phase = np.array([f * np.exp(1j * delta * t) for f, delta in parts])
        coeffs = np.empty(2 * phase.size, dtype=complex)
        coeffs[0::2], coeffs[1::2] = phase, phase.conj()
        return self.gen.at(coeffs)


def solve_on_space(model: Model | CompiledModel, space: FockSpace, times: NDArray[np.float64],
                   options: SolverOptions, monitor: TruncationMonitor, *,
                   on_state: Callable[[float, NDArray[np.complex128]], None] | None = None,
                   rho0: NDArray[np.complex128] | None = None, t0: float = 0.0,
                   context: RunContext | None = None) -> EngineOutput:
    """Integrate ``model`` on a fixed truncated ``space`` (no cutoff changes).

    Args:
        model: the network.
        space: the truncated space.
        times: output times (>= t0).
        options: tolerances.
        monitor: receives the tails; raises :class:`NeedsLargerCutoff` or
            :class:`~qbattery.errors.TruncationError` as its policy says.
        on_state: called with (t, rho) at each output time, rho the (D, D)
            density matrix (not a copy: do not modify it).
        rho0: the state at ``t0`` on ``space`` (default: the model's initial state).
        t0: the start time.
        context: receives progress reports.
    """
    problem = compiled(model)
    check_memory(space)
    dim = space.size
    ham = rotating_hamiltonian(problem, space)
    series = _Series(problem, space, times.size, options)
    lind = Lindblad(space, problem.jumps(), extra=series.redfield.dissipators,
                    threads=options.threads)
    status = ", ".join(f"{n}={d}" for n, d in zip(space.names, space.dims, strict=True))
    generator = PackedGenerator(ham, lind)

    def fun(t: float, y: NDArray[np.float64], out: NDArray[np.float64]) -> None:
        lind.apply_packed(y.reshape(dim, dim), generator.at(t), out=out.reshape(dim, dim))

    def on_step(t: float, y: NDArray[np.float64]) -> None:
        monitor.check(t, marginals(y.reshape(dim, dim), space))
        if context is not None:
            context.report(t, status)

    def on_output(k: int, t: float, y: NDArray[np.float64]) -> None:
        m = y.reshape(dim, dim)
        red = Reductions.packed(m, space.dims)
        if on_state is not None:
            on_state(t, red.rho)
        populations = marginals(m, space)  # the packed diagonal is rho's
        series.tail[:, k] = tails(populations, space)
        monitor.check(t, populations)
        series.record(k, red)

    if rho0 is None:
        rho0 = initial_state(problem, space)
    monitor.check(t0, marginals(rho0, space))
    # Dense linear algebra only touches reduced states of one or two modes (at most a
    # few thousand levels); on the shared 2-core machine one BLAS thread was up to 15x
    # faster for these (eigvalsh of a 532-level state: 0.07 s vs 1.05 s). So is the
    # integrator's arithmetic: ``options.threads`` goes to the compiled right-hand side
    # only (BLAS threads beside numba's spin against each other: 3x slower measured).
    with threadpool_limits(limits=1, user_api="blas"):
        stats = integrate_piecewise(
            fun, pack_hermitian(rho0).ravel(), times, inplace=True,
            edges=problem.breakpoints(t0, float(times[-1])), t0=t0,
            rtol=options.rtol, atol=options.atol, on_output=on_output, on_step=on_step,
            method=METHOD, max_step=stable_step(ham.spread(), lind.max_decay, METHOD),
            threads=options.threads)
    return series.output(float(times[-1]), monitor.max_tail.copy(), stats)


class _Series(DensitySeries):
    """The observables recorded at the output times of :func:`solve_on_space` (and the
    Bloch-Redfield baths' heat, which is measured on the state)."""

    def __init__(self, problem: CompiledModel, space: FockSpace, n_t: int,
                 options: SolverOptions) -> None:
        super().__init__(problem, n_t, options)
        self.space = space
        self.redfield = RedfieldBaths(problem, space, n_t)  # none: no cost
        self.pairs = pair_operators(problem, space)
        self.anomalous = anomalous_operators(problem, space)
        self.anom = np.zeros((len(self.anomalous), n_t), dtype=complex)
        self.final: list[NDArray[np.complex128]] = []

    def record(self, k: int, red: Reductions) -> None:
        space = self.space
        if self.is_last(k):
            self.final.append(red.rho)
        self.occ[:, k], self.amp[:, k], self.coh[:, k], self.erg[:, k] = mode_observables(
            red, space, self.problem, self.pairs)
        self.anom[:, k] = expectations(self.anomalous, red)
        self.catalyst.record(k, red, space)
        self.entropy.record(k, red)
        self.figures.record(k, red, space.dims, self.erg[:, k])
        if self.redfield.rows:  # the baths' heat needs the full state
            self.redfield.record(k, red.rho)

    def output(self, t_end: float, max_tail: NDArray[np.float64],
               stats: dict[str, Any]) -> EngineOutput:
        space, problem, redfield = self.space, self.problem, self.redfield
        extra = self.extra(space.dims, max_tail)
        extra.update(redfield.extra())
        state = DensityState(t_end, space.names, space.dims, self.final[0],
                             np.zeros(len(problem.modes), dtype=complex),
                             problem.frame_frequency)
        return EngineOutput(occupation=self.occ, amplitude=self.amp, pair_coherence=self.coh,
                            ergotropy=self.erg, final_state=state, extra=extra,
                            stats={"hilbert_dimension": space.size, **stats, **redfield.stats},
                            anomalous=self.anom if self.anomalous else None,
                            heat=redfield.measured_heat())


def _start_cutoffs(problem: CompiledModel, stop: float, options: SolverOptions,
                   context: RunContext) -> tuple[dict[str, int], tuple[str, ...]]:
    """The cutoffs a run to ``stop`` starts from, and the names of the automatic ones
    (at least the levels of a handed-on state)."""
    plan = plan_cutoffs(problem, options.cutoff)
    cutoffs = {**plan.fixed, **estimate_cutoffs(problem, stop, plan.auto,
                                                tol=options.truncation_tol,
                                                max_cutoff=options.max_cutoff,
                                                twin=context.twin(stop))}
    state = context.state
    if isinstance(state, DensityState):
        for i in problem.truncated:
            name = problem.names[i]
            if name in plan.auto:
                cutoffs[name] = max(cutoffs[name], state.dims[i])
    return cutoffs, plan.auto


def start_state(problem: CompiledModel, state: State | None, space: FockSpace, method: str
                ) -> NDArray[np.complex128] | None:
    """A handed-on density state on ``space`` (None: the model's own initial state).

    Levels the state has above ``space`` are dropped only if they hold no more
    than the truncation check would allow at once (1e-12); more is an error.
    """
    if state is None:
        return None
    if not isinstance(state, DensityState) or state.names != problem.names:
        raise UnsupportedMethodError(
            f"method {method!r} continues from a density matrix of the same model (a result "
            "of method 'fock' or 'displaced'), not from this state")
    old = FockSpace(state.names, space.kinds, state.dims)
    rho, dropped = resize(state.rho, old, space)
    if dropped > 1e-12:
        raise ModelError("cutoff", f"the handed-on state has population {dropped:.3g} above "
                         "these cutoffs; use larger cutoffs or cutoff = \"auto\"")
    return rho


def _run(problem: CompiledModel, times: NDArray[np.float64], state: State | None,
         options: SolverOptions, context: RunContext) -> EngineOutput:
    if isinstance(state, DensityState) and state.displaced:
        raise UnsupportedMethodError(
            "method 'fock' works in the lab frame and cannot continue from a displaced-frame "
            "state; continue with method 'displaced'")
    cutoffs, auto = _start_cutoffs(problem, float(times[-1]), options, context)
    t0 = context.start
    history: list[dict[str, Any]] = []
    while True:
        space = FockSpace.of(problem, cutoffs)
        monitor = TruncationMonitor(space, options, auto)
        try:
            out = solve_on_space(problem, space, times, options, monitor,
                                 rho0=start_state(problem, state, space, "fock"), t0=t0,
                                 context=context)
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


def _cost(problem: CompiledModel, stop: float, options: SolverOptions,
          context: RunContext) -> float:
    """Squared dimension of the lab-frame space the cutoff plan starts from."""
    cutoffs = _start_cutoffs(problem, stop, options, context)[0]
    return float(FockSpace.of(problem, cutoffs).size) ** 2


SPEC = SolverSpec(
    name="fock", run=_run, supports=_supports, priority=20, cost=_cost,
    description="truncated-Fock density matrix (any network, qubits included); "
                "automatic, checked cutoffs",
)
