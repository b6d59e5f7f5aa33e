r"""Figures of merit of quantum batteries, as pure functions of numbers.

Units: hbar = 1, energies in units of omega, time in 1/omega. A mode's local
Hamiltonian is H = omega x^dag x with levels eps_k = omega k (qubit: 0, omega).

* Ergotropy W(rho, H) = tr(rho H) - sum_k r_k^desc eps_k^asc (r the spectrum of rho).
* Incoherent ergotropy W_inc = W(Delta_H rho, H), Delta_H removing the coherences
  in H's eigenbasis: the spectrum of Delta_H rho is the energy distribution p_k,
  so W_inc = tr(rho H) - sum_k p_k^desc eps_k^asc. Coherent ergotropy
  W_coh = W - W_inc >= 0 (Francica et al., PRL 125, 180603 (2020)).
* Energy variance Var(H) = omega^2 (<n^2> - <n>^2).
* Capacity C = sum_k eps_k^asc (r_k^asc - r_k^desc) (Yang et al., PRL 131, 030402
  (2023)), finite-level modes only (unbounded for an oscillator).

Single-mode Gaussian states (:func:`gaussian_local_figures`) are described by
alpha = <a>, n = <da^dag da>, m = <da da>; their Fock distribution is computed
from the moments (Laguerre recursion for m = 0, exact characteristic function
and an FFT for m != 0), never from a density matrix. Several modes together:
:func:`collective_ergotropy` (Gaussian moments) and
:func:`collective_ergotropy_density` (density matrix).
"""

from __future__ import annotations

import functools
import heapq
import math
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import eigh_tridiagonal

__all__ = [
    "DIST_TOL",
    "capacity",
    "collective_ergotropy",
    "collective_ergotropy_density",
    "displaced_distribution",
    "ergotropy",
    "fock_figures",
    "gaussian_distribution",
    "gaussian_energy_variance",
    "gaussian_local_figures",
    "local_figures",
    "lowest_energies",
    "passive_energy",
]

#: Largest probability mass a truncated photon-number distribution may drop.
DIST_TOL = 1e-13

Array = NDArray[np.float64]


def passive_energy(spectrum: ArrayLike, energies: ArrayLike) -> float:
    """sum_k r_k^desc eps_k^asc: energy of the passive state with spectrum ``spectrum``.

    The shorter list is padded with zero probabilities (extra levels are empty).
    """
    r = np.sort(np.asarray(spectrum, dtype=float))[::-1]
    e = np.sort(np.asarray(energies, dtype=float))
    k = min(r.size, e.size)
    return float(r[:k] @ e[:k])


def ergotropy(rho: ArrayLike, energies: ArrayLike) -> float:
    """W = tr(rho H) - sum_k r_k^desc eps_k^asc for rho in the eigenbasis of H = diag(energies)."""
    r = np.asarray(rho)
    e = np.asarray(energies, dtype=float)
    spectrum = np.linalg.eigvalsh(0.5 * (r + r.conj().T))
    return float(np.real(np.diagonal(r)) @ e) - passive_energy(spectrum, e)


def capacity(spectrum: ArrayLike, energies: ArrayLike) -> float:
    """C = sum_k eps_k^asc (r_k^asc - r_k^desc) of a finite-level state (units of the energies)."""
    r = np.sort(np.asarray(spectrum, dtype=float))
    e = np.sort(np.asarray(energies, dtype=float))
    if r.size != e.size:
        raise ValueError(f"capacity: {r.size} eigenvalues for {e.size} levels")
    return float(e @ (r - r[::-1]))


