r"""Exact Gaussian dynamics beyond the rotating-wave approximation, in quadratures.

The phase-covariant picture of :mod:`qbattery.terms.linear` has no anomalous moments
<da_i da_j>; counter-rotating couplings (:class:`~qbattery.terms.couplings.Dipole`) and
linear drives (:class:`~qbattery.terms.drives.LinearDrive`) create them. Here the
state is the lab-frame means r = (x_1..x_n, p_1..p_n), x = (a + a^dag)/sqrt2,
p = i(a^dag - a)/sqrt2, and the symmetrised covariance V_kl = <{dr_k, dr_l}>/2
(vacuum: V = I/2). Every term provides its blocks (:meth:`Term.quadrature_blocks`):
a quadratic Hamiltonian H = r^T H_q r / 2 + h(t)^T r (modes: omega on x_i and p_i),
the non-Hamiltonian drift A_d of the amplitudes and the normally ordered diffusion D_C
of its dissipators. With J = [[0, I], [-I, 0]], xi = (a, a^dag) = T^{-1} r,
T = [[I, I], [-iI, iI]]/sqrt2,

    dr/dt = M r + sum_nu exp(-i nu t) f_nu,          f_nu = J h_nu,
    dV/dt = M V + V M^T + D,

    M = J H_q + T diag(A_d, A_d^*) T^{-1},
    D = T [[0, D_s], [D_s^T, 0]] T^T,   D_s = D_C - (A_d + A_d^dag)/2,

(D_s: the diffusion of the symmetrised moment C + I/2). In the lab frame the drift is
constant (no envelope, or piecewise-constant ones: cut at their breakpoints) and the
forcing is a sum of sinusoids, so both are propagated exactly with the augmented and
Van Loan matrix exponentials of :func:`~qbattery.terms.linear.first_moments` and
:func:`~qbattery.terms.linear.covariance`, no ODE stepping.

Back to the complex moments (W = T^{-1} V T^{-T} = [[M_a, C + I/2], [C^T + I/2, M_a^*]]):
the normally ordered covariance C_ij = <da_j^dag da_i> and the anomalous one
M_a,ij = <da_i da_j>; in the frame rotating at omega_r, <a> = e^{i omega_r t} <a>_lab
and M_a = e^{2 i omega_r t} M_a,lab (C is the same in both frames).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from .compiled import CompiledModel
from .linear import covariance, first_moments

__all__ = ["QuadratureMoments", "QuadratureSystem", "complex_moments", "ground_covariance",
           "propagate_quadrature",
           "quadrature_matrices", "quadrature_reason", "quadrature_system"]


def quadrature_reason(problem: CompiledModel) -> str | None:
    """None if the quadrature equations hold the model exactly, else why not."""
    modes = [m.describe() for m in problem.modes if not m.kind.gaussian]
    terms = problem.lacking("quadrature")
    parts = []
    if modes:
        parts.append("every mode must be an oscillator; not: " + ", ".join(modes))
    if terms:
        parts.append("every term must have quadrature blocks; not: " + ", ".join(terms))
    return "; ".join(parts) or None


def _transform(n: int) -> NDArray[np.complex128]:
    """T with r = T xi, xi = (a, a^dag)."""
    eye = np.eye(n)
    return np.block([[eye, eye], [-1j * eye, 1j * eye]]) / np.sqrt(2.0)


def _symplectic(n: int) -> NDArray[np.float64]:
    eye, zero = np.eye(n), np.zeros((n, n))
    return np.block([[zero, eye], [-eye, zero]])


@dataclass(frozen=True, eq=False)
class QuadratureSystem:
    """The lab-frame quadrature equations of a model (see the module doc).

    Attributes:
        drift: (2n, 2n) real M.
        diffusion: (2n, 2n) real symmetric D.
        forcing: f_nu keyed by nu (lab-frame angular frequency).
        hamiltonian: (2n, 2n) real symmetric H_q (frame-free; normal modes).
    """

    drift: NDArray[np.float64]
    diffusion: NDArray[np.float64]
    forcing: dict[float, NDArray[np.complex128]]
    hamiltonian: NDArray[np.float64]


def quadrature_matrices(problem: CompiledModel) -> tuple[
        NDArray[np.float64], NDArray[np.complex128], NDArray[np.complex128],
        dict[float, NDArray[np.complex128]]]:
    """(H_q, A_d, D_C, {nu: h_nu}) assembled from the modes and the terms' blocks."""
    n = len(problem.modes)
    hq = np.zeros((2 * n, 2 * n))
    hq[np.arange(2 * n), np.arange(2 * n)] = np.tile(problem.frequencies, 2)
    ad = np.zeros((n, n), dtype=complex)
    dc = np.zeros((n, n), dtype=complex)
    forcing: dict[float, NDArray[np.complex128]] = {}
    for term in problem.terms():
        blocks = term.quadrature_blocks(n)
        for row, col, h in blocks.hamiltonian:
            hq[row, col] += h
            if row != col:
                hq[col, row] += h
        for row, col, v in blocks.drift:
            ad[row, col] += v
        for row, col, v in blocks.noise:
            dc[row, col] += v
        for nu, h_nu in blocks.forcing:
            forcing[nu] = forcing[nu] + h_nu if nu in forcing else np.asarray(h_nu, complex)
    return hq, ad, dc, forcing


