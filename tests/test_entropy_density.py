"""Entropy production in the density-matrix engines (``SolverOptions(entropy=True)``).

Closed form (tests/README.md, system 15b): a qubit (omega = 1) relaxing from the ground
state in a bath at N: p(t) = p_inf (1 - e^{-gamma (2N + 1) t}), p_inf = N / (2N + 1),
S = h2(p) (binary entropy), heat into the system Q = omega p, so
Sigma(t) = h2(p) - p ln(1 + 1/N). The system heat of a coupled network (couplings'
part included) is checked against Tr(H_S D_b(rho)) built from the jump operators, and
the engines against each other (Fock, displaced, Gaussian).
"""

from __future__ import annotations

import numpy as np
import pytest

import qbattery as qb
from qbattery.errors import ModelError

ENTROPY = qb.SolverOptions(entropy=True)


def _h2(p: np.ndarray) -> np.ndarray:
    q = 1 - p
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(np.where(p > 0, p, 1)), 0.0) \
            - np.where(q > 0, q * np.log(np.where(q > 0, q, 1)), 0.0)


@pytest.mark.parametrize("method", ["fock", "displaced"])
def test_qubit_thermalisation_closed_form(method: str) -> None:
    N, gamma = 0.4, 0.1
    model = qb.Model((qb.Mode("q", kind="qubit"),), baths=(qb.Bath("q", gamma, occupation=N),))
    t = np.linspace(0.0, 40.0, 801)
    r = qb.solve(model, t, method=method, options=ENTROPY)
    p = N / (2 * N + 1) * (1 - np.exp(-gamma * (2 * N + 1) * t))
    np.testing.assert_allclose(r.extra["entropy"][1], _h2(p), atol=1e-7)
    np.testing.assert_allclose(r.extra["system_heat"][1][0], -r.heat[0], atol=1e-12)
    np.testing.assert_allclose(r.extra["entropy_production"][1], _h2(p) - p * np.log1p(1 / N),
                               atol=1e-7)


def _two_baths() -> qb.Model:
    return qb.Model((qb.Mode("a", frequency=1.3), qb.Mode("b")),
                    couplings=(qb.Coupling(("a", "b"), 0.1),),
                    drives=(qb.Drive("a", 0.05),),
                    baths=(qb.Bath("a", 0.05, temperature=1.0),
                           qb.Bath("b", 0.05, temperature=0.9)))


@pytest.mark.parametrize("method", ["fock", "displaced"])
def test_density_engines_agree_with_gaussian(method: str) -> None:
    t = np.linspace(0.0, 60.0, 121)
    exact = qb.solve(_two_baths(), t, method="gaussian")
    r = qb.solve(_two_baths(), t, method=method, options=ENTROPY)
    # the truncated levels' share of S is ~ tail ln(1/tail) (tail <= truncation_tol = 1e-6)
    for name in ("entropy", "entropy_production", "system_heat"):
        np.testing.assert_allclose(r.extra[name][1], exact.extra[name][1], atol=1e-5,
                                   err_msg=name)


def _dagger(x: np.ndarray) -> np.ndarray:
    return x.conj().T


def test_system_heat_of_a_qubit_bath_is_tr_h_d_rho() -> None:
    """Charger-qubit, thermal baths on both (the qubit's raising jump damps its
    amplitude: kappa = gamma (2N + 1) / 2), against Tr(H_S D_b(rho)) from the operators."""
    g, w_q = 0.15, 1.1
    model = qb.Model((qb.Mode("charger"), qb.Mode("q", kind="qubit", frequency=w_q)),
                     couplings=(qb.Coupling(("charger", "q"), g),),
                     drives=(qb.Drive("charger", 0.1),),
                     baths=(qb.Bath("charger", 0.05, occupation=0.3),
                            qb.Bath("q", 0.08, occupation=0.6)))
    t = np.linspace(0.0, 15.0, 31)
    # a generous cutoff: the truncated operators' top level would differ from the algebra
    r = qb.solve(model, t, method="fock", options=qb.SolverOptions(entropy=True, cutoff=30))
    state = r.final_state
    d = state.dims[0]
    a = np.kron(np.diag(np.sqrt(np.arange(1, d)), 1), np.eye(2))
    s = np.kron(np.eye(d), np.array([[0.0, 1.0], [0.0, 0.0]]))
    h_s = 1.0 * _dagger(a) @ a + w_q * _dagger(s) @ s + g * (_dagger(a) @ s + _dagger(s) @ a)
    rho = state.rho
    # rotating frame -> lab frame: H_S is number conserving, so Tr(H_S D(rho)) is the same

    def dissipate(c: np.ndarray) -> np.ndarray:
        return c @ rho @ _dagger(c) - 0.5 * (_dagger(c) @ c @ rho + rho @ _dagger(c) @ c)

    for k, (x, rate, n) in enumerate([(a, 0.05, 0.3), (s, 0.08, 0.6)]):
        d_rho = rate * (n + 1) * dissipate(x) + rate * n * dissipate(_dagger(x))
        expected = np.real(np.trace(h_s @ d_rho))
        assert r.extra["system_heat"][1][k, -1] == pytest.approx(expected, abs=1e-9)


def test_qubit_catalyst_displaced_and_fock_agree() -> None:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 0.5)
    t = np.linspace(0.0, 10.0, 21)
    fock = qb.solve(model, t, method="fock", options=ENTROPY)
    disp = qb.solve(model, t, method="displaced", options=ENTROPY)
    sigma = fock.extra["entropy_production"][1]
    assert sigma[-1] > 0
    np.testing.assert_allclose(disp.extra["entropy_production"][1], sigma, atol=1e-5)
    np.testing.assert_allclose(disp.extra["entropy"][1], fock.extra["entropy"][1], atol=1e-5)


def test_entropy_is_off_by_default_in_density_engines() -> None:
    r = qb.solve(_two_baths(), [0.0, 1.0], method="fock")
    assert "entropy" not in r.extra and "entropy_production" not in r.extra


def test_no_production_without_thermal_baths_but_entropy_recorded() -> None:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 0.0)
    r = qb.solve(model, [0.0, 1.0], method="displaced", options=ENTROPY)
    assert "entropy" in r.extra and "entropy_production" not in r.extra


def test_entropy_option_must_be_a_boolean() -> None:
    with pytest.raises(ModelError, match="entropy"):
        qb.SolverOptions(entropy="yes")  # type: ignore[arg-type]