def fock_figures(p: ArrayLike, energies: ArrayLike, total_ergotropy: float) -> dict[str, float]:
    """Incoherent/coherent ergotropy and energy variance from the energy distribution.

    Args:
        p: populations p_k of the levels ``energies`` (the diagonal of rho).
        energies: eps_k.
        total_ergotropy: W of the same state (its spectrum is not needed here).

    Returns:
        ``incoherent_ergotropy`` = sum p eps - sum p^desc eps^asc, ``coherent_ergotropy``
        = W - W_inc, ``energy_variance`` = sum p eps^2 - (sum p eps)^2.
    """
    q = np.clip(np.asarray(p, dtype=float), 0.0, None)
    e = np.asarray(energies, dtype=float)
    mean = float(q @ e)
    w_inc = max(0.0, mean - passive_energy(q, e))
    return {"incoherent_ergotropy": w_inc,
            "coherent_ergotropy": max(0.0, total_ergotropy - w_inc),
            "energy_variance": max(0.0, float(q @ e**2) - mean**2)}


def local_figures(rho: ArrayLike, energies: ArrayLike, *, finite: bool = False
                  ) -> dict[str, float]:
    """All figures of one mode's reduced state ``rho`` in its energy (Fock) basis.

    Returns ``energy``, ``ergotropy``, ``incoherent_ergotropy``, ``coherent_ergotropy``,
    ``energy_variance`` and, when ``finite`` (a qubit, a spin: not an oscillator
    truncated for numerics), ``capacity``.
    """
    r = np.asarray(rho)
    e = np.asarray(energies, dtype=float)
    w = ergotropy(r, e)
    p = np.real(np.diagonal(r))
    out = {"energy": float(p @ e), "ergotropy": w, **fock_figures(p, e, w)}
    if finite:
        out["capacity"] = capacity(np.linalg.eigvalsh(0.5 * (r + r.conj().T)), e)
    return out


@functools.lru_cache(maxsize=16)
def _position_eigensystem(size: int) -> tuple[Array, Array]:
    """Eigenvalues and (real) eigenvectors of x = (a + a^dag)/sqrt(2) on ``size`` levels."""
    lam, vec = eigh_tridiagonal(np.zeros(size), np.sqrt(np.arange(1.0, size) / 2))
    return lam, vec


def displaced_distribution(rho_frame: NDArray[Any], alpha: complex) -> Array:
    """Fock distribution p_n = <n| D(alpha) rho' D(alpha)^dag |n> of a displaced-frame state.

    D(alpha) = e^{i psi n} exp(-i sqrt(2) |alpha| x) e^{-i psi n}, psi = arg(alpha) + pi/2,
    x = (a + a^dag)/sqrt(2); the phases on the left cancel in p, those on the right multiply
    rho'_jk by e^{-i psi (j - k)}, and the exponential comes from the eigensystem of the
    tridiagonal x (cached per size) on a space padded by 40 + |alpha|^2 + 10|alpha| levels (as
    :func:`qbattery.hilbert.displaced_thermal`), rounded up to a multiple of 32.
    """
    r = np.asarray(rho_frame)
    d = r.shape[0]
    if alpha == 0:
        return np.clip(np.real(np.diagonal(r)), 0.0, None)
    big = d + 40 + math.ceil(abs(alpha) ** 2 + 10 * abs(alpha))
    big = 32 * math.ceil(big / 32)
    lam, vec = _position_eigensystem(big)
    phase = np.exp(-1j * (np.angle(alpha) + np.pi / 2) * np.arange(d))
    rt = phase[:, None] * r * phase.conj()[None, :]
    cols = (vec * np.exp(-1j * math.sqrt(2) * abs(alpha) * lam)) @ vec[:d].T  # (big, d)
    p = np.real(np.sum((cols @ rt) * cols.conj(), axis=1))
    return np.asarray(np.clip(p, 0.0, None))


