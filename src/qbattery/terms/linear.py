r"""Exact linear (Gaussian) dynamics of a compiled model.

In the frame rotating at omega_r the mean amplitudes alpha_i = <x_i> and the
normally ordered covariance C_ij = <dx_j^dag dx_i> (dx = x - alpha) of a
Gaussian model (:meth:`CompiledModel.gaussian_reason` is None) obey

    d alpha/dt = A alpha + sum_delta exp(-i delta t) b_delta,
    d C/dt     = A C + C A^dag + D,

with A, b_delta and D assembled from the terms (:mod:`qbattery.terms.compiled`).
The solutions are closed forms from a start time t0,

    alpha(t) = sum_delta exp(-i delta t) y_delta(t),   y_0(t0) = alpha(t0), y_delta(t0) = 0,
    y_delta(t) = exp((A + i delta)(t - t0)) y_delta(t0)
                 + int_0^{t-t0} exp((A + i delta) u) du b_delta,
    C(t) = exp(A (t - t0)) C(t0) exp(A^dag (t - t0)) + int_0^{t-t0} exp(A s) D exp(A^dag s) ds,

evaluated without ODE stepping: exact one-step propagators (matrix exponentials
of augmented / Van Loan block matrices, exact for defective A, e.g. gamma = 0
with a resonant drive) built once per distinct time step and applied at each
output time. Absolute times keep detuned drives in phase across segments.

Scale: everything happens in the smallest A-invariant subspace containing the
forcing, the initial amplitudes and the noisy or initially fluctuating modes
(block Arnoldi with exact-breakdown detection): a catalyst with 1000 resonant
cells reduces to dimension <= 4. The reduction is exact.

:func:`twin_bounds` applies this to the Gaussian twin of any model (qubits
replaced by oscillators): the largest amplitudes and fluctuations over a run,
from which the density-matrix engines plan their cutoffs.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray
from scipy.integrate import solve_ivp

from .._threads import blas_threads_for
from ..envelopes import Envelope
from .base import dense_block
from .compiled import CompiledModel

__all__ = ["BREAKDOWN_TOL", "Moments", "TwinBounds", "covariance", "first_moments",
           "invariant_subspace", "noisy", "propagate", "reduced", "twin_bounds"]

#: Relative size below which a new Krylov direction counts as an exact breakdown.
BREAKDOWN_TOL = 1e-12
#: Points of the twin's solution used for cutoff estimates.
TWIN_POINTS = 513


def invariant_subspace(A: sp.csr_matrix | NDArray[np.complex128] | Sequence[Any],
                       starts: list[NDArray[np.complex128]], *,
                       tol: float = BREAKDOWN_TOL) -> NDArray[np.complex128]:
    """Orthonormal basis of the smallest A-invariant subspace containing ``starts``
    (invariant under every matrix of ``A`` when a sequence of matrices is given).

    Block Arnoldi with two passes of classical Gram-Schmidt; a new direction
    whose orthogonal part is below ``tol`` times its scale is an exact breakdown.
    """
    mats: list[Any] = list(A) if isinstance(A, list | tuple) else [A]
    n = mats[0].shape[0]
    scale = max(float(abs(m).sum(axis=1).max()) for m in mats) or 1.0
    basis = np.zeros((n, min(n, 16)), dtype=complex)
    m = 0
    pending = deque((np.asarray(v, dtype=complex), float(np.linalg.norm(v))) for v in starts)
    while pending and m < n:
        v, ref = pending.popleft()
        if ref == 0.0:
            continue
        w = v.copy()
        for _ in range(2):
            if m:
                w -= basis[:, :m] @ (basis[:, :m].conj().T @ w)
        norm = float(np.linalg.norm(w))
        if norm <= tol * ref:
            continue
        if m == basis.shape[1]:
            basis = np.hstack([basis, np.zeros((n, min(n, 2 * m) - m), dtype=complex)])
        basis[:, m] = w / norm
        m += 1
        pending.extend((np.asarray(mat @ basis[:, m - 1]), scale) for mat in mats)
    return basis[:, :m]


def noisy(D: sp.spmatrix) -> NDArray[np.bool_]:
    """The modes with a nonzero row of the diffusion matrix ``D`` (they fluctuate)."""
    return np.asarray(abs(D).sum(axis=1)).ravel() > 0


def reduced(D: sp.spmatrix, Q: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Q^dag D Q (a diagonal D as the scaled product of the local-bath case)."""
    QH = Q.conj().T
    off = sp.coo_matrix(D)
    if np.all(off.row == off.col):
        return np.asarray((QH * np.real(D.diagonal())) @ Q)
    return np.asarray(QH @ np.asarray(D @ Q))


