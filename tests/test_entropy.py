"""Entropy production (second law; :mod:`qbattery.terms.entropy`, Gaussian engine).

Closed form (tests/README.md, system 15): one oscillator thermalising from the vacuum
in a bath at N (T = omega / ln(1 + 1/N)): n(t) = N (1 - e^{-gamma t}), S = h(n) with
h(n) = (n + 1) ln(n + 1) - n ln n, Q = omega n, so
Sigma(t) = h(n) - n ln(1 + 1/N) (the drop of the relative entropy to the thermal state).
Two baths (Levy & Kosloff 2014): detuned oscillators a (omega 1.3, T = 1) and b (omega 1,
T = 0.9) with N_a < N_b although T_a > T_b. The local equation moves heat from the
cold bath to the hot one in the steady state (Sigma decreases: the second law fails);
the global equation moves it from hot to cold.
"""

from __future__ import annotations

import numpy as np
import pytest

import qbattery as qb


def _h(n: np.ndarray) -> np.ndarray:
    return (n + 1) * np.log1p(n) - np.where(n > 0, n * np.log(np.where(n > 0, n, 1)), 0.0)


def test_thermalisation_closed_form() -> None:
    N, gamma = 0.7, 0.1
    model = qb.Model((qb.Mode("a"),), baths=(qb.Bath("a", gamma, occupation=N),))
    t = np.linspace(0.0, 60.0, 1201)
    r = qb.solve(model, t, method="gaussian")
    n = N * (1 - np.exp(-gamma * t))
    np.testing.assert_allclose(r.extra["entropy"][1], _h(n), atol=1e-12)
    np.testing.assert_allclose(r.extra["entropy_production"][1], _h(n) - n * np.log1p(1 / N),
                               atol=1e-8)
    np.testing.assert_allclose(r.extra["system_heat"][1][0], -r.heat[0], atol=1e-12)


def _two_baths() -> qb.Model:
    return qb.Model((qb.Mode("a", frequency=1.3), qb.Mode("b")),
                    couplings=(qb.Coupling(("a", "b"), 0.1),),
                    baths=(qb.Bath("a", 0.02, temperature=1.0),
                           qb.Bath("b", 0.02, temperature=0.9)))


def test_local_equation_violates_the_second_law_global_does_not() -> None:
    t = np.linspace(0.0, 3000.0, 3001)
    local = qb.solve(_two_baths(), t, method="gaussian")
    glob = qb.solve(_two_baths(), t, method="gaussian",
                    options=qb.SolverOptions(master_equation="global"))
    j_local, j_global = local.extra["system_heat"][1][:, -1], glob.extra["system_heat"][1][:, -1]
    assert j_local[0] < 0 < j_local[1]  # local: heat leaves into the hot bath, from the cold
    assert j_global[0] > 0 > j_global[1]  # global: from hot to cold
    rate_local = -(j_local[0] / 1.0 + j_local[1] / 0.9)
    assert rate_local < -1e-5
    assert np.diff(local.extra["entropy_production"][1])[-1] < 0
    assert np.all(np.diff(glob.extra["entropy_production"][1]) > -1e-12)


@pytest.mark.parametrize("equation", ["local", "global"])
def test_driven_catalyst_entropy_production_is_positive(equation: str) -> None:
    m = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 1.0, catalyst="oscillator")
    t = np.linspace(0.0, 200.0, 401)
    r = qb.solve(m, t, method="gaussian", options=qb.SolverOptions(master_equation=equation))
    sigma = r.extra["entropy_production"][1]
    assert sigma[0] == 0.0 and np.all(np.diff(sigma) > 0)


def test_no_entropy_production_without_a_thermal_bath() -> None:
    r = qb.solve(qb.bare_model(0.2, 0.1, 0.05), [0.0, 1.0], method="gaussian")
    assert "entropy_production" not in r.extra
