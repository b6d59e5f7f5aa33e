"""The engine contract: states in and out, outputs, the run context, the registry entry.

An engine is registered as a :class:`SolverSpec`. It is called as

    spec.run(problem, times, state, options, context) -> EngineOutput

with the compiled model (:class:`~qbattery.terms.CompiledModel`), increasing
output times (absolute, >= the state's time), an initial state (None: the
model's own initial state at t = 0; else a :class:`GaussianState` or a
:class:`DensityState` handed on from an earlier run) and the options; it
returns the observables at ``times`` and the final state, which a later run
continues from (``qb.solve(model, times, initial_state=result.final_state)``).
The :class:`RunContext` carries what is shared by the engines of one solve
(the Gaussian twin's bounds, computed at most once) and a progress callback.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..hilbert import CatalystRecorder, EntropyRecorder
from ..merit_data import FigureRecorder
from ..observables import partial_trace
from ..options import SolverOptions
from ..terms import CompiledModel
from ..terms.linear import TwinBounds, twin_bounds

__all__ = ["DensityState", "EngineOutput", "Extra", "GaussianState", "Progress", "RunContext",
           "SolverSpec", "State", "run_in_segments"]

#: Extra solver data: name -> (dimension names, array).
Extra = dict[str, tuple[tuple[str, ...], NDArray[Any]]]
#: Progress callback: (simulated time reached, short status such as the cutoffs).
Progress = Callable[[float, str], None]


@dataclass(frozen=True, eq=False)
class GaussianState:
    """A Gaussian state at ``time``: means and normally ordered covariance.

    Args:
        time: when (absolute, units of 1/omega).
        amplitude: (modes,) <x_i> in the rotating frame of ``frame_frequency``.
        basis: (modes, m) orthonormal columns spanning the covariance's support.
        reduced: (m, m) the covariance in that basis, C = basis reduced basis^dag
            (kept factored: a 3000-cell battery's full C would be 144 MB).
        frame_frequency: the frame's frequency.
        anomalous: (modes, modes) <dx_i dx_j> in the rotating frame, or None (zero: a
            phase-covariant state; the quadrature path of the Gaussian engine sets it).
    """

    time: float
    amplitude: NDArray[np.complex128]
    basis: NDArray[np.complex128]
    reduced: NDArray[np.complex128]
    frame_frequency: float
    anomalous: NDArray[np.complex128] | None = None
    heat: NDArray[np.float64] | None = None

    @property
    def covariance(self) -> NDArray[np.complex128]:
        """C_ij = <dx_j^dag dx_i> (modes x modes)."""
        return np.asarray(self.basis @ self.reduced @ self.basis.conj().T)


@dataclass(frozen=True, eq=False)
class DensityState:
    """A density matrix at ``time`` on truncated Fock spaces.

    rho = D(displacement) rho_frame D(displacement)^dag in the frame rotating at
    ``frame_frequency`` (displacement zero: the lab-frame Fock basis).

    Args:
        time: when.
        names: mode names.
        dims: levels per mode (the basis order of ``numpy.kron``).
        rho: (D, D) the (frame) density matrix.
        displacement: (modes,) coherent displacement of each mode's frame (0 for
            finite-level modes).
        frame_frequency: the frame's frequency.
    """

    time: float
    names: tuple[str, ...]
    dims: tuple[int, ...]
    rho: NDArray[np.complex128]
    displacement: NDArray[np.complex128]
    frame_frequency: float

    @property
    def displaced(self) -> bool:
        """Whether the state is stored in a displaced frame."""
        return bool(np.any(self.displacement != 0))


State = GaussianState | DensityState


def density_moments(state: DensityState) -> tuple[NDArray[np.complex128], NDArray[np.float64]]:
    """(<x_i>, <x_i^dag x_i>) of every mode of a density state (lab values)."""
    n = len(state.dims)
    alpha = np.zeros(n, dtype=complex)
    occ = np.zeros(n)
    for i, d in enumerate(state.dims):
        r = partial_trace(state.rho, state.dims, (i,))
        a = complex(np.sqrt(np.arange(1.0, d)) @ np.diagonal(r, -1))
        beta = complex(state.displacement[i])
        alpha[i] = beta + a
        occ[i] = float(np.real(np.diagonal(r)) @ np.arange(d)) + abs(beta) ** 2 \
            + 2.0 * float(np.real(np.conj(beta) * a))
    return alpha, occ


@dataclass(frozen=True, eq=False)
class EngineOutput:
    """What an engine returns.

    Args:
        occupation: (modes, times) <x_i^dag x_i>.
        amplitude: (modes, times) <x_i> in the rotating frame.
        pair_coherence: (couplings, times) <x_j^dag x_i> for each coupling (i, j).
        ergotropy: (modes, times) ergotropy of each mode's reduced state.
        final_state: the state at ``times[-1]``.
        extra: engine-specific labelled arrays (cutoffs, tails, displacements, correlations).
        stats: engine statistics (steps, subspace dimension, ...).
        anomalous: (pairs, times) <x_i x_j> (rotating frame) for each pair of
            :attr:`CompiledModel.anomalous_pairs` (None when there is none).
        heat: (dissipators, times) heat into the dissipators whose heat is measured on the
            state (``moment_heat`` False; NaN in the other rows), or None.
    """

    occupation: NDArray[np.float64]
    amplitude: NDArray[np.complex128]
    pair_coherence: NDArray[np.complex128]
    ergotropy: NDArray[np.float64]
    final_state: State
    extra: Extra = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    anomalous: NDArray[np.complex128] | None = None
    heat: NDArray[np.float64] | None = None


class DensitySeries:
    """The observables both density-matrix engines record at the output times: each
    mode's occupation, amplitude and ergotropy, the pairs' coherences, the top-level
    tails, and the catalyst's, entropy and figure-of-merit recorders."""

    def __init__(self, problem: CompiledModel, n_t: int, options: SolverOptions) -> None:
        n_modes = len(problem.modes)
        self.problem = problem
        self.occ = np.zeros((n_modes, n_t))
        self.amp = np.zeros((n_modes, n_t), dtype=complex)
        self.coh = np.zeros((len(problem.pairs), n_t), dtype=complex)
        self.erg = np.zeros((n_modes, n_t))
        self.tail = np.zeros((n_modes, n_t))
        self.catalyst = CatalystRecorder(problem, n_t, correlations=options.correlations)
        self.entropy = EntropyRecorder(options.entropy, n_t)
        self.figures = FigureRecorder(problem, n_t)

    def is_last(self, k: int) -> bool:
        return k == self.tail.shape[1] - 1

    def extra(self, dims: tuple[int, ...], max_tail: NDArray[np.float64]) -> Extra:
        """The ``extra`` entries these give (cutoffs ``dims`` at the end)."""
        extra: Extra = {
            "cutoff": (("mode",), np.array(dims)),
            "max_tail": (("mode",), max_tail),
            "tail": (("mode", "time"), self.tail),
        }
        for recorder in (self.catalyst, self.entropy, self.figures):
            extra.update(recorder.extra())
        return extra