def _steps(times: NDArray[np.float64], t0: float = 0.0) -> tuple[NDArray[np.float64], list[int]]:
    """Distinct step lengths from ``t0`` (to 1e-12 relative) and each step's index."""
    h = np.diff(np.concatenate([[t0], times]))
    keys: dict[float, int] = {}
    index = []
    for x in h:
        key = float(f"{x:.12e}")
        index.append(keys.setdefault(key, len(keys)))
    return np.array(list(keys)), index


def first_moments(A: NDArray[np.complex128], groups: dict[float, NDArray[np.complex128]],
                  alpha0: NDArray[np.complex128], times: NDArray[np.float64], t0: float = 0.0
                  ) -> NDArray[np.complex128]:
    """alpha(t) for d alpha/dt = A alpha + sum_delta exp(-i delta t) b_delta, exactly.

    Args:
        A: (m, m) drift matrix.
        groups: forcing vectors b_delta keyed by their detuning from the frame.
        alpha0: amplitudes at ``t0``.
        times: increasing output times >= t0.
        t0: the start time (absolute: the forcing's phases are exp(-i delta t)).

    Returns:
        (m, times) amplitudes.
    """
    m = A.shape[0]
    hs, which = _steps(times, t0)
    parts = dict(groups)
    parts.setdefault(0.0, np.zeros(m, dtype=complex))
    out = np.zeros((m, times.size), dtype=complex)
    for delta, b in parts.items():
        aug = np.zeros((m + 1, m + 1), dtype=complex)
        aug[:m, :m] = A + 1j * delta * np.eye(m)
        aug[:m, m] = b
        props = [sla.expm(aug * h) for h in hs]
        y = alpha0.astype(complex) if delta == 0.0 else np.zeros(m, dtype=complex)
        for k, w in enumerate(which):
            y = props[w][:m, :m] @ y + props[w][:m, m]
            out[:, k] += np.exp(-1j * delta * times[k]) * y
    return out


def covariance(A: NDArray[np.complex128], D: NDArray[np.complex128],
               C0: NDArray[np.complex128], times: NDArray[np.float64], t0: float = 0.0
               ) -> NDArray[np.complex128]:
    """C(t) for dC/dt = A C + C A^dag + D from C(t0) = C0, exactly (Van Loan).

    Returns:
        (times, m, m) covariance matrices.
    """
    m = A.shape[0]
    hs, which = _steps(times, t0)
    props = [_van_loan(A, D, h) for h in hs]
    out = np.zeros((times.size, m, m), dtype=complex)
    c = C0.astype(complex)
    for k, w in enumerate(which):
        phi, q = props[w]
        c = phi @ c @ phi.conj().T + q
        c = 0.5 * (c + c.conj().T)
        out[k] = c
    return out


