"""The exact Gaussian solver against closed forms, an independent ODE integration,
QuTiP mesolve, and invariants (see tests/README.md for the analytic systems)."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import moment_odes, qutip_reference

import qbattery as qb
from qbattery.solvers.gaussian import invariant_subspace, steady_state

G, F, GAMMA = 0.2, 0.1, 0.05


def test_noiseless_bare_model_closed_form(times: np.ndarray) -> None:
    r = qb.solve(qb.bare_model(G, F), times, method="gaussian")
    beta = -(F / G) * (1 - np.cos(G * times))
    alpha = -1j * (F / G) * np.sin(G * times)
    np.testing.assert_allclose(r["battery"]["amplitude"], beta, atol=1e-12)
    np.testing.assert_allclose(r["charger"]["amplitude"], alpha, atol=1e-12)
    np.testing.assert_allclose(r["battery"]["energy"], (F / G) ** 2 * (1 - np.cos(G * times)) ** 2,
                               atol=1e-12)
    # a pure coherent state: all energy is ergotropy; maximum 4 (F/g)^2
    np.testing.assert_allclose(r.ergotropy, r.energy, atol=1e-12)
    long = qb.solve(qb.bare_model(G, F), [np.pi / G], method="gaussian")
    assert long["battery"]["energy"][0] == pytest.approx(4 * (F / G) ** 2, rel=1e-12)


def test_resonant_undamped_drive_grows_linearly() -> None:
    """A single undamped resonant oscillator: <a> = -i F t exactly (defective augmented drift)."""
    model = qb.Model(modes=(qb.Mode("a"),), drives=(qb.Drive("a", F, 1.0),))
    t = np.array([0.0, 1.0, 10.0, 1000.0, 1e5])
    r = qb.solve(model, t)
    np.testing.assert_allclose(r.amplitude[0], -1j * F * t, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("n_th", "omega_f", "battery"), [
    (0.0, 1.0, -F / G),            # Delta = 0: <a> -> 0, <b> -> -F/g
    (1.0, 1.0, -F / G),
    (0.0, 1.0 + G, -2j * F / GAMMA),  # drive at omega + g: <a> = <b> = -2iF/gamma
    (1.0, 1.0 + G, -2j * F / GAMMA),
])
def test_damped_bare_model_steady_state(n_th: float, omega_f: float, battery: complex) -> None:
    """Hand-derived long-time limits; the battery thermalises to N through the charger."""
    model = qb.bare_model(G, F, GAMMA, n_th, omega_f=omega_f)
    r = qb.solve(model, [4000.0])
    assert r["battery"]["amplitude"][0] == pytest.approx(battery, abs=1e-8)
    assert r["battery"]["occupation"][0] == pytest.approx(abs(battery) ** 2 + n_th, abs=1e-8)
    assert r["battery"]["ergotropy"][0] == pytest.approx(abs(battery) ** 2, abs=1e-8)
    limit = steady_state(model)
    assert limit is not None
    assert limit[0][1] == pytest.approx(battery, abs=1e-12)
    assert limit[1][1] == pytest.approx(abs(battery) ** 2 + n_th, abs=1e-12)


def _random_network(seed: int) -> qb.Model:
    rng = np.random.default_rng(seed)
    names = [f"m{i}" for i in range(4)]
    modes = tuple(qb.Mode(n, frequency=1 + 0.1 * rng.standard_normal(),
                          initial_occupation=float(rng.uniform(0, 0.5)),
                          initial_amplitude=complex(*rng.normal(0, 0.3, 2))) for n in names)
    couplings = tuple(qb.Coupling((names[i], names[j]), float(rng.uniform(-0.3, 0.3)))
                      for i in range(4) for j in range(i + 1, 4) if rng.random() < 0.7)
    drives = (qb.Drive("m0", 0.1, 1.0), qb.Drive("m2", 0.05, 1.13))  # two frequencies
    baths = (qb.Bath("m0", 0.05, occupation=1.0), qb.Bath("m3", 0.02, temperature=0.7))
    return qb.Model(modes, couplings, drives, baths)


@pytest.mark.parametrize("model", [
    _random_network(1), _random_network(2),
    qb.bare_model(G, F, GAMMA, 1.0, omega_f=1.0 + G),
    qb.catalytic_model(0.2, 0.13, F, GAMMA, 0.02, 0.5, catalyst="oscillator", omega_q=1.1),
    # exceptional point of the damped pair: g = gamma / 4 makes the drift matrix defective
    qb.bare_model(GAMMA / 4, F, GAMMA, 0.3),
], ids=["random1", "random2", "bare-resonant-thermal", "catalytic-detuned", "exceptional-point"])
def test_against_independent_ode(model: qb.Model) -> None:
    t = np.linspace(0.0, 80.0, 161)
    r = qb.solve(model, t, method="gaussian")
    amps, occ = moment_odes(model, t)
    np.testing.assert_allclose(r.amplitude, amps, atol=1e-9)
    np.testing.assert_allclose(r.occupation, occ, atol=1e-9)


def test_multicell_star_reduces_exactly() -> None:
    """A catalyst with 25 resonant cells lives in a <= 4-dimensional invariant subspace."""
    rng = np.random.default_rng(3)
    model = qb.multicell_model(0.2, rng.uniform(0.05, 0.3, 25), F, GAMMA, 0.0, 0.5,
                               catalyst="oscillator")
    t = np.linspace(0.0, 40.0, 41)
    r = qb.solve(model, t)
    assert r.stats["subspace_dimension"] <= 4
    amps, occ = moment_odes(model, t)
    np.testing.assert_allclose(r.amplitude, amps, atol=1e-9)
    np.testing.assert_allclose(r.occupation, occ, atol=1e-9)


def test_invariant_subspace_is_invariant() -> None:
    rng = np.random.default_rng(0)
    A = rng.standard_normal((30, 30)) + 1j * rng.standard_normal((30, 30))
    Q = invariant_subspace(A, [rng.standard_normal(30)])
    assert Q.shape == (30, 30)  # generic matrix: the Krylov space is everything
    np.testing.assert_allclose(Q.conj().T @ Q, np.eye(30), atol=1e-12)
    B = np.diag(np.repeat([1.0, 2.0, 3.0], 10)).astype(complex)
    Qb = invariant_subspace(B, [np.ones(30)])
    assert Qb.shape[1] == 3
    resid = B @ Qb - Qb @ (Qb.conj().T @ B @ Qb)
    assert np.max(np.abs(resid)) < 1e-12


def test_energy_bookkeeping_closes() -> None:
    """dE_total/dt (finite differences) = sum P_drive - sum heat + sum P_coupling."""
    model = _random_network(5)
    t = np.linspace(0.0, 40.0, 8001)
    r = qb.solve(model, t)
    dedt = np.gradient(r.energy.sum(0), t, edge_order=2)
    balance = r.power_balance()
    assert np.max(np.abs(dedt - balance)) < 1e-6 * max(1.0, np.max(np.abs(balance)))
    assert np.max(np.abs(r.coupling_power)) > 1e-3  # detuned couplings do exchange energy


def test_invariants_of_results(times: np.ndarray) -> None:
    for n_th in (0.0, 1.0):
        r = qb.solve(qb.bare_model(G, F, GAMMA, n_th), times)
        assert np.all(r.ergotropy >= -1e-12)
        assert np.all(r.ergotropy <= r.energy + 1e-12)
        assert np.all(r.occupation >= -1e-12)


def test_against_qutip_mesolve() -> None:
    """QuTiP mesolve of the same master equation at a cutoff with negligible truncation."""
    pytest.importorskip("qutip")
    model = qb.bare_model(G, 0.04, GAMMA, 0.2, omega_f=1.0 + 0.5 * G)
    t = np.linspace(0.0, 30.0, 61)
    ref = qutip_reference(model, t, cutoff=12)  # truncation error < 1e-9 here
    r = qb.solve(model, t)
    np.testing.assert_allclose(r.occupation, ref["occupation"], atol=1e-8)
    np.testing.assert_allclose(r.amplitude, ref["amplitude"], atol=1e-8)


def test_auto_picks_gaussian_and_refuses_qubits() -> None:
    assert qb.choose_method(qb.bare_model(G, F)) == "gaussian"
    with pytest.raises(qb.UnsupportedMethodError, match="qubits: catalyst"):
        qb.solve(qb.catalytic_model(G, G, F), [1.0], method="gaussian")


@pytest.mark.parametrize("stop", [4000.0, 1e6])
def test_one_long_step_does_not_lose_the_covariance(stop: float) -> None:
    """Regression: Van Loan's exp([[A, D], [0, -A^dag]] h) grows like exp(gamma h / 2);
    one output step of 4000 at gamma = 0.05 returned <n> ~ 1e10 instead of N. Long steps
    are now halved and composed."""
    model = qb.bare_model(0.2, 0.0, 0.05, 1.0)
    r = qb.solve(model, [0.0, stop], method="gaussian")
    np.testing.assert_allclose(r.occupation[:, -1], [1.0, 1.0], atol=1e-9)


def test_one_long_step_with_unequal_decay_rates() -> None:
    """Regression (reported with the nonreciprocal work): gamma = 1 on the charger of the
    bare pair, one output step of 200, returned occupations of +-5e10."""
    r = qb.solve(qb.bare_model(0.2, 0.0, 1.0, 1.0), [0.0, 200.0], method="gaussian")
    np.testing.assert_allclose(r.occupation[:, -1], [1.0, 1.0], atol=1e-9)
