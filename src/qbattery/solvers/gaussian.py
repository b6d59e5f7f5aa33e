r"""Exact Gaussian solver for all-oscillator networks (``method = "gaussian"``).

With exchange couplings, linear drives and thermal baths, a Gaussian state
stays Gaussian. In the frame rotating at omega_r (the first drive's
frequency) the mean amplitudes alpha_i = <a_i> and the normally ordered
covariance C_ij = <da_j^dag da_i> (da = a - alpha; C_ii is the thermal part of
the occupation) obey

    d alpha/dt = A alpha - i sum_k F_k exp(-i delta_k t) e_k,
    d C/dt     = A C + C A^dag + D,

with A = -i M - Gamma/2, M_ij = (omega_i - omega_r) delta_ij + g_ij,
Gamma = diag(gamma_i), D = diag(gamma_i N_i), delta_k = omega_k - omega_r.
The anomalous moments <da_i da_j> stay zero for the displaced thermal initial
states the model allows. The solutions are closed forms,

    alpha(t) = sum_delta exp(-i delta t) y_delta(t),
    y_delta(t) = exp((A + i delta) t) y_delta(0) + int_0^t exp((A + i delta) u) du b_delta,
    C(t) = exp(A t) C(0) exp(A^dag t) + int_0^t exp(A s) D exp(A^dag s) ds,

evaluated without ODE stepping: the exact one-step propagators (matrix
exponentials of augmented / Van Loan block matrices, exact for defective A,
e.g. gamma = 0 with a resonant drive, where amplitudes grow linearly in t) are
built once per distinct time step and applied at each output time.

Scale: everything happens in the smallest A-invariant subspace that contains
the driven modes, the initial amplitudes and the noisy modes (found by block
Arnoldi with exact-breakdown detection). For a catalyst coupled to k resonant
cells this subspace has dimension <= 4 whatever k, so a 1000-cell battery costs
little more than one cell. The reduction is exact: the dynamics never leaves it.
"""

from __future__ import annotations

from collections import deque

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray

from .._threads import blas_threads_for
from ..merit_data import gaussian_extra  # figures of merit (merit issue)
from ..model import Model
from ..observables import gaussian_ergotropy
from ..options import SolverOptions
from ..result import SolverOutput
from . import SolverSpec, register

#: Relative size below which a new Krylov direction counts as an exact breakdown.
BREAKDOWN_TOL = 1e-12


def _supports(model: Model) -> str | None:
    qubits = [m.name for m in model.modes if m.kind == "qubit"]
    if qubits:
        return ("the Gaussian solver needs every mode to be an oscillator; "
                f"qubits: {', '.join(qubits)}")
    return None


def drift_matrix(model: Model) -> sp.csr_matrix:
    """A = -i M - Gamma/2 in the frame rotating at ``model.frame_frequency`` (sparse)."""
    n = len(model.modes)
    wr = model.frame_frequency
    diag = np.array([-1j * (m.frequency - wr) for m in model.modes])
    for i, rate, _ in model.bath_terms():
        diag[i] -= 0.5 * rate
    rows, cols, vals = list(range(n)), list(range(n)), list(diag)
    for c in model.couplings:
        i, j = model.index(c.between[0]), model.index(c.between[1])
        rows += [i, j]
        cols += [j, i]
        vals += [-1j * c.strength, -1j * c.strength]
    return sp.csr_matrix((np.array(vals, dtype=complex), (rows, cols)), shape=(n, n))


def invariant_subspace(A: sp.csr_matrix | NDArray[np.complex128],
                       starts: list[NDArray[np.complex128]], *,
                       tol: float = BREAKDOWN_TOL) -> NDArray[np.complex128]:
    """Orthonormal basis of the smallest A-invariant subspace containing ``starts``.

    Block Arnoldi with two passes of classical Gram-Schmidt; a new direction
    whose orthogonal part is below ``tol`` times its scale is an exact breakdown.
    """
    n = A.shape[0]
    scale = float(abs(A).sum(axis=1).max()) or 1.0
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
        pending.append((np.asarray(A @ basis[:, m - 1]), scale))
    return basis[:, :m]


def _steps(times: NDArray[np.float64]) -> tuple[NDArray[np.float64], list[int]]:
    """Distinct step lengths (to 1e-12 relative) and the index of each step's length."""
    h = np.diff(np.concatenate([[0.0], times]))
    keys: dict[float, int] = {}
    index = []
    for x in h:
        key = float(f"{x:.12e}")
        index.append(keys.setdefault(key, len(keys)))
    return np.array(list(keys)), index


def first_moments(A: NDArray[np.complex128], groups: dict[float, NDArray[np.complex128]],
                  alpha0: NDArray[np.complex128], times: NDArray[np.float64]
                  ) -> NDArray[np.complex128]:
    """alpha(t) for d alpha/dt = A alpha + sum_delta exp(-i delta t) b_delta, exactly.

    Args:
        A: (m, m) drift matrix.
        groups: drive vectors b_delta keyed by their detuning from the frame.
        alpha0: initial amplitudes.
        times: increasing output times >= 0.

    Returns:
        (m, times) amplitudes.
    """
    m = A.shape[0]
    hs, which = _steps(times)
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
               C0: NDArray[np.complex128], times: NDArray[np.float64]
               ) -> NDArray[np.complex128]:
    """C(t) for dC/dt = A C + C A^dag + D, exactly (Van Loan's block exponential).

    Returns:
        (times, m, m) covariance matrices.
    """
    m = A.shape[0]
    hs, which = _steps(times)
    props = []
    for h in hs:
        block = np.zeros((2 * m, 2 * m), dtype=complex)
        block[:m, :m] = A
        block[:m, m:] = D
        block[m:, m:] = -A.conj().T
        e = sla.expm(block * h)
        phi = e[:m, :m]
        props.append((phi, e[:m, m:] @ phi.conj().T))
    out = np.zeros((times.size, m, m), dtype=complex)
    c = C0.astype(complex)
    for k, w in enumerate(which):
        phi, q = props[w]
        c = phi @ c @ phi.conj().T + q
        c = 0.5 * (c + c.conj().T)
        out[k] = c
    return out