def _van_loan(A: NDArray[np.complex128], D: NDArray[np.complex128], h: float
              ) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """(Phi, Q) with C(t + h) = Phi C(t) Phi^dag + Q: Phi = exp(A h), Q = int_0^h
    exp(A s) D exp(A^dag s) ds, from exp of [[A, D], [0, -A^dag]] h (Van Loan).

    The block -A^dag grows like exp(r h), r the largest decay rate (the largest
    eigenvalue of -(A + A^dag)/2), and Q is a difference of such terms: over a long
    step (r h = 80 for a run [0, 4000] at gamma = 0.05) all digits cancel. The step is
    therefore halved until r h <= 1 and the pieces composed: (Phi, Q) twice is
    (Phi^2, Phi Q Phi^dag + Q).
    """
    m = A.shape[0]
    rate = max(0.0, float(np.linalg.eigvalsh(-0.5 * (A + A.conj().T))[-1])) if m else 0.0
    halvings = max(0, int(np.ceil(np.log2(rate * h)))) if rate * h > 1 else 0
    sub = h / 2**halvings
    block = np.zeros((2 * m, 2 * m), dtype=complex)
    block[:m, :m] = A
    block[:m, m:] = D
    block[m:, m:] = -A.conj().T
    e = sla.expm(block * sub)
    phi = e[:m, :m]
    q = e[:m, m:] @ phi.conj().T
    for _ in range(halvings):
        q = phi @ q @ phi.conj().T + q
        phi = phi @ phi
    return phi, 0.5 * (q + q.conj().T)


@dataclass(frozen=True, eq=False)
class Moments:
    """The Gaussian moments of a run.

    Attributes:
        amplitude: (modes, times) alpha(t).
        fluctuation: (modes, times) C_ii(t) = <dx_i^dag dx_i>.
        pair: (pairs, times) C_ij(t) = <dx_j^dag dx_i> for the requested pairs (i, j).
        basis: (modes, m) orthonormal basis Q of the invariant subspace.
        final: (m, m) the reduced covariance Q^dag C Q at the last time.
    """

    amplitude: NDArray[np.complex128]
    fluctuation: NDArray[np.float64]
    pair: NDArray[np.complex128]
    basis: NDArray[np.complex128]
    final: NDArray[np.complex128]


def propagate(problem: CompiledModel, times: NDArray[np.float64], alpha0: NDArray[np.complex128],
              cov0: NDArray[np.complex128] | None, *, t0: float = 0.0,
              pairs: Sequence[tuple[int, int]] = ()) -> Moments:
    """Moments of ``problem``'s linear dynamics at ``times`` from (alpha0, C0) at ``t0``.

    ``cov0`` None means zero fluctuations, a vector a diagonal C0; the model's own
    initial state is (initial amplitudes, initial occupations). With envelopes the run is cut
    at their breakpoints; segments where every envelope is constant use the exact
    propagators, the others the moment equations integrated with DOP853 at
    ``ODE_RTOL`` (:func:`_segment_ode`).
    """
    if not problem.modulated():
        return _propagate_static(problem, times, alpha0, cov0, t0=t0, pairs=pairs)
    return _propagate_segments(problem, times, alpha0, cov0, t0=t0, pairs=pairs)


def _propagate_static(problem: CompiledModel, times: NDArray[np.float64],
                      alpha0: NDArray[np.complex128], cov0: NDArray[np.complex128] | None, *,
                      t0: float = 0.0, pairs: Sequence[tuple[int, int]] = ()) -> Moments:
    n = len(problem.modes)
    A = problem.drift()
    groups = problem.forcing()
    D = problem.diffusion()
    C0 = np.zeros(n, dtype=complex) if cov0 is None else np.asarray(cov0, dtype=complex)
    diagonal = C0.ndim == 1  # a diagonal C0 given as its diagonal (no n x n array)
    fluctuating = np.flatnonzero(noisy(D) | (C0 != 0 if diagonal else np.any(C0 != 0, 0)))
    eye = np.eye(n)
    Q = invariant_subspace(A, [*groups.values(), alpha0, *(eye[i] for i in fluctuating)])
    dim = Q.shape[1]
    QH = Q.conj().T
    fluct = np.zeros((n, times.size))
    pair = np.zeros((len(pairs), times.size), dtype=complex)
    final = np.zeros((dim, dim), dtype=complex)
    with blas_threads_for(dim):
        Ar = QH @ np.asarray(A @ Q)
        alpha = Q @ first_moments(Ar, {k: QH @ v for k, v in groups.items()}, QH @ alpha0,
                                  times, t0)
        if fluctuating.size:
            C0r = (QH * C0) @ Q if diagonal else QH @ C0 @ Q
            Cr = covariance(Ar, reduced(D, Q), C0r, times, t0)
            QC = np.einsum("im,tmn->tin", Q, Cr)
            fluct = np.einsum("tin,in->it", QC, Q.conj()).real
            for k, (i, j) in enumerate(pairs):
                pair[k] = QC[:, i, :] @ Q[j].conj()
            final = Cr[-1]
    return Moments(alpha, fluct, pair, Q, final)


