"""Figures of merit: energy, ergotropy, correlations and energy flows.

Units: hbar = 1, energies in units of omega. A mode's energy is its *local*
energy omega_i <x_i^dag x_i> (a qubit's ground state has energy 0). Ergotropy
(Eq. 5) is taken for the mode's reduced state with respect to its local
Hamiltonian omega_i x_i^dag x_i:

    W = E - sum_k p_k^desc * eps_k^asc,

p^desc the eigenvalues of the reduced state in decreasing order and eps^asc
the local levels in increasing order (omega * k for an oscillator; 0, omega for
a qubit).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .model import Model

__all__ = [
    "energy_flows",
    "ergotropy",
    "gaussian_ergotropy",
    "levels",
    "logarithmic_negativity",
    "mutual_information",
    "von_neumann_entropy",
]


def levels(kind: str, frequency: float, dim: int) -> NDArray[np.float64]:
    """Local energy levels of a mode truncated to ``dim`` levels."""
    if kind == "qubit" and dim != 2:
        raise ValueError(f"dim: a qubit has 2 levels, got {dim}")
    return frequency * np.arange(dim, dtype=float)


def ergotropy(rho: ArrayLike, frequency: float = 1.0, *, kind: str = "oscillator") -> float:
    """Ergotropy of a single-mode density matrix in its local energy basis.

    Args:
        rho: (d, d) density matrix in the Fock basis |0>, ..., |d-1> (qubit: |g>, |e>).
        frequency: the mode frequency omega_i.
        kind: ``"oscillator"`` or ``"qubit"``.

    Returns:
        W = tr(rho H) - sum_k p_k^desc omega_i k, with H = omega_i diag(0, 1, ..., d-1).
    """
    r = np.asarray(rho)
    if r.ndim != 2 or r.shape[0] != r.shape[1]:
        raise ValueError(f"rho: expected a square matrix, got shape {r.shape}")
    eps = levels(kind, frequency, r.shape[0])
    energy = float(np.sum(np.real(np.diagonal(r)) * eps))
    p = np.sort(np.linalg.eigvalsh(0.5 * (r + r.conj().T)))[::-1]
    return energy - float(np.dot(p, eps))


def gaussian_ergotropy(frequency: ArrayLike, amplitude: ArrayLike, fluctuation: ArrayLike,
                       anomalous: ArrayLike = 0.0) -> NDArray[np.float64]:
    """Closed-form ergotropy of single-mode Gaussian states.

    For a state with mean <a> = alpha, fluctuation n = <da^dag da> and anomalous
    moment m = <da da>, the passive state of equal entropy is thermal with
    occupation nu - 1/2, nu = sqrt((n + 1/2)^2 - |m|^2) (the symplectic
    eigenvalue), so W = omega (|alpha|^2 + n - nu + 1/2). For the displaced
    thermal states that exchange-coupled networks produce (m = 0), W = omega |alpha|^2.
    """
    w = np.asarray(frequency, dtype=float)
    a = np.asarray(amplitude)
    n = np.asarray(fluctuation, dtype=float)
    m = np.abs(np.asarray(anomalous))
    nu = np.sqrt((n + 0.5) ** 2 - m**2)
    return np.asarray(w * (np.abs(a) ** 2 + n - nu + 0.5), dtype=float)


def von_neumann_entropy(rho: ArrayLike) -> float:
    """S(rho) = -tr(rho ln rho), in nats."""
    p = np.linalg.eigvalsh(np.asarray(rho))
    p = p[p > 1e-15]
    return float(-np.sum(p * np.log(p)))


def _partial(rho: NDArray[np.complex128], dims: tuple[int, ...], keep: tuple[int, ...]
             ) -> NDArray[np.complex128]:
    n = len(dims)
    t = rho.reshape(dims + dims)
    letters = "abcdefghijklmnopqrstuvwxyz"
    row = list(letters[:n])
    col = [letters[n + i] if i in keep else row[i] for i in range(n)]
    out = "".join(row[i] for i in keep) + "".join(col[i] for i in keep)
    d = int(np.prod([dims[i] for i in keep]))
    return np.asarray(np.einsum("".join(row) + "".join(col) + "->" + out, t).reshape(d, d))


def partial_trace(rho: ArrayLike, dims: tuple[int, ...], keep: tuple[int, ...]
                  ) -> NDArray[np.complex128]:
    """Reduced density matrix of the subsystems ``keep`` (in the given order)."""
    return _partial(np.asarray(rho, dtype=complex), tuple(dims), tuple(keep))


def mutual_information(rho: ArrayLike, dims: tuple[int, ...], i: int, j: int) -> float:
    """Quantum mutual information I(i:j) = S_i + S_j - S_ij (nats) of a multipartite state."""
    r = np.asarray(rho, dtype=complex)
    return (von_neumann_entropy(partial_trace(r, dims, (i,)))
            + von_neumann_entropy(partial_trace(r, dims, (j,)))
            - von_neumann_entropy(partial_trace(r, dims, (i, j))))


def logarithmic_negativity(rho: ArrayLike, dims: tuple[int, ...], i: int, j: int) -> float:
    """E_N = ln || rho_ij^{T_j} ||_1 of the two-mode reduced state (natural log)."""
    r2 = partial_trace(np.asarray(rho, dtype=complex), dims, (i, j))
    di, dj = dims[i], dims[j]
    pt = r2.reshape(di, dj, di, dj).transpose(0, 3, 2, 1).reshape(di * dj, di * dj)
    ev = np.linalg.eigvalsh(0.5 * (pt + pt.conj().T))
    return float(np.log(np.sum(np.abs(ev))))


def energy_flows(model: Model, times: NDArray[np.float64], occupation: NDArray[np.float64],
                 amplitude: NDArray[np.complex128], pair_coherence: NDArray[np.complex128]
                 ) -> dict[str, NDArray[np.float64]]:
    """Power and heat currents of the local master equation.

    With E = sum_i omega_i <x_i^dag x_i> (local energy),

        dE/dt = sum_k P_k - sum_baths J_b + sum_c P_c,

    where P_k = -2 omega_x F_k Im(e^{i delta_k t} <x>) is the power drive k
    injects (delta_k = omega_k - frame frequency, <x> in the rotating frame),
    J_b = gamma omega (<n> - N) the heat into an oscillator's bath
    (gamma omega ((2N + 1) p_e - N) for a qubit), and
    P_c = -2 g (omega_x - omega_y) Im <y^dag x> the energy the exchange
    coupling c adds to the local energies (zero between resonant modes).

    Args:
        model: the model.
        times: output times.
        occupation: (modes, times) <x^dag x>.
        amplitude: (modes, times) <x> in the frame of ``model.frame_frequency``.
        pair_coherence: (couplings, times) <y^dag x> for each coupling (x, y).

    Returns:
        ``drive_power`` (drives, times), ``heat`` (baths, times),
        ``coupling_power`` (couplings, times).
    """
    freq = np.array([m.frequency for m in model.modes])
    frame = model.frame_frequency
    drive = np.zeros((len(model.drives), times.size))
    for k, d in enumerate(model.drives):
        i = model.index(d.mode)
        phase = np.exp(1j * (d.frequency - frame) * times)
        drive[k] = -2.0 * freq[i] * d.amplitude * np.imag(phase * amplitude[i])
    heat = np.zeros((len(model.baths), times.size))
    for k, b in enumerate(model.baths):
        i = model.index(b.mode)
        n_bath = b.occupation_at(freq[i])
        if model.modes[i].kind == "qubit":
            heat[k] = b.rate * freq[i] * ((2 * n_bath + 1) * occupation[i] - n_bath)
        else:
            heat[k] = b.rate * freq[i] * (occupation[i] - n_bath)
    coupling = np.zeros((len(model.couplings), times.size))
    for k, c in enumerate(model.couplings):
        i, j = model.index(c.between[0]), model.index(c.between[1])
        coupling[k] = -2.0 * c.strength * (freq[i] - freq[j]) * np.imag(pair_coherence[k])
    return {"drive_power": drive, "heat": heat, "coupling_power": coupling}
