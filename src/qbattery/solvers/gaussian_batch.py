r"""Batched exact Gaussian solver: many all-oscillator models of one network structure.

For P models with the same modes, couplings, drives and baths (only the
numbers differ) the moments of :mod:`qbattery.solvers.gaussian` are evaluated
for all points at once from the eigen-decomposition of the stacked drift
matrices A_p = V_p Lambda_p V_p^{-1} (frame of each model's first drive):

    alpha(t) = V (e^{Lambda t} c + sum_k e^{-i delta_k t} phi(Lambda + i delta_k, t) d_k),
    C(t)     = V (e^{M t} o X0 + phi(M, t) o Y) V^dag,

with c = V^{-1} alpha(0), d_k = V^{-1} b_k (b_k = -i F_k e_mode(k)), D the
diffusion matrix (non-diagonal for correlated baths),
X0 = V^{-1} C(0) V^{-dag}, Y = V^{-1} D V^{-dag}, M_ij = lambda_i + conj(lambda_j),
o the element-wise product and phi(mu, t) = (e^{mu t} - 1)/mu (= t at mu = 0),
which is exact also at resonance (gamma = 0, linear growth). Where V is
ill-conditioned (A defective or nearly so, e.g. at an exceptional point
g = gamma/4 of the damped bare model) the closed form loses accuracy, and those
points are solved by the exact per-point engine instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .._threads import blas_threads_for
from ..model import Model
from ..observables import gaussian_ergotropy
from ..options import SolverOptions
from ..terms import compile_model

#: Points whose eigenvector matrix has a larger 2-norm condition number use the exact engine.
COND_LIMIT = 1e4
#: Points solved together (keeps the work arrays small enough to be reused by the allocator).
CHUNK = 128


@dataclass(frozen=True, eq=False)
class BatchOutput:
    """Moments of P models at T times.

    Args:
        occupation: (P, modes, T) <a^dag a>.
        energy: (P, modes, T) local energy omega_i <a_i^dag a_i>.
        amplitude: (P, modes, T) <a> in each model's rotating frame.
        fluctuation: (P, modes, T) <da^dag da>.
        ergotropy: (P, modes, T) ergotropy of each mode.
        exact_fallback: (P,) True where the per-point engine was used.
    """

    occupation: NDArray[np.float64]
    energy: NDArray[np.float64]
    amplitude: NDArray[np.complex128]
    fluctuation: NDArray[np.float64]
    ergotropy: NDArray[np.float64]
    exact_fallback: NDArray[np.bool_]


def structure(model: Model) -> tuple[object, ...]:
    """What must be equal for models to be solved in one batch."""
    return (tuple((m.name, m.kind) for m in model.modes),
            tuple(c.between for c in model.couplings),
            tuple(d.mode for d in model.drives),
            tuple(b.mode for b in model.baths),
            tuple(d.modes for d in model.dissipators),
            tuple(p.mode for p in model.dephasing))


def frequencies(models: Sequence[Model]) -> NDArray[np.float64]:
    """(P, modes) mode frequencies."""
    return np.array([[m.frequency for m in model.modes] for model in models], dtype=float)


@dataclass(frozen=True, eq=False)
class _Stack:
    drift: NDArray[np.complex128]       # (P, n, n)
    drives: NDArray[np.complex128]      # (P, nd, n): b_k
    detuning: NDArray[np.float64]       # (P, nd): delta_k
    noise: NDArray[np.complex128]       # (P, n, n): the diffusion matrices D
    occ0: NDArray[np.float64]           # (P, n)
    alpha0: NDArray[np.complex128]      # (P, n)

    def take(self, mask: NDArray[np.bool_]) -> _Stack:
        return _Stack(self.drift[mask], self.drives[mask], self.detuning[mask],
                      self.noise[mask], self.occ0[mask], self.alpha0[mask])


def _check(models: Sequence[Model]) -> None:
    ref = structure(models[0])
    for k, model in enumerate(models):
        reason = compile_model(model).gaussian_reason()
        if reason is not None:
            raise ValueError(f"models[{k}]: the Gaussian batch needs linear (all-oscillator) "
                             f"models: {reason}")
        if structure(model) != ref:
            raise ValueError(f"models[{k}]: network structure differs from models[0]")


def _stack(models: Sequence[Model]) -> _Stack:
    """The drift, forcing and noise of each model, from its compiled terms."""
    first = models[0]
    n, nd = len(first.modes), len(first.drives)
    P = len(models)
    drift = np.zeros((P, n, n), dtype=complex)
    drives = np.zeros((P, nd, n), dtype=complex)
    detuning = np.zeros((P, nd))
    noise = np.zeros((P, n, n), dtype=complex)
    occ0 = np.zeros((P, n))
    alpha0 = np.zeros((P, n), dtype=complex)
    for p, model in enumerate(models):
        problem = compile_model(model)
        drift[p] = problem.drift_dense()
        for k, d in enumerate(problem.drives):
            (detuning[p, k], drives[p, k]), = d.forcing(n, problem.frame_frequency)
        noise[p] = problem.diffusion().toarray()
        occ0[p] = problem.initial_occupations()
        alpha0[p] = problem.initial_amplitudes()
    return _Stack(drift, drives, detuning, noise, occ0, alpha0)


def _grid_step(t: NDArray[np.float64]) -> float | None:
    """h if ``t`` is the uniform grid 0, h, 2h, ... (to rounding), else None."""
    if t.size < 8 or t[0] != 0.0:
        return None
    h = float(t[-1]) / (t.size - 1)
    if np.max(np.abs(t - h * np.arange(t.size))) > 1e-13 * float(t[-1]):
        return None
    return h


def _exp(mu: NDArray[np.complex128], t: NDArray[np.float64]) -> NDArray[np.complex128]:
    """exp(mu t) with shape mu.shape + t.shape.

    On a uniform grid t_k = k h (k = jB + i) it is exp(mu jB h) exp(mu i h): about
    2 sqrt(T) exponentials per entry instead of T, at two roundings of error.
    """
    h = _grid_step(t)
    if h is None:
        return np.asarray(np.exp(mu[..., None] * t))
    T = t.size
    B = int(np.ceil(np.sqrt(T)))
    inner = np.exp(mu[..., None] * (h * np.arange(B)))
    outer = np.exp(mu[..., None] * (h * B * np.arange(-(-T // B))))
    full = outer[..., :, None] * inner[..., None, :]
    return np.asarray(full.reshape(*mu.shape, -1)[..., :T])


def _exp_phi(mu: NDArray[np.complex128], t: NDArray[np.float64]
             ) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
    """exp(mu t) and phi(mu, t) = (exp(mu t) - 1)/mu (= t at mu = 0), element-wise.

    (E - 1)/mu loses accuracy only where |mu t| is small (t sorted: a prefix of
    each row); there phi is expm1(mu t)/mu.
    """
    E = _exp(mu, t)
    amu = np.abs(mu)
    zero = amu == 0
    inv = np.divide(1.0, mu, out=np.zeros_like(mu), where=~zero)
    phi = (E - 1.0) * inv[..., None]
    reach = np.divide(0.5, amu, out=np.full(amu.shape, np.inf), where=~zero)
    small = t < reach[..., None]
    if np.any(small):
        idx = np.nonzero(small)
        m = mu[idx[:-1]]
        tt = t[idx[-1]]
        phi[idx] = np.where(m == 0, tt, np.expm1(m * tt) * inv[idx[:-1]])
    return E, phi


def _closed_form(s: _Stack, times: NDArray[np.float64], lam: NDArray[np.complex128],
                 V: NDArray[np.complex128]) -> tuple[NDArray[np.complex128],
                                                     NDArray[np.float64]]:
    Vi = np.linalg.inv(V)
    t = times
    E, phi = _exp_phi(lam, t)
    modal = E * (Vi @ s.alpha0[..., None])
    for k in range(s.drives.shape[1]):
        d = Vi @ s.drives[:, k, :, None]
        delta = s.detuning[:, k]
        if np.all(delta == 0):
            modal += phi * d
        else:
            phase = np.exp(-1j * delta[:, None] * t)[:, None, :]
            modal += phase * _exp_phi(lam + 1j * delta[:, None], t)[1] * d
    alpha = V @ modal
    fluct = np.zeros(alpha.shape)
    if np.any(s.noise != 0) or np.any(s.occ0 > 0):
        # C = V X V^dag with X_ij(t) = e^{mu_ij t} X0_ij + phi(mu_ij, t) Y_ij, X Hermitian:
        # C_kk = sum_{i<=j} w_ij Re(V_ki conj(V_kj) X_ij), w = 1 on the diagonal, 2 above it.
        n = lam.shape[1]
        iu, ju = np.triu_indices(n)
        ViH = np.conj(np.swapaxes(Vi, 1, 2))
        X0 = (Vi * s.occ0[:, None, :]) @ ViH
        diag = np.diagonal(s.noise, axis1=1, axis2=2)
        if np.count_nonzero(s.noise) == np.count_nonzero(diag):  # local baths only
            Y = (Vi * diag.real[:, None, :]) @ ViH
        else:
            Y = Vi @ s.noise @ ViH
        mu = lam[:, iu] + np.conj(lam[:, ju])
        E2, phi2 = _exp_phi(mu, t)
        X = E2 * X0[:, iu, ju, None] + phi2 * Y[:, iu, ju, None]
        W = V[:, :, iu] * np.conj(V[:, :, ju]) * np.where(iu == ju, 1.0, 2.0)
        fluct = np.real(W @ X)
    return alpha, fluct


def solve_batch(models: Sequence[Model], times: NDArray[np.float64], *,
                cond_limit: float = COND_LIMIT) -> BatchOutput:
    """Solve P all-oscillator models of the same structure at ``times``, exactly.

    d alpha/dt = A alpha + sum_k b_k e^{-i delta_k t},  dC/dt = A C + C A^dag + D
    (see :mod:`qbattery.solvers.gaussian`), by batched eigen-decomposition; points
    whose eigenvectors have condition number above ``cond_limit`` are solved by
    the per-point engine (:func:`qbattery.solve` with ``method="gaussian"``).

    Args:
        models: P models sharing :func:`structure` (values may differ).
        times: increasing output times >= 0.
        cond_limit: largest eigenvector condition number trusted.

    Returns:
        A :class:`BatchOutput`.
    """
    from . import check_times, run_engine  # the registry imports the engines

    if not models:
        raise ValueError("models: need at least one model")
    _check(models)
    t = check_times(times)
    P, n = len(models), len(models[0].modes)
    alpha = np.zeros((P, n, t.size), dtype=complex)
    fluct = np.zeros((P, n, t.size))
    good = np.zeros(P, dtype=bool)
    with blas_threads_for(n):
        for lo in range(0, P, CHUNK):
            sl = slice(lo, min(P, lo + CHUNK))
            s = _stack(models[sl])
            lam, V = np.linalg.eig(s.drift)
            cond = np.linalg.cond(V)
            ok = np.isfinite(cond) & (cond < cond_limit)
            good[sl] = ok
            if np.any(ok):
                a, c = _closed_form(s.take(ok), t, lam[ok], V[ok])
                idx = lo + np.flatnonzero(ok)
                alpha[idx], fluct[idx] = a, c
    exact = SolverOptions(method="gaussian")
    for p in np.flatnonzero(~good):
        out = run_engine(models[int(p)], t, exact)[1]
        alpha[p] = out.amplitude
        fluct[p] = out.extra["fluctuation"][1]
    freq = frequencies(models)[..., None]
    occupation = np.abs(alpha) ** 2 + fluct
    return BatchOutput(
        occupation=occupation,
        energy=freq * occupation,
        amplitude=alpha,
        fluctuation=fluct,
        ergotropy=gaussian_ergotropy(freq, alpha, fluct),
        exact_fallback=~good,
    )
