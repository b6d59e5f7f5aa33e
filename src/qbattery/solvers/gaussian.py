r"""Exact Gaussian engine for linear models (``method = "gaussian"``).

Takes a compiled model whose modes are all Gaussian (oscillators) and whose
terms are all linear/quadratic (:meth:`CompiledModel.gaussian_reason`), and
evaluates the closed-form moments of :mod:`qbattery.terms.linear`:

    d alpha/dt = A alpha + sum_delta exp(-i delta t) b_delta,
    d C/dt     = A C + C A^dag + D,

(C_ij = <da_j^dag da_i>, rotating frame of the model's frame frequency; D is
non-diagonal for correlated baths) with
exact propagators, no ODE stepping, in the smallest invariant subspace that
holds the dynamics. The anomalous moments <da_i da_j> stay zero for exchange
couplings and displaced thermal states, so a mode's ergotropy is
omega |alpha|^2 (:func:`qbattery.observables.gaussian_ergotropy`). The pair
coherences are recorded for every pair of :attr:`CompiledModel.pairs` (the
couplings', then those the correlated baths' heat currents need).

State in: a :class:`~qbattery.solvers.base.GaussianState` (or None: the model's
displaced thermal initial state at t = 0). State out: the moments at the last time.

Dispatch: when every term has the phase-covariant blocks (capability ``"gaussian"``)
the equations above are solved (the fast path); when some term has only quadrature
blocks (``"quadrature"``: a dipole coupling, a linear drive), or the state handed on
has anomalous moments, the lab-frame quadrature equations of
:mod:`qbattery.terms.quadrature` are (:mod:`qbattery.solvers.gaussian_quadrature`).
"""

from __future__ import annotations

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray

from ..errors import UnsupportedMethodError
from ..merit_data import collective_cells, gaussian_collective
from ..model import Model
from ..observables import gaussian_ergotropy
from ..options import SolverOptions
from ..terms import CompiledModel, compiled
from ..terms.entropy import MAX_MODES, entropy_production
from ..terms.linear import (
    covariance,
    first_moments,
    invariant_subspace,
    noisy,
    propagate,
    reduced,
)
from ..terms.quadrature import quadrature_reason
from .base import EngineOutput, Extra, GaussianState, RunContext, SolverSpec, State
from .gaussian_quadrature import run_quadrature

__all__ = ["SPEC", "covariance", "drift_matrix", "first_moments", "invariant_subspace",
           "steady_state"]


def _beyond_rwa(problem: CompiledModel) -> bool:
    """Whether some term has only quadrature blocks (a counter-rotating term): the
    model then needs the quadrature path (:mod:`qbattery.terms.quadrature`)."""
    return any("quadrature" in t.capabilities and not t.provides("gaussian")
               for t in problem.terms())


def _supports(problem: CompiledModel) -> str | None:
    if _beyond_rwa(problem):
        reason = quadrature_reason(problem)
    else:
        reason = problem.gaussian_reason()
    return None if reason is None else f"the Gaussian solver needs a linear model: {reason}"


def drift_matrix(model: Model | CompiledModel) -> sp.csr_matrix:
    """A = -i M - Gamma/2 in the frame rotating at the model's frame frequency (sparse)."""
    return compiled(model).drift()


def _start(problem: CompiledModel, state: State | None
           ) -> tuple[NDArray[np.complex128], NDArray[np.complex128], float]:
    if state is None:
        return problem.initial_amplitudes(), problem.initial_occupations().astype(complex), 0.0
    if not isinstance(state, GaussianState):
        raise UnsupportedMethodError("method 'gaussian' continues only from a Gaussian state "
                                     "(a result of method 'gaussian'), not a density matrix")
    return state.amplitude, state.covariance, state.time


