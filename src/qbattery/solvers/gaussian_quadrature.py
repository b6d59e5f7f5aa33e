r"""The Gaussian engine's quadrature path (models beyond the rotating-wave approximation).

Solves the lab-frame quadrature equations of :mod:`qbattery.terms.quadrature`
(dr/dt = M r + f(t), dV/dt = M V + V M^T + D, exact propagators) and reports what the
phase-covariant path reports, in the frame rotating at the model's frame frequency:

- occupation <a_i^dag a_i> = |alpha_i|^2 + C_ii, amplitude alpha_i = e^{i omega_r t} <a_i>_lab;
- ergotropy of each mode's reduced Gaussian state from its symplectic eigenvalue,
  W = omega (|alpha|^2 + n - nu + 1/2), nu = sqrt(det V_i) = sqrt((n + 1/2)^2 - |m|^2),
  n = C_ii, m = <da_i da_i> (:func:`qbattery.observables.gaussian_ergotropy`);
- pair coherences <x_j^dag x_i> of :attr:`CompiledModel.pairs` and anomalous moments
  <x_i x_j> (rotating frame) of :attr:`CompiledModel.anomalous_pairs`;
- ``extra``: ``fluctuation`` C_ii and ``anomalous_moment`` m_i (mode, time).

The battery cells' collective ergotropy (phase-covariant formula) is not reported here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from ..errors import UnsupportedMethodError
from ..observables import gaussian_ergotropy
from ..terms import CompiledModel
from ..terms.quadrature import complex_moments, propagate_quadrature, to_quadratures
from .base import EngineOutput, GaussianState, RunContext, State

__all__ = ["run_quadrature"]


def _start(problem: CompiledModel, state: State | None
           ) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Lab-frame (r, V, t0) of the start state."""
    n = len(problem.modes)
    if state is None:
        alpha = problem.initial_amplitudes()
        cov = np.diag(problem.initial_occupations()).astype(complex)
        anom = np.zeros((n, n), dtype=complex)
        t0 = 0.0
    elif isinstance(state, GaussianState):
        t0 = float(state.time)
        wr = state.frame_frequency
        alpha = np.exp(-1j * wr * t0) * state.amplitude
        cov = state.covariance
        anom = np.zeros((n, n), dtype=complex) if state.anomalous is None \
            else np.exp(-2j * wr * t0) * state.anomalous
    else:
        raise UnsupportedMethodError("method 'gaussian' continues only from a Gaussian state "
                                     "(a result of method 'gaussian'), not a density matrix")
    r, v = to_quadratures(alpha, cov, anom)
    return r, v, t0


def run_quadrature(problem: CompiledModel, times: NDArray[np.float64], state: State | None,
                   context: RunContext) -> EngineOutput:
    """The engine's run on the quadrature path (see the module doc)."""
    r0, v0, t0 = _start(problem, state)
    mom = propagate_quadrature(problem, times, r0, v0, t0=t0)
    lab, cov, anom_lab = complex_moments(mom.means, mom.covariance)
    wr = problem.frame_frequency
    alpha = np.exp(1j * wr * times) * lab
    anom = np.exp(2j * wr * times)[:, None, None] * anom_lab  # (times, n, n), rotating
    modes = np.arange(len(problem.modes))
    fluct = np.real(cov[:, modes, modes]).T
    squeeze = anom[:, modes, modes].T
    pairs = problem.pairs
    coherence = np.array([cov[:, i, j] + alpha[i] * alpha[j].conj() for i, j in pairs],
                         dtype=complex).reshape(len(pairs), times.size)
    anomalous = np.array([anom[:, i, j] + alpha[i] * alpha[j]
                          for i, j in problem.anomalous_pairs],
                         dtype=complex).reshape(len(problem.anomalous_pairs), times.size)
    final = GaussianState(float(times[-1]), alpha[:, -1].copy(),
                          np.eye(len(modes), dtype=complex), cov[-1].copy(), wr,
                          anomalous=anom[-1].copy())
    context.report(float(times[-1]))
    return EngineOutput(
        occupation=np.abs(alpha) ** 2 + fluct,
        amplitude=alpha,
        pair_coherence=coherence,
        ergotropy=gaussian_ergotropy(problem.frequencies[:, None], alpha, fluct, squeeze),
        final_state=final,
        extra={"fluctuation": (("mode", "time"), fluct),
               "anomalous_moment": (("mode", "time"), squeeze)},
        stats={"subspace_dimension": 2 * len(modes), "quadrature": True},
        anomalous=anomalous if problem.anomalous_pairs else None,
    )