def displaced_thermal_distribution(alpha: ArrayLike, n: ArrayLike, *,
                                   tol: float = DIST_TOL) -> Array:
    r"""p_k of displaced thermal states (rows: states), k = 0 .. K-1 with dropped mass <= tol.

    p_k = n^k/(1+n)^{k+1} e^{-|alpha|^2/(1+n)} L_k(-|alpha|^2/(n(1+n))) (BEYOND.md), by the
    Laguerre three-term recursion written for p itself,

        p_{k+1} = [((2k+1) r + s) p_k - k r^2 p_{k-1}] / (k+1),  r = n/(1+n), s = |alpha|^2/(1+n)^2,

    which is the Poisson recursion at n = 0 and the thermal one at alpha = 0, and is
    stable forward (L_k(x < 0) is the dominant solution). Run on log-scaled values
    (no underflow of p_0 = e^{-|alpha|^2/(1+n)}/(1+n) for large amplitudes).
    """
    a2 = np.abs(np.atleast_1d(np.asarray(alpha))) ** 2
    nb = np.broadcast_to(np.atleast_1d(np.asarray(n, dtype=float)), a2.shape).astype(float)
    r, s = nb / (1 + nb), a2 / (1 + nb) ** 2
    log0 = -a2 / (1 + nb) - np.log1p(nb)
    _, _, _, mean, half = _moments(alpha, n, 0.0)
    kmax = int(np.max(mean + half)) + 40
    logs = np.zeros(a2.shape)
    prev, cur = np.zeros(a2.shape), np.ones(a2.shape)
    rows = [np.exp(log0)]
    total = rows[0].copy()
    for k in range(kmax):
        prev, cur = cur, (((2 * k + 1) * r + s) * cur - k * r**2 * prev) / (k + 1)
        big = cur > 1e200
        if np.any(big):
            prev[big] *= 1e-200
            cur[big] *= 1e-200
            logs[big] += 200 * math.log(10)
        with np.errstate(divide="ignore"):
            row = np.exp(np.log(np.maximum(cur, 0.0)) + logs + log0)
        rows.append(row)
        total += row
        if k + 1 > np.max(mean) and np.all(1.0 - total <= tol):
            break
    return np.asarray(np.stack(rows, axis=-1))


def _char_function(alpha: NDArray[np.complex128], n: Array, m: NDArray[np.complex128],
                   theta: Array) -> NDArray[np.complex128]:
    r"""chi(theta) = tr(rho e^{i theta a^dag a}) of single-mode Gaussian states (rows).

    With the Weyl symbol of tau^{n}, (2/(1+tau)) exp(-((1-tau)/(1+tau))(q^2+p^2)), and the
    Wigner function of mean d and covariance V (vacuum V = I/2):
    chi = 2 det(M)^{-1/2} exp(-(1-tau) d^T M^{-1} d), M = (1+tau) I + 2 (1-tau) V.
    det M = C (1 - u_1 tau)(1 - u_2 tau) with |u_i| < 1 for a state, so the square
    root is taken factor by factor on principal branches (continuous on |tau| = 1).
    """
    a, nn, mm = (x[:, None] for x in (alpha, n, m))
    d = np.sqrt(2) * np.stack([a.real, a.imag])
    vqq = nn + 0.5 + mm.real
    vpp = nn + 0.5 - mm.real
    vqp = mm.imag
    tau = np.exp(1j * theta)[None, :]
    one_minus = -np.expm1(1j * theta)[None, :]  # 1 - tau without cancellation at small theta
    s, det = vqq + vpp, vqq * vpp - vqp**2
    c0, c1, c2 = 1 + 2 * s + 4 * det, 2 - 8 * det, 1 - 2 * s + 4 * det
    b, q = c1 / c0, c2 / c0
    disc = np.sqrt((b**2 - 4 * q).astype(complex))
    u1, u2 = (-b + disc) / 2, (-b - disc) / 2
    sqrt_det = np.sqrt(c0) * np.exp(0.5 * (np.log(1 - u1 * tau) + np.log(1 - u2 * tau)))
    m11 = (1 + tau) + 2 * one_minus * vqq
    m22 = (1 + tau) + 2 * one_minus * vpp
    m12 = 2 * one_minus * vqp
    quad = (d[0] ** 2 * m22 - 2 * d[0] * d[1] * m12 + d[1] ** 2 * m11) / (m11 * m22 - m12**2)
    return np.asarray(2.0 / sqrt_det * np.exp(-one_minus * quad))