def _run(model: Model, times: NDArray[np.float64], options: SolverOptions) -> SolverOutput:
    n = len(model.modes)
    A = drift_matrix(model)
    wr = model.frame_frequency
    groups: dict[float, NDArray[np.complex128]] = {}
    for d in model.drives:
        vec = groups.setdefault(d.frequency - wr, np.zeros(n, dtype=complex))
        vec[model.index(d.mode)] += -1j * d.amplitude
    alpha0 = np.array([m.initial_amplitude for m in model.modes], dtype=complex)
    occ0 = np.array([m.initial_occupation for m in model.modes])
    noise = np.zeros(n)
    for i, rate, occ in model.bath_terms():
        noise[i] = rate * occ
    eye = np.eye(n)
    starts = [*groups.values(), alpha0]
    starts += [eye[i] for i in np.flatnonzero((noise > 0) | (occ0 > 0))]
    Q = invariant_subspace(A, starts)
    dim = Q.shape[1]
    QH = Q.conj().T
    with blas_threads_for(dim):
        Ar = QH @ np.asarray(A @ Q)
        alpha_r = first_moments(Ar, {k: QH @ v for k, v in groups.items()}, QH @ alpha0, times)
        alpha = Q @ alpha_r
        fluct = np.zeros((n, times.size))
        cross = np.zeros((len(model.couplings), times.size), dtype=complex)
        pairs = [(model.index(c.between[0]), model.index(c.between[1])) for c in model.couplings]
        Cr = None  # merit: the reduced covariance, None when C = 0
        if np.any(noise > 0) or np.any(occ0 > 0):
            Cr = covariance(Ar, (QH * noise) @ Q, (QH * occ0) @ Q, times)
            QC = np.einsum("im,tmn->tin", Q, Cr)
            fluct = np.einsum("tin,in->it", QC, Q.conj()).real
            for k, (i, j) in enumerate(pairs):
                cross[k] = QC[:, i, :] @ Q[j].conj()
    for k, (i, j) in enumerate(pairs):
        cross[k] += alpha[i] * alpha[j].conj()
    freq = np.array([m.frequency for m in model.modes])
    return SolverOutput(
        occupation=np.abs(alpha) ** 2 + fluct,
        amplitude=alpha,
        pair_coherence=cross,
        ergotropy=gaussian_ergotropy(freq[:, None], alpha, fluct),
        extra={"fluctuation": (("mode", "time"), fluct),
               **gaussian_extra(model, alpha, fluct, Q, Cr)},  # merit
        stats={"subspace_dimension": dim},
    )


SPEC = register(SolverSpec(
    name="gaussian", run=_run, supports=_supports, priority=0,
    description="exact closed-form moments for all-oscillator networks",
))


def steady_state(model: Model) -> tuple[NDArray[np.complex128], NDArray[np.float64]] | None:
    """Long-time limit (amplitudes, occupations) of an all-oscillator model, or None.

    Solves 0 = A alpha + b and 0 = A C + C A^dag + D in the invariant subspace.
    Returns None when the limit does not exist: an undamped mode is excited
    (an eigenvalue of A on the imaginary axis) or drives have several frequencies.
    """
    reason = _supports(model)
    if reason is not None:
        raise ValueError(reason)
    if len({d.frequency for d in model.drives}) > 1:
        return None
    n = len(model.modes)
    A = drift_matrix(model)
    b = np.zeros(n, dtype=complex)
    for d in model.drives:
        b[model.index(d.mode)] += -1j * d.amplitude
    noise = np.zeros(n)
    for i, rate, occ in model.bath_terms():
        noise[i] = rate * occ
    occ0 = np.array([m.initial_occupation for m in model.modes])
    alpha0 = np.array([m.initial_amplitude for m in model.modes], dtype=complex)
    eye = np.eye(n)
    starts = [b, alpha0, *[eye[i] for i in np.flatnonzero((noise > 0) | (occ0 > 0))]]
    Q = invariant_subspace(A, starts)
    if Q.shape[1] == 0:
        return np.zeros(n, dtype=complex), np.zeros(n)
    QH = Q.conj().T
    Ar = QH @ np.asarray(A @ Q)
    if np.max(np.linalg.eigvals(Ar).real) > -1e-12:
        return None
    alpha = Q @ np.linalg.solve(Ar, -(QH @ b))
    Cr = sla.solve_continuous_lyapunov(Ar, -((QH * noise) @ Q))
    fluct = np.einsum("im,mn,in->i", Q, Cr, Q.conj()).real
    return alpha, np.abs(alpha) ** 2 + fluct