def quadrature_system(problem: CompiledModel) -> QuadratureSystem:
    """M, D and f_nu of ``problem`` (see the module doc)."""
    n = len(problem.modes)
    hq, ad, dc, forcing = quadrature_matrices(problem)
    J, T = _symplectic(n), _transform(n)
    Ti = np.linalg.inv(T)
    zero = np.zeros((n, n))
    xi_drift = np.block([[ad, zero], [zero, ad.conj()]])
    ds = dc - 0.5 * (ad + ad.conj().T)
    xi_noise = np.block([[zero, ds], [ds.T, zero]])
    drift = J @ hq + np.real(T @ xi_drift @ Ti)
    diffusion = np.real(T @ xi_noise @ T.T)
    return QuadratureSystem(drift, 0.5 * (diffusion + diffusion.T),
                            {nu: J @ h for nu, h in forcing.items()}, hq)


def to_quadratures(alpha: NDArray[np.complex128], cov: NDArray[np.complex128],
                   anomalous: NDArray[np.complex128]
                   ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(r, V) from lab-frame <a>, C_ij = <da_j^dag da_i> and M_a,ij = <da_i da_j>."""
    n = alpha.size
    T = _transform(n)
    half = cov + 0.5 * np.eye(n)
    w = np.block([[anomalous, half], [half.T, anomalous.conj()]])
    v = np.real(T @ w @ T.T)
    r = np.concatenate([np.sqrt(2.0) * alpha.real, np.sqrt(2.0) * alpha.imag])
    return r, 0.5 * (v + v.T)


def complex_moments(r: NDArray[np.float64], v: NDArray[np.float64]
                    ) -> tuple[NDArray[np.complex128], NDArray[np.complex128],
                               NDArray[np.complex128]]:
    """(<a>, C, M_a) from (r, V), lab frame; ``r`` (2n, times), ``v`` (times, 2n, 2n):
    <a> (n, times), C and M_a (times, n, n)."""
    n = r.shape[0] // 2
    Ti = np.linalg.inv(_transform(n))
    w = np.einsum("ik,tkl,jl->tij", Ti, v, Ti)
    alpha = (r[:n] + 1j * r[n:]) / np.sqrt(2.0)
    return alpha, w[:, :n, n:] - 0.5 * np.eye(n), w[:, :n, :n]


@dataclass(frozen=True, eq=False)
class QuadratureMoments:
    """Lab-frame moments at the output times: r (2n, times) and V (times, 2n, 2n)."""

    means: NDArray[np.float64]
    covariance: NDArray[np.float64]


def _static(problem: CompiledModel, times: NDArray[np.float64], r0: NDArray[np.float64],
            v0: NDArray[np.float64], t0: float) -> QuadratureMoments:
    system = quadrature_system(problem)
    _check_stable(system.drift, t0)
    r = first_moments(system.drift.astype(complex), system.forcing, r0.astype(complex),
                      times, t0)
    v = covariance(system.drift.astype(complex), system.diffusion.astype(complex),
                   v0.astype(complex), times, t0)
    return QuadratureMoments(np.real(r), np.real(v))


def _check_stable(drift: NDArray[np.float64], t0: float) -> None:
    """Refuse a network whose motion grows exponentially (a drift eigenvalue with a
    positive real part: couplings too strong for the frequencies and the damping), naming
    the growth rate, before its moments overflow."""
    ev = np.linalg.eigvals(drift)
    growth = float(ev.real.max()) if ev.size else 0.0
    if growth > 1e-9 * max(1.0, float(np.abs(ev).max())):
        raise ModelError("couplings", f"the network is unstable from t = {t0:g}: its moments "
                         f"grow like exp({growth:.4g} t) (the dipole couplings are too strong "
                         "for the mode frequencies and the damping, e.g. 2g > omega for two "
                         "equal modes; see qbattery modes)")


def propagate_quadrature(problem: CompiledModel, times: NDArray[np.float64],
                         r0: NDArray[np.float64], v0: NDArray[np.float64], *,
                         t0: float = 0.0) -> QuadratureMoments:
    """Lab-frame (r, V) at ``times`` from (r0, V0) at ``t0``, exactly; cut at the
    envelopes' breakpoints, each segment with its constant model
    (:meth:`CompiledModel.frozen`; a smoothly varying envelope has no quadrature blocks
    and is refused before this, :func:`quadrature_reason`)."""
    n2 = r0.size
    means = np.zeros((n2, times.size))
    cov = np.zeros((times.size, n2, n2))
    r, v = np.asarray(r0, float), np.asarray(v0, float)
    edges = [t0, *problem.breakpoints(t0, float(times[-1])), float(times[-1])]
    for a, b in itertools.pairwise(edges):
        frozen = problem.frozen(a, b)
        if frozen is None:
            raise ValueError("an envelope varies between breakpoints (see quadrature_reason)")
        pick = (times > a) if a > t0 else (times >= a)
        idx = np.flatnonzero(pick & (times <= b))
        ev = times[idx] if idx.size and times[idx[-1]] == b else np.append(times[idx], b)
        part = _static(frozen, ev, r, v, a)
        k = idx.size
        means[:, idx], cov[idx] = part.means[:, :k], part.covariance[:k]
        r, v = part.means[:, -1], part.covariance[-1]
    return QuadratureMoments(means, cov)


def ground_covariance(hamiltonian: NDArray[np.float64]) -> NDArray[np.float64]:
    """The ground state's V of H = r^T H_q r / 2 (H_q positive definite):

        V = H_q^{-1/2} (H_q^{1/2} J H_q J^T H_q^{1/2})^{1/2} H_q^{-1/2} / 2

    (one mode, H_q = diag(k, m): V = diag(sqrt(m/k), sqrt(k/m))/2). Beyond the RWA the
    coupled ground state is not the vacuum: <a_i^dag a_i> = (V_xx + V_pp - 1)/2 > 0."""
    n = hamiltonian.shape[0] // 2
    J = _symplectic(n)
    w, u = np.linalg.eigh(hamiltonian)
    if w[0] <= 0:
        raise ValueError(f"H_q is not positive definite (eigenvalue {w[0]:.6g})")
    half = (u * np.sqrt(w)) @ u.T
    inv_half = (u / np.sqrt(w)) @ u.T
    inner = half @ J @ hamiltonian @ J.T @ half
    wi, ui = np.linalg.eigh(0.5 * (inner + inner.T))
    root = (ui * np.sqrt(np.clip(wi, 0.0, None))) @ ui.T
    v = 0.5 * inv_half @ root @ inv_half
    return np.asarray(0.5 * (v + v.T))