#: Largest number of levels the Laguerre recursion runs through (beyond: windowed FFT).
RECURSION_LEVELS = 4096
#: Largest work array (rows x levels) of the FFT, in elements (rows are done in chunks).
FFT_ELEMENTS = 2**22


def _moments(alpha: ArrayLike, n: ArrayLike, m: ArrayLike
             ) -> tuple[NDArray[np.complex128], Array, NDArray[np.complex128], Array, Array]:
    """(alpha, n, m) as flat arrays, the mean photon number and the half-width of a window
    holding all but ~1e-14 of the mass: 12 std (Gaussian core) + 32 (n + |m| + 1) (the
    geometric tail of thermal / squeezed fluctuations, e^-32)."""
    a = np.atleast_1d(np.asarray(alpha, dtype=complex)).ravel()
    nb = np.broadcast_to(np.asarray(n, dtype=float), a.shape).astype(float)
    mm = np.broadcast_to(np.asarray(m, dtype=complex), a.shape).astype(complex)
    a2 = np.abs(a) ** 2
    var = nb * (nb + 1) + np.abs(mm) ** 2 + a2 * (2 * nb + 1) + 2 * np.real(np.conj(a) ** 2 * mm)
    half = 12 * np.sqrt(np.maximum(var, 0.0)) + 32 * (nb + np.abs(mm) + 1)
    return a, nb, mm, a2 + nb, half


