r"""Exact Lindblad solver in a moving displaced frame (``method = "displaced"``).

rho = D(alpha) rho' D(alpha)^dag with alpha(t) from the exact first-moment
equations; the frame state rho' obeys a master equation of the same form (the
derivation and the equations are in :mod:`qbattery.solvers.displaced_frame`)
and, the mean amplitudes removed, needs only a small Fock cutoff. Observables
are rebuilt exactly: <a> = alpha + <a'>, <n> = |alpha|^2 + <n'> + 2 Re(alpha^*
<a'>) (the cross term kept: truncation lets <a'> drift); a mode's ergotropy
uses the spectrum of the frame's reduced state (a local unitary image of the
true one); entropies and correlations are frame invariant.

Adaptive cutoffs. Automatic cutoffs start from the fluctuations of the Gaussian
twin (qubits replaced by oscillators) and follow the state during the run:

- grow: when a top-level population exceeds ``truncation_tol`` the cutoff grows,
  extrapolated from the top of the distribution so that the new top level holds
  ``SAFETY**2 * truncation_tol``, and the run resumes from the last accepted step
  whose tails were all below ``SAFETY * truncation_tol``, embedded in the larger
  space. (Resuming from a state at the tolerance itself costs accuracy: 1.5e-5 in
  <n> instead of 4e-7 in ``test_cutoff_grows_then_shrinks...``; growing only to
  ``SAFETY * truncation_tol`` let the tails of a thermal run hover above the resume
  threshold, so that four growths in a row went back to the same early state —
  Fig. 6b to g t = 10 took 33 s instead of 22 s);
- shrink: when, for ``SHRINK_STEPS`` accepted steps in a row, an automatic
  oscillator's populations stay below ``SAFETY**2 * truncation_tol`` above some
  level at least two below its cutoff, and the space would lose at least a
  quarter of its dimension, the levels above are dropped and the trace restored
  (the largest population dropped is ``stats["shrink_dropped"]``). A transient
  that needs many levels (Fig. 6a needs 8 x 12 around g t = 10, far fewer later)
  then no longer sets the cost of the whole run. An oscillator never shrinks below
  the levels a thermal state of the largest occupation its own baths give it over
  the run needs (:func:`bath_floor`): Fig. 6b's charger (N = 1, in vacuum at t = 0)
  used to shrink to 14 levels early, grow back to 20 as it heated, and sit there
  with its top level rising to 6.8e-7; its battery ergotropy was 1.0e-5 off the
  lab-frame reference, 5.6e-6 with the floor (21 levels, the same time).

Outputs made before a resize are final; the run resumes after them.

Envelopes: the run is cut at their breakpoints (:func:`run_in_segments`), each
segment continuing the last one's state; where every envelope is constant the
segment solves the constant model, elsewhere the time-dependent equations
(:class:`DisplacedEquations` with A(t), B(t) and the envelopes' factors).
"""

from __future__ import annotations

from collections import deque
from typing import Any

import numpy as np
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from ..hilbert import (
    FockSpace,
    NeedsLargerCutoff,
    TruncationMonitor,
    expectations,
    integrate,
    levels_needed,
    marginals,
    mode_observables,
    pack_hermitian,
    plan_cutoffs,
    tails,
)
from ..hilbert.states import initial_state, resize
from ..hilbert.truncation import SAFETY
from ..observables import Reductions
from ..options import SolverOptions
from ..terms import CompiledModel
from .base import (
    DensitySeries,
    DensityState,
    EngineOutput,
    RunContext,
    SolverSpec,
    State,
    run_in_segments,
)
from .displaced_frame import DisplacedEquations, max_step
from .fock import check_memory, start_state

#: Integrator (an explicit Runge-Kutta method of :func:`qbattery.hilbert.integrate`).
METHOD = "DOP853"

#: Fewest levels an automatic frame cutoff starts with.
MIN_FRAME_LEVELS = 6