#: Relative tolerance of the moment equations on segments where an envelope varies.
ODE_RTOL = 1e-12


def _segment_ode(problem: CompiledModel, times: NDArray[np.float64],
                 alpha0: NDArray[np.complex128], cov0: NDArray[np.complex128], t0: float
                 ) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """alpha(t) (modes, times) and C(t) (times, modes, modes) on one segment where some
    envelope varies: d alpha/dt = A(t) alpha + b(t), dC/dt = A(t) C + C A(t)^dag + D,
    A(t) = A_0 + sum_e f_e(t) A_e from the terms' blocks, integrated with DOP853 in the
    subspace invariant under A_0 and every A_e (rtol ``ODE_RTOL``)."""
    n = len(problem.modes)
    wr = problem.frame_frequency
    mods = problem.modulated()
    static = problem.unmodulated()
    A0 = static.drift_dense()
    parts: list[tuple[Envelope, NDArray[np.complex128], list[tuple[float, Any]]]] = []
    for t in mods:
        assert t.envelope is not None
        parts.append((t.envelope, dense_block(t.drift_entries(wr), n), t.forcing(n, wr)))
    forcing: list[tuple[Envelope | None, float, NDArray[np.complex128]]] = [
        (None, delta, b) for delta, b in static.forcing().items()]
    forcing += [(env, delta, b) for env, _, fs in parts for delta, b in fs]
    D = problem.diffusion()
    eye = np.eye(n)
    starts = [b for _, _, b in forcing] + [alpha0] + [eye[i] for i in
                                                      np.flatnonzero(noisy(D) | np.any(
                                                          cov0 != 0, axis=0))]
    Q = invariant_subspace([A0, *(Ae for _, Ae, _ in parts)], starts)
    QH = Q.conj().T
    m = Q.shape[1]
    if m == 0:  # nothing moves (no amplitude, forcing or noise): the vacuum stays
        return (np.zeros((n, times.size), dtype=complex),
                np.zeros((times.size, n, n), dtype=complex))
    A0r = QH @ A0 @ Q
    Aer = [(env, QH @ Ae @ Q) for env, Ae, _ in parts]
    fr = [(env, delta, QH @ b) for env, delta, b in forcing]
    Dr = reduced(D, Q)

    def rhs(t: float, y: NDArray[np.float64]) -> NDArray[np.float64]:
        z = y.view(complex)
        a, c = z[:m], z[m:].reshape(m, m)
        A = A0r + sum((float(env(t)) * Ae for env, Ae in Aer), np.zeros((m, m), complex))
        da = A @ a
        for env, delta, b in fr:
            da = da + (1.0 if env is None else float(env(t))) * np.exp(-1j * delta * t) * b
        dc = A @ c + c @ A.conj().T + Dr
        return np.concatenate([da, dc.ravel()]).view(float)

    y0 = np.concatenate([QH @ alpha0, (QH @ cov0 @ Q).ravel()]).view(float)
    sol = solve_ivp(rhs, (t0, float(times[-1])), y0, method="DOP853", t_eval=times,
                    rtol=ODE_RTOL, atol=ODE_RTOL * max(1.0, float(np.abs(y0).max())))
    z = sol.y.T.copy().view(complex)  # (times, m + m*m)
    alpha = Q @ z[:, :m].T
    cr = z[:, m:].reshape(-1, m, m)
    return alpha, np.einsum("im,tmn,jn->tij", Q, cr, Q.conj())


