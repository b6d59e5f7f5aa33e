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

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .terms.modes import mode_kind

if TYPE_CHECKING:
    from .terms import CompiledModel, CouplingTerm

__all__ = [
    "PackedTrace",
    "Reductions",
    "energy_flows",
    "ergotropy",
    "ergotropy_of_levels",
    "gaussian_ergotropy",
    "interaction_energy",
    "levels",
    "logarithmic_negativity",
    "mutual_information",
    "pack_hermitian",
    "trace_with",
    "unpack_hermitian",
    "von_neumann_entropy",
]


def levels(kind: str, frequency: float, dim: int) -> NDArray[np.float64]:
    """Local energy levels of a mode of kind ``kind`` truncated to ``dim`` levels."""
    mk = mode_kind(kind)
    if mk.levels is not None and dim != mk.levels:
        raise ValueError(f"dim: a {kind} has {mk.levels} levels, got {dim}")
    return mk.energies(frequency, dim)


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
    return ergotropy_of_levels(r, levels(kind, frequency, r.shape[0]))


def ergotropy_of_levels(rho: NDArray[np.complex128], eps: NDArray[np.float64], *,
                        spectrum: NDArray[np.float64] | None = None) -> float:
    """W = tr(rho H) - sum_k p_k^desc eps_k^asc for H = diag(eps), eps ascending
    (``spectrum``: rho's eigenvalues, if already known)."""
    energy = float(np.sum(np.real(np.diagonal(rho)) * eps))
    p = np.sort(np.linalg.eigvalsh(0.5 * (rho + rho.conj().T)) if spectrum is None
                else spectrum)[::-1]
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
    return spectral_entropy(np.linalg.eigvalsh(np.asarray(rho)))


def spectral_entropy(p: NDArray[np.float64]) -> float:
    """-sum p ln p over the eigenvalues ``p`` above 1e-15 (nats)."""
    p = p[p > 1e-15]
    return float(-np.sum(p * np.log(p)))


def _partial(rho: NDArray[Any], dims: tuple[int, ...], keep: tuple[int, ...]
             ) -> NDArray[Any]:
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


class Reductions:
    """The reduced states of one density matrix on a product space and their spectra,
    each computed once: an engine's output asks for the same ones several times
    (occupations, ergotropies, figures, entropies, correlations).

    From the packed form M (:meth:`packed`) the reduced states are traced from M
    (real, and Tr_B M^T = (Tr_B M)^T, so they are the packed reduced states) and the
    full rho is unpacked only if asked for (:attr:`rho`): at D = 1152 unpacking took
    7 ms per output.

    Args:
        rho: the density matrix (D x D).
        dims: each factor's dimension.
    """

    def __init__(self, rho: NDArray[np.complex128] | None, dims: Sequence[int], *,
                 packed: NDArray[np.float64] | None = None) -> None:
        self._rho = rho
        self._packed = packed
        self.dims = tuple(int(d) for d in dims)
        self._states: dict[tuple[int, ...], NDArray[np.complex128]] = {}
        self._spectra: dict[tuple[int, ...], NDArray[np.float64]] = {}

    @classmethod
    def of(cls, rho: NDArray[np.complex128] | Reductions, dims: Sequence[int]) -> Reductions:
        """``rho``'s reductions (itself if it is one already)."""
        return rho if isinstance(rho, Reductions) else cls(rho, dims)

    @classmethod
    def packed(cls, m: NDArray[np.float64], dims: Sequence[int]) -> Reductions:
        """The reductions of the state whose packed form is ``m`` (:func:`pack_hermitian`;
        read during this object's use, not copied)."""
        return cls(None, dims, packed=m)

    @property
    def rho(self) -> NDArray[np.complex128]:
        """The full density matrix (unpacked on first use)."""
        if self._rho is None:
            assert self._packed is not None
            self._rho = unpack_hermitian(self._packed)
        return self._rho

    def state(self, keep: tuple[int, ...]) -> NDArray[np.complex128]:
        """The reduced density matrix of the factors ``keep`` (in that order)."""
        if keep not in self._states:
            if self._packed is not None:
                self._states[keep] = unpack_hermitian(_partial(self._packed, self.dims, keep))
            else:
                self._states[keep] = _partial(self.rho, self.dims, keep)
        return self._states[keep]

    def expect(self, op: Any) -> complex:
        """tr(op rho) for a COO matrix ``op`` (``data``, ``row``, ``col``), in O(nnz)."""
        return complex(self.expectations([op])[0])

    def expectations(self, ops: Sequence[Any]) -> NDArray[np.complex128]:
        """tr(op rho) for each COO matrix of ``ops`` (from the packed M: one gather)."""
        if self._packed is None:
            return np.array([trace_with(op, self.rho) for op in ops], dtype=complex)
        return PackedTrace(ops, self._packed.shape[0])(self._packed)

    def spectrum(self, keep: tuple[int, ...]) -> NDArray[np.float64]:
        """The eigenvalues (ascending) of :meth:`state` ``(keep)``'s Hermitian part."""
        if keep not in self._spectra:
            r = self.state(keep)
            self._spectra[keep] = np.asarray(np.linalg.eigvalsh(0.5 * (r + r.conj().T)),
                                             dtype=float)
        return self._spectra[keep]

    def entropy(self, keep: tuple[int, ...]) -> float:
        """S of the reduced state of ``keep`` (nats)."""
        return spectral_entropy(self.spectrum(keep))