#: Fewest levels an automatic frame cutoff shrinks to.
MIN_SHRUNK_LEVELS = 4

#: Accepted steps in a row with a smaller cutoff sufficient before it shrinks.
SHRINK_STEPS = 8


def _supports(problem: CompiledModel) -> str | None:
    lacking = problem.lacking("displaced")
    if lacking:
        return "the displaced frame does not know " + ", ".join(lacking)
    return None


def _thermal_levels(problem: CompiledModel, names: tuple[str, ...],
                    occupation: NDArray[np.float64], least: int,
                    options: SolverOptions) -> dict[str, int]:
    """Levels a thermal state of each mode's ``occupation`` needs (top level at
    ``SAFETY * truncation_tol``), at least ``least``."""
    return {name: max(least, levels_needed(
                0.0, float(occupation[problem.index(name)]), SAFETY * options.truncation_tol,
                options.max_cutoff))
            for name in names}


def twin_estimate(problem: CompiledModel, names: tuple[str, ...], stop: float,
                  options: SolverOptions, context: RunContext) -> dict[str, int]:
    """Cutoffs for the fluctuations from the Gaussian twin.

    The twin (qubits replaced by oscillators) is solved exactly on [start, stop]
    (once per solve, :meth:`RunContext.twin`); each automatic oscillator gets the
    levels a thermal state of its largest fluctuation occupation needs (mean
    amplitude removed; at least ``MIN_FRAME_LEVELS``).
    """
    return _thermal_levels(problem, names, context.twin(stop).fluctuation,
                           MIN_FRAME_LEVELS, options)


def bath_floor(problem: CompiledModel, names: tuple[str, ...], stop: float,
               options: SolverOptions, context: RunContext) -> dict[str, int]:
    """Levels below which an automatic oscillator's cutoff does not shrink: those a
    thermal state of the largest occupation its own baths give it over the run needs
    (:attr:`TwinBounds.alone`). A mode on a warm bath whose fluctuations are still small
    early in the run (Fig. 6b's charger at N = 1, in vacuum at t = 0) would otherwise
    shrink, then grow back as it heats, and sit at a cutoff whose top level approaches
    ``truncation_tol`` for the rest of the run."""
    return _thermal_levels(problem, names, context.twin(stop).alone, MIN_SHRUNK_LEVELS,
                           options)


class _ResumableMonitor(TruncationMonitor):
    """Stops at the first excess of an automatic cutoff, so the run can resume from
    an earlier step, and grows the cutoff well past the need: the new top level is
    extrapolated to ``SAFETY**2 * truncation_tol``, so that the tails fall below
    ``SAFETY * truncation_tol`` again and the resume point moves on (see the module
    doc)."""

    ABORT = 1.0
    TARGET = SAFETY ** 2


class _Shrink(Exception):
    """Raised from a step callback: continue on these (smaller) cutoffs from this step."""

    def __init__(self, cutoffs: dict[str, int]) -> None:
        super().__init__("shrink")
        self.cutoffs = cutoffs


class _ShrinkWatch:
    """Proposes smaller automatic cutoffs when the top levels stay empty (see the module doc)."""

    def __init__(self, space: FockSpace, auto: tuple[str, ...], tol: float,
                 floor: dict[str, int]) -> None:
        self.space = space
        self.modes = [space.names.index(n) for n in auto]
        self.tol = tol
        self.floor = {space.names.index(n): d for n, d in floor.items()}
        self.recent: deque[NDArray[np.int_]] = deque(maxlen=SHRINK_STEPS)

    def reset(self) -> None:
        """A step near the tolerance: the count of steps "in a row" starts again."""
        self.recent.clear()

    def propose(self, populations: list[NDArray[np.float64]]) -> dict[str, int] | None:
        """Record one accepted step; the smaller cutoffs once the last SHRINK_STEPS allow them."""
        dims = np.array(self.space.dims)
        need = dims.copy()
        for i in self.modes:
            above = np.nonzero(populations[i] > self.tol)[0]
            need[i] = max(MIN_SHRUNK_LEVELS, self.floor.get(i, 0),
                          int(above[-1]) + 2 if above.size else 1)
        self.recent.append(need)
        if len(self.recent) < SHRINK_STEPS:
            return None
        most = np.max(self.recent, axis=0)
        new = np.where(most <= dims - 2, most, dims)
        if np.prod(new) > 0.75 * np.prod(dims):
            return None
        return {self.space.names[i]: int(new[i]) for i in self.modes if new[i] < dims[i]}