def _propagate_segments(problem: CompiledModel, times: NDArray[np.float64],
                        alpha0: NDArray[np.complex128], cov0: NDArray[np.complex128] | None,
                        *, t0: float, pairs: Sequence[tuple[int, int]]) -> Moments:
    """:func:`propagate` cut at the envelopes' breakpoints (see there)."""
    n = len(problem.modes)
    alpha = np.asarray(alpha0, dtype=complex)
    cov = np.zeros((n, n), dtype=complex) if cov0 is None else np.asarray(cov0, dtype=complex)
    if cov.ndim == 1:
        cov = np.diag(cov)
    amp = np.zeros((n, times.size), dtype=complex)
    fluct = np.zeros((n, times.size))
    pair = np.zeros((len(pairs), times.size), dtype=complex)
    edges = [t0, *problem.breakpoints(t0, float(times[-1])), float(times[-1])]
    for a, b in itertools.pairwise(edges):
        pick = (times > a) & (times <= b) if a > t0 else (times >= a) & (times <= b)
        idx = np.flatnonzero(pick)
        ev = times[idx] if idx.size and times[idx[-1]] == b else np.append(times[idx], b)
        k = idx.size
        frozen = problem.frozen(a, b)
        if frozen is not None:  # every envelope constant: exact propagators
            mom = _propagate_static(frozen, ev, alpha, cov, t0=a, pairs=pairs)
            a_t = mom.amplitude
            fluct[:, idx], pair[:, idx] = mom.fluctuation[:, :k], mom.pair[:, :k]
            cov = mom.basis @ mom.final @ mom.basis.conj().T
        else:
            a_t, c_t = _segment_ode(problem, ev, alpha, cov, a)
            fluct[:, idx] = np.real(np.einsum("tii->it", c_t[:k]))
            for p, (i, j) in enumerate(pairs):
                pair[p, idx] = c_t[:k, i, j]
            cov = c_t[-1]
        amp[:, idx] = a_t[:, :k]
        alpha = a_t[:, -1]
    return Moments(amp, fluct, pair, np.eye(n, dtype=complex), cov)


@dataclass(frozen=True, eq=False)
class TwinBounds:
    """What the Gaussian twin of a model reaches over a run, per mode.

    Attributes:
        amplitude2: largest |alpha_i|^2.
        fluctuation: largest fluctuation occupation C_ii.
        alone: largest occupation of each mode under its own dissipators alone
            (a qubit passes on less noise than the twin's oscillator, so a
            mode's own bath can heat it more than in the twin); 0 where none.
    """

    amplitude2: NDArray[np.float64]
    fluctuation: NDArray[np.float64]
    alone: NDArray[np.float64]


def twin_bounds(problem: CompiledModel, stop: float, alpha0: NDArray[np.complex128],
                cov0: NDArray[np.complex128] | None, *, t0: float = 0.0) -> TwinBounds:
    """:class:`TwinBounds` of the Gaussian twin on ``TWIN_POINTS`` times in [t0, stop]."""
    twin = problem.twin()
    grid = np.linspace(t0, max(stop, t0), TWIN_POINTS) if stop > t0 else np.full(1, t0)
    moments = propagate(twin, grid, alpha0, cov0, t0=t0)
    alone = np.zeros(len(problem.modes))
    c0 = np.zeros(len(problem.modes)) if cov0 is None else np.asarray(cov0)
    start = np.real(c0 if c0.ndim == 1 else np.diagonal(c0))
    for d in problem.dissipators:
        occ = d.alone_occupation(float(start[d.mode]), grid - t0)
        if occ is not None:
            alone[d.mode] = max(alone[d.mode], float(np.max(occ)))
    return TwinBounds(np.max(np.abs(moments.amplitude) ** 2, axis=1),
                      np.max(moments.fluctuation, axis=1), alone)