def _run(problem: CompiledModel, times: NDArray[np.float64], state: State | None,
         options: SolverOptions, context: RunContext) -> EngineOutput:
    squeezed = isinstance(state, GaussianState) and state.anomalous is not None \
        and bool(np.any(state.anomalous != 0))
    if _beyond_rwa(problem) or squeezed:
        reason = quadrature_reason(problem)
        if reason is not None:
            raise UnsupportedMethodError(f"method 'gaussian' cannot continue from a state "
                                         f"with anomalous moments here: {reason}")
        return run_quadrature(problem, times, state, context)
    alpha0, cov0, t0 = _start(problem, state)
    pairs = list(problem.pairs)
    cells = collective_cells(problem.model)  # the battery cells' joint covariance (merit)
    n = len(problem.modes)
    thermal = n <= MAX_MODES and all(d.temperature(problem.frequencies) is not None
                                     for d in problem.dissipators) and problem.dissipators
    every = [(i, j) for i in range(n) for j in range(i + 1, n)] if thermal else []
    mom = propagate(problem, times, alpha0, cov0, t0=t0,
                    pairs=pairs + [(i, j) for i in cells for j in cells] + every)
    alpha, fluct = mom.amplitude, mom.fluctuation
    cross = mom.pair[:len(pairs)].copy()
    extra = {"fluctuation": (("mode", "time"), fluct),
             **gaussian_collective(problem.model, alpha, cells,
                                   mom.pair[len(pairs):len(pairs) + len(cells) ** 2])}
    if thermal:
        extra.update(_entropy(problem, times, alpha, fluct, every, mom.pair[-len(every):]
                              if every else mom.pair[:0]))
    if pairs:
        i, j = np.array(pairs).T
        cross += alpha[i] * alpha[j].conj()
    final = GaussianState(float(times[-1]), alpha[:, -1].copy(), mom.basis, mom.final,
                          problem.frame_frequency)
    context.report(float(times[-1]))
    return EngineOutput(
        occupation=np.abs(alpha) ** 2 + fluct,
        amplitude=alpha,
        pair_coherence=cross,
        ergotropy=gaussian_ergotropy(problem.frequencies[:, None], alpha, fluct),
        final_state=final,
        extra=extra,
        stats={"subspace_dimension": mom.basis.shape[1]},
    )


def _entropy(problem: CompiledModel, times: NDArray[np.float64], alpha: NDArray[np.complex128],
             fluct: NDArray[np.float64], every: list[tuple[int, int]],
             pair: NDArray[np.complex128]) -> Extra:
    """S(t), the entropy production and each bath's heat into the system
    (:mod:`qbattery.terms.entropy`), from the full covariance C(t)."""
    n = len(problem.modes)
    C = np.zeros((times.size, n, n), dtype=complex)
    C[:, range(n), range(n)] = fluct.T
    for k, (i, j) in enumerate(every):
        C[:, i, j] = pair[k]
        C[:, j, i] = pair[k].conj()
    out = entropy_production(problem, times, alpha, C)
    if out is None:
        return {}
    return {"entropy": (("time",), out["entropy"]),
            "entropy_production": (("time",), out["entropy_production"]),
            "system_heat": (("bath", "time"), out["system_heat"])}


SPEC = SolverSpec(
    name="gaussian", run=_run, supports=_supports, priority=0,
    description="exact closed-form moments for all-oscillator networks",
)


def steady_state(model: Model | CompiledModel
                 ) -> tuple[NDArray[np.complex128], NDArray[np.float64]] | None:
    """Long-time limit (amplitudes, occupations) of a linear model, or None.

    Solves 0 = A alpha + b and 0 = A C + C A^dag + D in the invariant subspace.
    Returns None when the limit does not exist: an undamped mode is excited
    (an eigenvalue of A on the imaginary axis) or drives have several frequencies.
    """
    problem = compiled(model)
    reason = _supports(problem)
    if reason is not None:
        raise ValueError(reason)
    groups = problem.forcing()
    if len(groups) > 1:
        return None
    n = len(problem.modes)
    A = problem.drift()
    b = next(iter(groups.values())) if groups else np.zeros(n, dtype=complex)
    D = problem.diffusion()
    occ0 = problem.initial_occupations()
    eye = np.eye(n)
    starts = [b, problem.initial_amplitudes(),
              *[eye[i] for i in np.flatnonzero(noisy(D) | (occ0 > 0))]]
    Q = invariant_subspace(A, starts)
    if Q.shape[1] == 0:
        return np.zeros(n, dtype=complex), np.zeros(n)
    QH = Q.conj().T
    Ar = QH @ np.asarray(A @ Q)
    if np.max(np.linalg.eigvals(Ar).real) > -1e-12:
        return None
    alpha = Q @ np.linalg.solve(Ar, -(QH @ b))
    Cr = sla.solve_continuous_lyapunov(Ar, -reduced(D, Q))
    fluct = np.einsum("im,mn,in->i", Q, Cr, Q.conj()).real
    return alpha, np.abs(alpha) ** 2 + fluct
