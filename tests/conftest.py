"""Shared fixtures and helpers for the test suite (see tests/README.md)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import solve_ivp

import qbattery as qb
from qbattery.sweeps.protocols import PROTOCOLS

#: The protocols without a qubit (fast engines; the qubit row has tests of its own).
OSCILLATOR_PROTOCOLS = tuple(p for p in PROTOCOLS if p.catalyst != "qubit")


def moment_odes(model: qb.Model, times: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Independent reference: integrate the Gaussian moment equations with DOP853.

    Written from the equations in the lab frame's rotating frame directly,
    dense, without any code from qbattery.solvers:
        d<a_i>/dt   = -i (w_i - w_r) a_i - i sum_j g_ij a_j - gamma_i/2 a_i
                      - i sum_k F_k exp(-i (w_k - w_r) t) [k drives i]
        dN_ij/dt    with N_ij = <a_i^dag a_j> (full second moment, not centred).
    Returns (amplitudes (n, T), occupations (n, T)).
    """
    n = len(model.modes)
    wr = model.frame_frequency
    M = np.diag([m.frequency - wr for m in model.modes]).astype(complex)
    for c in model.couplings:
        i, j = model.index(c.between[0]), model.index(c.between[1])
        M[i, j] += c.strength
        M[j, i] += c.strength
    gam = np.zeros(n)
    nth = np.zeros(n)
    for b in model.baths:
        i = model.index(b.mode)
        gam[i] = b.rate
        nth[i] = b.occupation_at(model.modes[i].frequency)
    A = -1j * M - np.diag(gam) / 2

    def f(t: float) -> np.ndarray:
        out = np.zeros(n, dtype=complex)
        for d in model.drives:
            out[model.index(d.mode)] += -1j * d.amplitude * np.exp(-1j * (d.frequency - wr) * t)
        return out

    a0 = np.array([m.initial_amplitude for m in model.modes], dtype=complex)
    N0 = np.diag([m.initial_occupation for m in model.modes]).astype(complex) + np.outer(
        a0.conj(), a0)

    def rhs(t: float, y: np.ndarray) -> np.ndarray:
        a = y[:n]
        N = y[n:].reshape(n, n)
        ft = f(t)
        da = A @ a + ft
        # d<a_i^dag a_j>/dt = sum_k conj(A_ik) N_kj + N_ik A_jk + conj(f_i) a_j + conj(a_i) f_j
        #                     + delta_ij gamma_i nth_i
        dN = A.conj() @ N + N @ A.T + np.outer(ft.conj(), a) + np.outer(a.conj(), ft) \
            + np.diag(gam * nth)
        return np.concatenate([da, dN.ravel()])

    sol = solve_ivp(rhs, (0, times[-1]), np.concatenate([a0, N0.ravel()]), t_eval=times,
                    method="DOP853", rtol=1e-12, atol=1e-13)
    assert sol.success
    amps = sol.y[:n]
    occ = np.real(np.stack([sol.y[n + i * n + i] for i in range(n)]))
    return amps, occ


@pytest.fixture
def times() -> np.ndarray:
    return np.linspace(0.0, 60.0, 241)


def qutip_reference(model: qb.Model, times: np.ndarray, cutoff: int, *,
                    rtol: float = 1e-10, atol: float = 1e-12) -> dict[str, np.ndarray]:
    """QuTiP mesolve of ``model`` built by hand from the equations (single drive frequency).

    Rotating frame of the drive: H = sum (w_i - w_r) x^dag x + sum g (x y^dag + h.c.)
    + sum F (x + x^dag); collapse operators sqrt(gamma (N+1)) x, sqrt(gamma N) x^dag;
    vacuum initial state. Returns occupations (modes, T) and amplitudes (modes, T).
    """
    import qutip

    assert len({d.frequency for d in model.drives}) <= 1
    dims = [2 if m.kind == "qubit" else cutoff for m in model.modes]
    ops = []
    for i, d in enumerate(dims):
        factors = [qutip.qeye(x) for x in dims]
        factors[i] = qutip.destroy(d)
        ops.append(qutip.tensor(factors))
    wr = model.frame_frequency
    H = 0 * ops[0]
    for i, m in enumerate(model.modes):
        H += (m.frequency - wr) * ops[i].dag() * ops[i]
    for c in model.couplings:
        i, j = model.index(c.between[0]), model.index(c.between[1])
        H += c.strength * (ops[i] * ops[j].dag() + ops[i].dag() * ops[j])
    for dr in model.drives:
        i = model.index(dr.mode)
        H += dr.amplitude * (ops[i] + ops[i].dag())
    c_ops = []
    for b in model.baths:
        i = model.index(b.mode)
        n = b.occupation_at(model.modes[i].frequency)
        c_ops.append(np.sqrt(b.rate * (n + 1)) * ops[i])
        if n > 0:
            c_ops.append(np.sqrt(b.rate * n) * ops[i].dag())
    rho0 = qutip.tensor([qutip.fock_dm(d, 0) for d in dims])
    out = qutip.mesolve(H, rho0, times, c_ops, e_ops=[o.dag() * o for o in ops] + ops,
                        options={"atol": atol, "rtol": rtol})
    n = len(ops)
    return {"occupation": np.real(np.array(out.expect[:n])),
            "amplitude": np.array(out.expect[n:])}