def trace_with(op: Any, rho: NDArray[np.complex128]) -> complex:
    """tr(op rho) = sum_jk op_jk rho_kj for a COO matrix ``op``, in O(nnz)."""
    return complex(np.sum(op.data * rho[op.col, op.row]))


class PackedTrace:
    """tr(op_k rho) for a fixed list of COO operators, read from the packed M of rho
    (:func:`pack_hermitian`) as one gather and one product: entry (c, r) of rho is
    ((1 + i) M[c, r] + (1 - i) M[r, c])/2, so tr(op rho) = sum op_rc rho_cr is a weighted
    sum of entries of M.ravel()."""

    def __init__(self, ops: Sequence[Any], dim: int) -> None:
        idx = [np.zeros(0, dtype=np.int64)]
        rows: list[int] = []
        weights: list[NDArray[np.complex128]] = []
        for k, op in enumerate(ops):
            r, c = op.row.astype(np.int64), op.col.astype(np.int64)
            idx += [c * dim + r, r * dim + c]
            weights += [0.5 * (1 + 1j) * op.data, 0.5 * (1 - 1j) * op.data]
            rows += [k] * (2 * op.nnz)
        self.flat = np.concatenate(idx)
        self.weights = np.zeros((len(ops), self.flat.size), dtype=complex)
        if rows:
            self.weights[rows, np.arange(self.flat.size)] = np.concatenate(weights)

    def __call__(self, m: NDArray[np.float64]) -> NDArray[np.complex128]:
        """tr(op_k rho) for each operator, from the packed ``m``."""
        return np.asarray(self.weights @ m.ravel()[self.flat])


def pack_hermitian(rho: NDArray[np.complex128]) -> NDArray[np.float64]:
    """M = Re rho + Im rho for a Hermitian rho: the real matrix the density-matrix
    engines store (:mod:`qbattery.hilbert.lindblad`)."""
    return np.asarray(rho.real + rho.imag)


def unpack_hermitian(m: NDArray[np.float64]) -> NDArray[np.complex128]:
    """rho = (M + M^T)/2 + i (M - M^T)/2, the Hermitian matrix that M packs."""
    out = np.empty(m.shape, dtype=complex)
    np.add(m, m.T, out=out.real)
    np.subtract(m, m.T, out=out.imag)
    out *= 0.5
    return out


def mutual_information(rho: ArrayLike, dims: tuple[int, ...], i: int, j: int) -> float:
    """Quantum mutual information I(i:j) = S_i + S_j - S_ij (nats) of a multipartite state."""
    r = np.asarray(rho, dtype=complex)
    return (von_neumann_entropy(partial_trace(r, dims, (i,)))
            + von_neumann_entropy(partial_trace(r, dims, (j,)))
            - von_neumann_entropy(partial_trace(r, dims, (i, j))))


def logarithmic_negativity(rho: ArrayLike | Reductions, dims: tuple[int, ...], i: int,
                           j: int) -> float:
    """E_N = ln || rho_ij^{T_j} ||_1 of the two-mode reduced state (natural log)."""
    r2 = rho.state((i, j)) if isinstance(rho, Reductions) \
        else partial_trace(np.asarray(rho, dtype=complex), dims, (i, j))
    di, dj = dims[i], dims[j]
    pt = r2.reshape(di, dj, di, dj).transpose(0, 3, 2, 1).reshape(di * dj, di * dj)
    ev = np.linalg.eigvalsh(0.5 * (pt + pt.conj().T))
    return float(np.log(np.sum(np.abs(ev))))


