r"""Entropy production of a run (second law check; Spohn).

For thermal dissipators D_b at temperatures T_b > 0 and the undriven system
Hamiltonian H_S = sum_ij M_ij a_i^dag a_j (couplings included), the entropy
production up to t is

    Sigma(t) = S(t) - S(t0) - sum_b Q_b(t) / T_b,   Q_b(t) = int_t0^t J_b ds,
    J_b = Tr(H_S D_b(rho)),                          (heat into the system from bath b)

which is >= 0 and non-decreasing whenever each D_b has the Gibbs state of H_S at T_b
as a fixed point (Spohn's inequality; the global master equation,
:mod:`qbattery.terms.dressed`). The local equation's dissipators have local Gibbs
states as fixed points instead, and Sigma can decrease (heat flowing from a cold
bath to a hot one): this is how the tool shows where a local result violates the
second law.

Gaussian states with normally ordered covariance C (C_ij = <da_j^dag da_i>) and
means alpha: S = sum_k (n_k + 1) ln(n_k + 1) - n_k ln n_k over the eigenvalues n_k
of C; dissipator b (drift block A_b, diffusion D_b) changes C by A_b C + C A_b^dag
+ D_b and alpha by A_b alpha, so J_b = Tr(M (A_b C + C A_b^dag + D_b))
+ 2 Re(alpha^dag M A_b alpha) (frame independent). Q_b is integrated on the output
grid (trapezoid with the end correction of :func:`qbattery.merit_data.cumulative_integral`),
so Sigma is as accurate as that grid resolves J_b.

Density-matrix engines (``SolverOptions(entropy=True)``) record S(t) = -Tr rho ln rho of
the whole state (frame invariant: the displaced frame's rho' is a unitary image) and
J_b comes from the moments they record (:func:`moment_system_heat`): for a dissipator on
one mode m with D_b^dag(x_m) = -kappa_b x_m (``amplitude_decay``),

    J_b = -(its heat current into the bath) - 2 kappa_b sum_(j != m) Re(M_mj <x_m^dag x_j>),

the local energies' part plus the couplings' (D_b^dag annihilates every term of H_S
that does not involve m, and D_b^dag(x_m^dag x_j) = -kappa_b x_m^dag x_j).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..merit_data import cumulative_integral
from .base import dense_block
from .dressed import hamiltonian_matrix

__all__ = ["entropy_production", "gaussian_entropy", "moment_system_heat", "production",
           "temperatures"]

#: Largest number of modes whose full covariance is rebuilt for the entropy.
MAX_MODES = 40


def gaussian_entropy(C: NDArray[np.complex128]) -> NDArray[np.float64]:
    """von Neumann entropy of Gaussian states with covariances ``C`` (..., n, n)."""
    n = np.clip(np.linalg.eigvalsh(C), 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = (n + 1) * np.log1p(n) - np.where(n > 0, n * np.log(np.where(n > 0, n, 1)), 0.0)
    return np.asarray(terms.sum(axis=-1))


def entropy_production(problem: Any, times: NDArray[np.float64], alpha: NDArray[np.complex128],
                       C: NDArray[np.complex128]) -> dict[str, Any] | None:
    """``entropy`` S(t) and ``entropy_production`` Sigma(t) (time,), and ``system_heat``
    J_b (dissipators, time) of a Gaussian run with means ``alpha`` (modes, times) and
    covariances ``C`` (times, modes, modes); None when some dissipator is not a thermal
    bath at T > 0 (Q/T undefined) or the model has no dissipator."""
    temps = temperatures(problem)
    if temps is None:
        return None
    n, wr = len(problem.modes), problem.frame_frequency
    M = hamiltonian_matrix(problem)
    heat = np.zeros((len(temps), times.size))
    for b, d in enumerate(problem.dissipators):
        A, D = dense_block(d.drift_entries(wr), n), dense_block(d.noise_entries(), n)
        dC = np.einsum("ij,tjk->tik", A, C) + np.einsum("tij,kj->tik", C, A.conj()) + D
        heat[b] = np.real(np.einsum("ij,tji->t", M, dC)
                          + 2 * np.einsum("it,ij,jk,kt->t", alpha.conj(), M, A, alpha))
    entropy = gaussian_entropy(C)
    return {"entropy": entropy, "entropy_production": production(entropy, heat, temps, times),
            "system_heat": heat}


def temperatures(problem: Any) -> NDArray[np.float64] | None:
    """Each dissipator's temperature, or None when one is not a thermal bath at T > 0
    (or there is none)."""
    temps = [d.temperature(problem.frequencies) for d in problem.dissipators]
    if not temps or any(t is None for t in temps):
        return None
    return np.array(temps, dtype=float)


def production(entropy: NDArray[np.float64], heat: NDArray[np.float64],
               temps: NDArray[np.float64], times: NDArray[np.float64]) -> NDArray[np.float64]:
    """Sigma(t) = S(t) - S(t0) - sum_b int J_b / T_b (``heat`` (baths, times))."""
    flows = cumulative_integral(heat / np.asarray(temps)[:, None], times).sum(axis=0)
    return np.asarray(entropy - entropy[0] - flows)


def moment_system_heat(problem: Any, occupation: NDArray[np.float64],
                       pair: NDArray[np.complex128]) -> NDArray[np.float64] | None:
    """J_b (dissipators, times), each bath's heat into the system by H_S, from every
    mode's <x^dag x> (modes, times) and the coherences of ``problem.pairs`` (see the
    module doc); None when a dissipator acts on several modes, the couplings have
    counter-rotating (anomalous) parts, or a coherence it needs is not recorded."""
    if problem.anomalous_pairs:
        return None
    M = hamiltonian_matrix(problem)
    where = {p: k for k, p in enumerate(problem.pairs)}
    kinds = [m.kind for m in problem.modes]
    heat = np.zeros((len(problem.dissipators), occupation.shape[1]))
    start = len(problem.couplings)  # the dissipators' own pairs follow the couplings'
    for b, d in enumerate(problem.dissipators):
        kappa = d.amplitude_decay(kinds[d.mode])
        if kappa is None:
            return None
        stop = start + len(d.pairs())
        heat[b] = -d.heat_current(problem.frequencies, kinds, occupation, pair[start:stop])
        start = stop
        m = d.mode
        for j in np.flatnonzero(M[m]):
            if j == m:
                continue
            if (j, m) in where:  # <x_m^dag x_j>
                moment = pair[where[(j, m)]]
            elif (m, j) in where:
                moment = pair[where[(m, j)]].conj()
            else:
                return None
            heat[b] -= 2.0 * kappa * np.real(M[m, j] * moment)
    return heat