@dataclass(eq=False)
class RunContext:
    """Shared by the engines of one solve: the start, the twin (computed once), progress."""

    problem: CompiledModel
    state: State | None = None
    progress: Progress | None = None
    _twins: dict[float, TwinBounds] = field(default_factory=dict)

    @property
    def start(self) -> float:
        """The start time (the state's time, or 0)."""
        return 0.0 if self.state is None else float(self.state.time)

    def start_moments(self) -> tuple[NDArray[np.complex128], NDArray[np.complex128] | None]:
        """(alpha, C) at the start: the state's moments, or the model's initial ones
        (C as a vector when it is diagonal).

        For a density state, the mean amplitudes and a diagonal C of the fluctuation
        occupations (an estimate of the Gaussian moments, used for cutoff plans).
        """
        p, s = self.problem, self.state
        if s is None:
            return p.initial_amplitudes(), p.initial_occupations().astype(complex)
        if isinstance(s, GaussianState):
            return s.amplitude, s.covariance
        alpha, occ = density_moments(s)
        return alpha, np.maximum(occ - np.abs(alpha) ** 2, 0.0).astype(complex)

    def twin(self, stop: float) -> TwinBounds:
        """The Gaussian twin's bounds on [start, stop] (computed once per stop)."""
        if stop not in self._twins:
            alpha, cov = self.start_moments()
            self._twins[stop] = twin_bounds(self.problem, stop, alpha, cov, t0=self.start)
        return self._twins[stop]

    def report(self, time: float, status: str = "") -> None:
        """Tell the progress callback (if any) how far the run is."""
        if self.progress is not None:
            self.progress(time, status)