def energy_flows(problem: CompiledModel, times: NDArray[np.float64],
                 occupation: NDArray[np.float64], amplitude: NDArray[np.complex128],
                 pair_coherence: NDArray[np.complex128],
                 anomalous: NDArray[np.complex128] | None = None,
                 measured_heat: NDArray[np.float64] | None = None
                 ) -> dict[str, NDArray[np.float64]]:
    """Power and heat currents, each from its term.

    With E = sum_i omega_i <x_i^dag x_i> (local energy),

        dE/dt = sum_k P_k - sum_baths J_b + sum_c P_c,

    where P_k is the power drive k injects (rotating drive: -2 omega_x F_k
    Im(e^{i delta_k t} <x>), <x> in the rotating frame), J_b the heat into
    dissipator b, -sum_i omega_i Tr(x_i^dag x_i D_b(rho)) (thermal bath: gamma omega
    (<x^dag x> - N <[x, x^dag]>); correlated bath: from the cross moments of its
    modes; dephasing: 0) and P_c
    the energy coupling c adds to the local energies (exchange: -2 g (omega_x -
    omega_y) Im <y^dag x>, zero between resonant modes; dipole: also
    -2 g (omega_x + omega_y) Im <x y>_lab, see :mod:`qbattery.terms.couplings`).
    Linear drive: P = -4 omega_x F cos(omega_f t + phi) Im <x>_lab.

    Args:
        problem: the compiled model.
        times: output times.
        occupation: (modes, times) <x^dag x>.
        amplitude: (modes, times) <x> in the frame of ``problem.frame_frequency``.
        pair_coherence: (pairs, times) <x_j^dag x_i> for each pair (i, j) of
            :attr:`CompiledModel.pairs` (the couplings', then the dissipators').
        anomalous: (pairs, times) <x_i x_j> (rotating frame) for each pair of
            :attr:`CompiledModel.anomalous_pairs` (None when there is none).
        measured_heat: (dissipators, times) the engine's heat for the dissipators whose
            heat is measured on the state (``moment_heat`` False: Bloch-Redfield baths).

    Returns:
        ``drive_power`` (drives, times), ``heat`` (dissipators, times),
        ``coupling_power`` (couplings, times).
    """
    freq = problem.frequencies
    drive = np.zeros((len(problem.drives), times.size))
    for k, d in enumerate(problem.drives):
        drive[k] = d.power(freq[d.mode], amplitude[d.mode], times, problem.frame_frequency)
    heat = np.zeros((len(problem.dissipators), times.size))
    kinds = [m.kind for m in problem.modes]
    start = len(problem.couplings)
    for k, b in enumerate(problem.dissipators):
        stop = start + len(b.pairs())
        if not b.moment_heat:
            if measured_heat is None:
                raise ValueError(f"{b.describe()}: the engine did not measure its heat")
            heat[k] = measured_heat[k]
        else:
            heat[k] = b.heat_current(freq, kinds, occupation, pair_coherence[start:stop])
        start = stop
    coupling = np.zeros((len(problem.couplings), times.size))
    anom = problem.coupling_anomalous(anomalous, times.size)
    for cls, idx in _by_class(problem.couplings).items():
        rows = None if anom is None else anom[idx]
        coupling[idx] = cls.powers([problem.couplings[k] for k in idx], freq,
                                   pair_coherence[idx], times, anomalous=rows,
                                   frame=problem.frame_frequency)
    return {"drive_power": drive, "heat": heat, "coupling_power": coupling}


def interaction_energy(problem: CompiledModel, times: NDArray[np.float64],
                       pair_coherence: NDArray[np.complex128],
                       anomalous: NDArray[np.complex128] | None) -> NDArray[np.float64]:
    """sum_c <H_c>(t): the energy in the couplings, which the local energies omit
    (total energy = sum of local energies + this; exchange: 2 g Re <y^dag x>;
    dipole: 2 g Re(<x y>_lab + <y^dag x>)). Arguments as :func:`energy_flows`."""
    anom = problem.coupling_anomalous(anomalous, times.size)
    out = np.zeros(times.size)
    for k, c in enumerate(problem.couplings):
        out += c.interaction_energy(pair_coherence[k], times,
                                    anomalous=None if anom is None else anom[k],
                                    frame=problem.frame_frequency)
    return out


def _by_class(terms: Sequence[CouplingTerm]) -> dict[type[CouplingTerm], list[int]]:
    """Indices of ``terms`` grouped by their class (each class computes its flows at once)."""
    out: dict[type[CouplingTerm], list[int]] = {}
    for k, t in enumerate(terms):
        out.setdefault(type(t), []).append(k)
    return out