def _start_cutoffs(problem: CompiledModel, stop: float, options: SolverOptions,
                   context: RunContext) -> tuple[dict[str, int], tuple[str, ...]]:
    """The cutoffs a run to ``stop`` starts from, and the names of the automatic ones
    (at least the levels of a handed-on state)."""
    plan = plan_cutoffs(problem, options.cutoff)
    cutoffs = {**plan.fixed, **twin_estimate(problem, plan.auto, stop, options, context)}
    if isinstance(context.state, DensityState):
        for name in plan.auto:
            cutoffs[name] = max(cutoffs[name], context.state.dims[problem.index(name)])
    return cutoffs, plan.auto


def _start(problem: CompiledModel, state: State | None, space: FockSpace,
           eqs: DisplacedEquations) -> NDArray[np.float64]:
    """The real state vector (:meth:`DisplacedEquations.join`) to start from."""
    if state is None:
        alpha0 = problem.initial_amplitudes()
        rho = initial_state(problem, space, displacements=list(alpha0))
    else:
        handed = start_state(problem, state, space, "displaced")
        assert isinstance(state, DensityState) and handed is not None
        rho, alpha0 = handed, state.displacement
    return eqs.join(np.asarray(alpha0)[eqs.osc], pack_hermitian(rho))


def _anomalous(eqs: DisplacedEquations, rho: Reductions,
               a: NDArray[np.complex128], x: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """<x_i x_j> = <x_i' x_j'> + a_i <x_j'> + a_j <x_i'> + a_i a_j for each anomalous pair
    (a: the frame's displacement, zero on qubits; x: the frame's <x'>)."""
    if not eqs.anomalous_pairs:
        return np.zeros(0, dtype=complex)
    i, j = np.array(eqs.anomalous_pairs).T
    return expectations(eqs.anomalous, rho) + a[i] * x[j] + a[j] * x[i] + a[i] * a[j]


def _run(problem: CompiledModel, times: NDArray[np.float64], state: State | None,
         options: SolverOptions, context: RunContext) -> EngineOutput:
    if problem.modulated():
        t0, stop = context.start, float(times[-1])
        frozen = problem.frozen(t0, stop)
        if frozen is not None:  # every envelope constant over the run
            problem = frozen
        elif problem.breakpoints(t0, stop):  # segments, each continuing the last
            return run_in_segments(problem, times, state, options, context, _run)
        # else: envelopes that vary smoothly over the whole run: time-dependent equations
    return _FrameRun(problem, times, state, options, context).run()


class _Series(DensitySeries):
    """The lab-frame observables recorded at the output times (from the frame's state
    and displacement) and the last output's state."""

    def __init__(self, problem: CompiledModel, n_t: int, options: SolverOptions) -> None:
        super().__init__(problem, n_t, options)
        n_modes = len(problem.modes)
        self.disp = np.zeros((n_modes, n_t), dtype=complex)
        self.cutoff_used = np.zeros((n_modes, n_t), dtype=int)
        self.anom = np.zeros((len(problem.anomalous_pairs), n_t), dtype=complex)
        self.final: dict[str, Any] = {}

    def record(self, k: int, eqs: DisplacedEquations, alpha: NDArray[np.complex128],
               m: NDArray[np.float64]) -> None:
        """Output k from the frame's displacement ``alpha`` and packed state ``m``."""
        problem, space = self.problem, eqs.space
        a = np.zeros(len(problem.modes), dtype=complex)
        a[eqs.osc] = alpha
        red = Reductions.packed(m, space.dims)
        o, x, c, w = mode_observables(red, space, problem, eqs.pairs)
        self.occ[:, k] = o + np.abs(a) ** 2 + 2 * np.real(a.conj() * x)
        self.amp[:, k] = a + x
        self.erg[:, k] = w + problem.frequencies * (self.occ[:, k] - o)
        for p, (i, j) in enumerate(problem.pairs):
            self.coh[p, k] = (c[p] + np.conj(a[j]) * x[i] + a[i] * np.conj(x[j])
                              + np.conj(a[j]) * a[i])
        self.disp[:, k] = a
        self.anom[:, k] = _anomalous(eqs, red, a, x)
        self.figures.record(k, red, space.dims, self.erg[:, k], a)  # lab frame D(a) rho D(a)^dag
        self.cutoff_used[:, k] = space.dims
        if self.is_last(k):
            self.final.update(rho=red.rho, alpha=a, dims=space.dims)
        self.catalyst.record(k, red, space, a)
        self.entropy.record(k, red)

    def output(self, t_end: float, space: FockSpace, max_tail: NDArray[np.float64],
               stats: dict[str, Any]) -> EngineOutput:
        extra = self.extra(space.dims, max_tail)
        extra["displacement"] = (("mode", "time"), self.disp)
        extra["cutoff_at"] = (("mode", "time"), self.cutoff_used)
        problem, final = self.problem, self.final
        out_state = DensityState(t_end, problem.names, final["dims"], final["rho"],
                                 final["alpha"], problem.frame_frequency)
        return EngineOutput(occupation=self.occ, amplitude=self.amp, pair_coherence=self.coh,
                            ergotropy=self.erg, final_state=out_state, extra=extra,
                            stats={"hilbert_dimension": space.size, **stats},
                            anomalous=self.anom if problem.anomalous_pairs else None)


class _FrameRun:
    """One integration in the displaced frame, restarted from the last step with every
    tail below SAFETY * tol whenever the cutoffs must grow or may shrink (outputs after
    that step are redone on the new space)."""

    def __init__(self, problem: CompiledModel, times: NDArray[np.float64],
                 state: State | None, options: SolverOptions, context: RunContext) -> None:
        self.problem, self.times, self.options, self.context = problem, times, options, context
        self.cutoffs, self.auto = _start_cutoffs(problem, float(times[-1]), options, context)
        self.floor = bath_floor(problem, self.auto, float(times[-1]), options, context)
        self.series = _Series(problem, times.size, options)
        self.tol = options.truncation_tol
        self.stats: dict[str, Any] = {"steps": 0, "nfev": 0, "cutoff_growths": 0,
                                      "cutoff_shrinks": 0, "shrink_dropped": 0.0}
        self.last_k = -1  # outputs up to here are made and final
        self.start, self.t0 = 0, context.start
        self._on_space(FockSpace.of(problem, self.cutoffs))
        self.y = _start(problem, state, self.space, self.eqs)
        # the last accepted step with every tail below SAFETY * tol; the last step's length
        self.good: dict[str, Any] = {"y": self.y, "t": self.t0, "h": None, "last": self.t0}

    def _on_space(self, space: FockSpace) -> None:
        check_memory(space)  # a growth the memory cannot hold is refused, named
        self.space = space
        self.eqs = DisplacedEquations(self.problem, space, threads=self.options.threads)
        self.monitor = _ResumableMonitor(space, self.options, self.auto)
        self.watch = _ShrinkWatch(space, self.auto, SAFETY ** 2 * self.tol, self.floor)

    def on_output(self, k: int, t: float, yk: NDArray[np.float64]) -> None:
        k += self.start
        alpha, m = self.eqs.split(yk)
        populations = marginals(m, self.space)
        self.series.tail[:, k] = tails(populations, self.space)
        self.monitor.check(t + self.t0, populations)
        self.series.record(k, self.eqs, alpha, m)
        self.last_k = k

    def rhs(self, t: float, yy: NDArray[np.float64], out: NDArray[np.float64]) -> None:
        self.stats["nfev"] += 1
        self.eqs.rhs(t + self.t0, yy, out)

    def on_step(self, t: float, yy: NDArray[np.float64]) -> None:
        space, now = self.space, t + self.t0
        self.stats["steps"] += 1
        populations = marginals(self.eqs.split(yy)[1], space)
        self.monitor.check(now, populations)
        self.good.update(h=now - self.good["last"], last=now)
        self.context.report(now, ", ".join(f"{n}={d}" for n, d in zip(space.names, space.dims,
                                                                       strict=True)))
        if tails(populations, space).max() <= SAFETY * self.tol:
            self.good.update(y=yy.copy(), t=now)
            smaller = self.watch.propose(populations)
            if smaller:
                raise _Shrink(smaller)
        else:
            self.watch.reset()

    def restart(self, change: NeedsLargerCutoff | _Shrink) -> None:
        """Move the last good step's state onto the changed cutoffs and resume there."""
        old = self.space
        alpha, m = self.eqs.split(np.asarray(self.good["y"]))
        self.cutoffs = {**self.cutoffs, **change.cutoffs}
        self._on_space(FockSpace.of(self.problem, self.cutoffs))
        m, dropped = resize(m, old, self.space)
        if isinstance(change, _Shrink):
            self.stats["cutoff_shrinks"] += 1
            self.stats["shrink_dropped"] = max(self.stats["shrink_dropped"], dropped)
        else:
            self.stats["cutoff_growths"] += 1
        self.y = self.eqs.join(alpha, m)
        self.start, self.t0 = self.last_k + 1, float(self.good["t"])
        # "h" stays: the next run starts with the last step's length
        self.good.update(y=self.y, t=self.t0, last=self.t0)

    def run(self) -> EngineOutput:
        options = self.options
        # one BLAS limit for all restarts: threadpoolctl inspects the loaded libraries
        # each time (~3 ms; Fig. 6a restarts 8 times)
        with threadpool_limits(limits=1, user_api="blas"):
            while True:
                try:
                    integrate(self.rhs, self.y, self.times[self.start:] - self.t0,
                              rtol=options.rtol, atol=options.atol, on_output=self.on_output,
                              on_step=self.on_step, method=METHOD,
                              max_step=max_step(self.eqs, METHOD), first_step=self.good["h"],
                              inplace=True, threads=options.threads)
                except (NeedsLargerCutoff, _Shrink) as change:
                    self.restart(change)
                    continue
                break
        self.monitor.finish()
        # Kept outputs had every tail within tolerance (else the segment was redone);
        # the final segment's monitor also saw every step since its start.
        max_tail = np.maximum(self.series.tail.max(axis=1), self.monitor.max_tail)
        self.stats["cutoffs"] = ", ".join(f"{n}={d}" for n, d in self.cutoffs.items())
        return self.series.output(float(self.times[-1]), self.space, max_tail, self.stats)


def _cost(problem: CompiledModel, stop: float, options: SolverOptions,
          context: RunContext) -> float:
    """Squared dimension of the frame space the cutoff plan starts from (a lower bound
    for qubit networks at N = 0, whose nonlinearity the Gaussian twin lacks)."""
    cutoffs = _start_cutoffs(problem, stop, options, context)[0]
    return float(FockSpace.of(problem, cutoffs).size) ** 2


SPEC = SolverSpec(
    name="displaced", run=_run, supports=_supports, priority=10, cost=_cost,
    description="density matrix in a frame that follows the oscillators' mean amplitudes "
                "(small cutoffs for coherently charged oscillators); any network",
)