@dataclass(frozen=True)
class SolverSpec:
    """A registered engine.

    Args:
        name: the method name.
        run: the engine (see the module doc).
        supports: None if the engine can solve the compiled model, else the reason
            (naming the modes or terms it cannot handle).
        priority: preference of ``method = "auto"`` (lower first).
        description: one line for ``qbattery methods``.
        cost: relative cost of a run to ``stop`` (the squared dimension the engine's
            cutoff plan starts from), for engines that ``auto`` compares.
    """

    name: str
    run: Callable[[CompiledModel, NDArray[np.float64], State | None, SolverOptions, RunContext],
                  EngineOutput]
    supports: Callable[[CompiledModel], str | None]
    priority: int
    description: str
    cost: Callable[[CompiledModel, float, SolverOptions, RunContext], float] | None = None


#: Statistics that are the largest over segments (the others add up; text: the last).
_LARGEST = ("hilbert_dimension", "subspace_dimension", "shrink_dropped")

EngineRun = Callable[[CompiledModel, NDArray[np.float64], "State | None", SolverOptions,
                      RunContext], EngineOutput]


def run_in_segments(problem: CompiledModel, times: NDArray[np.float64], state: State | None,
                    options: SolverOptions, context: RunContext, run: EngineRun
                    ) -> EngineOutput:
    """Run an engine on each segment between the envelopes' breakpoints, each segment
    continuing from the last one's final state; the outputs are joined. Where every
    envelope is constant the engine gets the model with constant terms
    (:meth:`CompiledModel.frozen`); elsewhere the model itself, which then has no
    breakpoint inside the segment (the engine integrates its time dependence)."""
    t0, stop = context.start, float(times[-1])
    edges = [t0, *problem.breakpoints(t0, stop), stop]
    parts: list[tuple[int, EngineOutput]] = []
    for a, b in itertools.pairwise(edges):
        part = problem.frozen(a, b) or problem
        pick = (times >= a) if a == t0 else (times > a)
        idx = np.flatnonzero(pick & (times <= b))
        ev = times[idx] if idx.size and times[idx[-1]] == b else np.append(times[idx], b)
        out = run(part, ev, state, options, RunContext(part, state, context.progress))
        parts.append((idx.size, out))
        state = out.final_state
    return _join(parts)


def _join(parts: list[tuple[int, EngineOutput]]) -> EngineOutput:
    """One output from segments' outputs (the first ``k`` times of each)."""
    def cat(name: str) -> Any:
        return np.concatenate([getattr(o, name)[..., :k] for k, o in parts], axis=-1)

    extra: Extra = {}
    for key, (dims, _) in parts[-1][1].extra.items():
        arrays = [(k, o.extra[key][1]) for k, o in parts if key in o.extra]
        if "time" in dims:
            axis = dims.index("time")
            extra[key] = (dims, np.concatenate([np.take(a, range(k), axis=axis)
                                                for k, a in arrays], axis=axis))
        else:
            extra[key] = (dims, np.max([a for _, a in arrays], axis=0))
    stats: dict[str, Any] = {"segments": len(parts)}
    for _, o in parts:
        for key, value in o.stats.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                stats[key] = value
            elif key in _LARGEST:
                stats[key] = max(stats.get(key, value), value)
            else:
                stats[key] = stats.get(key, 0) + value
    last = parts[-1][1]
    anomalous = None if last.anomalous is None else cat("anomalous")
    return EngineOutput(cat("occupation"), cat("amplitude"), cat("pair_coherence"),
                        cat("ergotropy"), last.final_state, extra, stats, anomalous)