def gaussian_distribution(alpha: ArrayLike, n: ArrayLike, m: ArrayLike = 0.0, *,
                          tol: float = DIST_TOL) -> tuple[Array, NDArray[np.int_]]:
    """Photon-number distribution of single-mode Gaussian states (rows), any m = <da da>.

    Returns (p, offset): p[r, j] = P(n = offset[r] + j) on a window that holds all but
    <= ``tol`` of the mass. Small means with m = 0: :func:`displaced_thermal_distribution`
    (offset 0). Otherwise an FFT of the exact characteristic function (:func:`_char_function`):
    p_{k0+j} = (1/K) sum_l chi(theta_l) e^{-i theta_l (k0+j)}, theta_l = 2 pi l/K, on the
    window [k0, k0 + K) = mean -+ (12 std + 32 (n + |m| + 1)) (+ 64 levels); the aliasing
    error is the mass outside the window (~1e-14), rounding ~1e-16 per entry.
    """
    a, nb, mm, mean, half = _moments(alpha, n, m)
    if not np.any(mm) and float(np.max(mean + half)) + 40 <= RECURSION_LEVELS:
        p = displaced_thermal_distribution(a, nb, tol=tol)
        return p, np.zeros(a.size, dtype=int)
    offset = np.maximum(0, np.floor(mean - half)).astype(int)
    size = int(np.max(mean + half - offset)) + 64
    size += 1 - size % 2  # odd: theta = pi is not on the grid
    theta = 2 * np.pi * np.arange(size) / size
    p = np.zeros((a.size, size))
    rows = max(1, FFT_ELEMENTS // size)
    for lo in range(0, a.size, rows):
        sl = slice(lo, lo + rows)
        chi = _char_function(a[sl], nb[sl], mm[sl], theta)
        chi *= np.exp(-1j * np.outer(offset[sl], theta))
        p[sl] = np.clip(np.real(np.fft.fft(chi, axis=-1)) / size, 0.0, None)
    return p, offset


def passive_levels(p: Array) -> Array:
    """sum_j j p_j^desc per row: the passive state's mean level (offsets do not matter)."""
    rows = np.sort(p, axis=-1)[..., ::-1]
    return np.asarray(rows @ np.arange(p.shape[-1], dtype=float))


def gaussian_energy_variance(frequency: ArrayLike, alpha: ArrayLike, n: ArrayLike,
                             m: ArrayLike = 0.0) -> Array:
    """Var(H) = omega^2 [n(n+1) + |m|^2 + |alpha|^2 (2n+1) + 2 Re(alpha*^2 m)] (Wick's theorem)."""
    w = np.asarray(frequency, dtype=float)
    a = np.asarray(alpha)
    nb = np.asarray(n, dtype=float)
    mm = np.asarray(m)
    var = (nb * (nb + 1) + np.abs(mm) ** 2 + np.abs(a) ** 2 * (2 * nb + 1)
           + 2 * np.real(np.conj(a) ** 2 * mm))
    return np.asarray(w**2 * var, dtype=float)


def gaussian_local_figures(frequency: ArrayLike, alpha: ArrayLike, n: ArrayLike,
                           m: ArrayLike = 0.0, *, tol: float = DIST_TOL) -> dict[str, Array]:
    """Figures of single-mode Gaussian states from their moments, vectorised over states.

    W = omega (|alpha|^2 + n - nu + 1/2), nu = sqrt((n + 1/2)^2 - |m|^2);
    W_inc = E - omega sum_j j p_j^desc with p the photon-number distribution
    (:func:`gaussian_distribution`, dropped mass <= ``tol``; only the sorted values
    matter, so a window away from n = 0 serves), W_coh = W - W_inc;
    Var(H) from :func:`gaussian_energy_variance`. ``frequency`` broadcasts against
    ``alpha``. Units of omega (energies), omega^2 (variance).
    """
    a = np.atleast_1d(np.asarray(alpha, dtype=complex))
    w = np.broadcast_to(np.asarray(frequency, dtype=float), a.shape)
    nb = np.broadcast_to(np.asarray(n, dtype=float), a.shape)
    mm = np.broadcast_to(np.asarray(m, dtype=complex), a.shape)
    energy = w * (np.abs(a) ** 2 + nb)
    nu = np.sqrt(np.maximum((nb + 0.5) ** 2 - np.abs(mm) ** 2, 0.25))
    erg = w * (np.abs(a) ** 2 + nb - nu + 0.5)
    flat = a.ravel(), nb.ravel(), mm.ravel()
    _, _, _, mean, half = _moments(*flat)
    rows = max(1, FFT_ELEMENTS // int(min(np.max(mean + half) + 64, RECURSION_LEVELS)))
    passive = np.zeros(a.size)
    for lo in range(0, a.size, rows):
        sl = slice(lo, lo + rows)
        passive[sl] = passive_levels(gaussian_distribution(*(x[sl] for x in flat), tol=tol)[0])
    w_inc = np.clip(energy - w * passive.reshape(a.shape), 0.0, None)
    return {"energy": energy, "ergotropy": erg,
            "incoherent_ergotropy": np.minimum(w_inc, erg),
            "coherent_ergotropy": np.clip(erg - w_inc, 0.0, None),
            "energy_variance": gaussian_energy_variance(w, a, nb, mm)}


def symplectic_eigenvalues(cov: NDArray[Any], anomalous: NDArray[Any] | None = None) -> Array:
    """nu_k of k modes from C_ij = <da_j^dag da_i> and M_ij = <da_i da_j> (vacuum: nu = 1/2).

    The positive eigenvalues of Z G, G = [[C + I/2, M], [M*, C* + I/2]], Z = diag(I, -I).
    """
    c = np.asarray(cov, dtype=complex)
    k = c.shape[0]
    mm = np.zeros((k, k), complex) if anomalous is None else np.asarray(anomalous, complex)
    g = np.block([[c + 0.5 * np.eye(k), mm], [mm.conj(), c.conj() + 0.5 * np.eye(k)]])
    z = np.concatenate([np.ones(k), -np.ones(k)])
    ev = np.sort(np.linalg.eigvals(z[:, None] * g).real)
    return np.asarray(np.maximum(ev[k:], 0.5))


def lowest_energies(frequencies: ArrayLike, count: int) -> Array:
    """The ``count`` lowest levels sum_i omega_i n_i (n_i >= 0) of independent oscillators."""
    w = np.asarray(frequencies, dtype=float)
    heap: list[tuple[float, tuple[int, ...]]] = [(0.0, (0,) * w.size)]
    seen = {heap[0][1]}
    out: list[float] = []
    while len(out) < count:
        e, occ = heapq.heappop(heap)
        out.append(e)
        for i in range(w.size):
            nxt = (*occ[:i], occ[i] + 1, *occ[i + 1:])
            if nxt not in seen:
                seen.add(nxt)
                heapq.heappush(heap, (e + w[i], nxt))
    return np.asarray(out)


def _thermal_spectrum(nu: Array, tol: float) -> Array:
    """Largest eigenvalues of prod_k thermal(nu_k - 1/2), descending, until mass >= 1 - tol."""
    x = (nu - 0.5) / (nu + 0.5)
    vals = np.ones(1)
    for xk in x:
        if xk <= 0:
            continue
        levels = max(1, math.ceil(math.log(tol / 10) / math.log(xk))) if xk < 1 else 10**6
        one = (1 - xk) * xk ** np.arange(levels)
        vals = np.outer(vals, one).ravel()
        vals = vals[vals > tol * 1e-3]
    vals = np.sort(vals)[::-1]
    return np.asarray(vals[: int(np.searchsorted(np.cumsum(vals), 1 - tol)) + 1])


def collective_ergotropy(frequencies: ArrayLike, alpha: ArrayLike, cov: NDArray[Any],
                         anomalous: NDArray[Any] | None = None, *,
                         tol: float = 1e-12) -> dict[str, float]:
    """Ergotropy of several modes' joint Gaussian state under H = sum_i omega_i n_i.

    Returns:
        ``energy`` E = sum omega_i (|alpha_i|^2 + C_ii);
        ``gaussian_ergotropy``: what Gaussian unitaries extract,
        E - sum_k omega_k^asc (nu_k^desc - 1/2) (Brown, Friis, Huber, NJP 18, 113028 (2016));
        ``ergotropy``: the true ergotropy, E - sum_j lambda_j^desc eps_j^asc, lambda the
        spectrum of rho (a product of thermal distributions with occupations nu_k - 1/2),
        eps the levels of H (:func:`lowest_energies`). Only the largest eigenvalues, of
        total mass >= 1 - ``tol``, are kept; the dropped ones (mass ``dropped_mass``)
        would pair with levels >= ``next_level``, so the reported ergotropy exceeds the
        true one by sum_dropped lambda eps ~ dropped_mass * next_level (>= it).
        Exact theory: ergotropy >= gaussian_ergotropy, equal for pure states.
    """
    w = np.asarray(frequencies, dtype=float)
    a = np.asarray(alpha, dtype=complex)
    c = np.asarray(cov, dtype=complex)
    energy = float(w @ (np.abs(a) ** 2 + np.real(np.diagonal(c))))
    nu = symplectic_eigenvalues(c, anomalous)
    w_g = energy - float(np.sort(w) @ (np.sort(nu)[::-1] - 0.5))
    lam = _thermal_spectrum(nu, tol)
    eps = lowest_energies(w, lam.size + 1)
    dropped = max(0.0, 1.0 - float(lam.sum()))
    w_true = energy - float(lam @ eps[:-1])
    return {"energy": energy, "gaussian_ergotropy": w_g, "ergotropy": w_true,
            "dropped_mass": dropped, "next_level": float(eps[-1])}


def collective_ergotropy_density(rho: ArrayLike, energies: ArrayLike) -> float:
    """W of a joint density matrix in the product energy basis (``energies`` its diagonal of H).

    For truncated oscillators pass the truncated product levels; the passive state is
    paired with the lowest levels of the *truncated* space (see :func:`lowest_energies`
    for the lowest levels of the untruncated one).
    """
    return ergotropy(rho, energies)
