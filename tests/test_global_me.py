"""The global (dressed) master equation (issue 16; :mod:`qbattery.terms.dressed`).

Closed forms (tests/README.md, system 14):
- the undriven steady state of the global equation with one bath temperature T is
  the Gibbs state of the coupled network: C = <a_j^dag a_i> = (U diag(N(Omega_k)) U^dag)_ij,
  M = U Omega U^dag the single-particle Hamiltonian; the local equation's is C = N I
  (every mode at the bath's occupation N(omega_a), whatever its frequency: not Gibbs);
- degenerate normal modes (a dark mode at omega with an oscillator catalyst) form one
  Bohr frequency.
Independent methods: Gaussian (exact) vs Fock vs displaced on a driven thermal model.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import qbattery as qb

GLOBAL = qb.SolverOptions(master_equation="global")


def _pair(wb: float = 1.3, g: float = 0.2, gamma: float = 0.05, n: float = 1.0,
          spectral: str = "flat") -> qb.Model:
    return qb.Model((qb.Mode("a"), qb.Mode("b", frequency=wb)),
                    couplings=(qb.Coupling(("a", "b"), g),),
                    baths=(qb.Bath("a", gamma, occupation=n, spectral_density=spectral),))


def _gibbs(model: qb.Model, temperature: float) -> np.ndarray:
    wb = model.modes[1].frequency
    g = model.couplings[0].strength
    M = np.array([[1.0, g], [g, wb]])
    omega, U = np.linalg.eigh(M)
    return (U * (1.0 / np.expm1(omega / temperature))) @ U.conj().T


@pytest.mark.parametrize("spectral", ["flat", "ohmic"])
def test_global_steady_state_is_the_gibbs_state(spectral: str) -> None:
    model = _pair(spectral=spectral)
    temperature = 1.0 / np.log(2.0)  # N = 1 at omega_a = 1
    r = qb.solve(model, [0.0, 4000.0], method="gaussian", options=GLOBAL)
    assert isinstance(r.final_state, qb.GaussianState)
    np.testing.assert_allclose(r.final_state.covariance, _gibbs(model, temperature),
                               atol=1e-10)
    assert r.stats["secular_ratio"] > 1
    local = qb.solve(model, [0.0, 4000.0], method="gaussian")
    assert isinstance(local.final_state, qb.GaussianState)
    np.testing.assert_allclose(local.final_state.covariance, np.eye(2), atol=1e-10)
    # the local equation is not Gibbs: b sits at N(omega_a) = 1, not N(1.3 omega)
    assert abs(local.occupation[1, -1] - _gibbs(model, temperature)[1, 1].real) > 0.1


def test_global_equals_local_without_coupling() -> None:
    model = _pair(g=0.0)
    t = np.linspace(0.0, 50.0, 11)
    a = qb.solve(model, t, method="gaussian", options=GLOBAL)
    b = qb.solve(model, t, method="gaussian")
    np.testing.assert_allclose(a.occupation, b.occupation, atol=1e-13)


def test_degenerate_dark_mode_is_one_bohr_frequency() -> None:
    """Oscillator catalyst: normal modes omega - sqrt2 g, omega (the dark mode), omega +
    sqrt2 g. The bath on the charger reaches the dark mode too; undriven, the network
    thermalises to the Gibbs state (every normal mode at N(Omega_k))."""
    m = qb.catalytic_model(0.2, 0.2, 0.0, 0.05, 0.0, 0.5, catalyst="oscillator")
    r = qb.solve(m, [0.0, 6000.0], method="gaussian", options=GLOBAL)
    M = np.array([[1.0, 0.2, 0.0], [0.2, 1.0, 0.2], [0.0, 0.2, 1.0]])
    omega, U = np.linalg.eigh(M)
    np.testing.assert_allclose(omega, [1 - 0.2 * np.sqrt(2), 1.0, 1 + 0.2 * np.sqrt(2)])
    temperature = 1.0 / np.log(3.0)  # N = 0.5 at omega = 1
    gibbs = (U * (1.0 / np.expm1(omega / temperature))) @ U.T
    assert isinstance(r.final_state, qb.GaussianState)
    np.testing.assert_allclose(r.final_state.covariance, gibbs, atol=1e-9)
    assert r.stats["secular_ratio"] == pytest.approx(0.2 * np.sqrt(2) / 0.05)


@pytest.mark.parametrize("method", ["fock", "displaced"])
def test_global_gaussian_equals_density_engines(method: str) -> None:
    """Driven bare model at omega + g, thermal (N = 0.3): exact Gaussian vs a density
    engine (each bath's dressed jumps act on both modes)."""
    m = qb.bare_model(0.2, 0.05, 0.05, 0.3, omega_f=1.2)
    t = np.linspace(0.0, 15.0, 16)
    g = qb.solve(m, t, method="gaussian", options=GLOBAL)
    d = qb.solve(m, t, options=dataclasses.replace(GLOBAL, method=method, rtol=1e-9,
                                                   atol=1e-11, truncation_tol=1e-8))
    np.testing.assert_allclose(d.energy, g.energy, atol=2e-6)
    np.testing.assert_allclose(d.ergotropy, g.ergotropy, atol=2e-6)
    np.testing.assert_allclose(d.heat, g.heat, atol=2e-6)


def test_global_energy_balance_closes() -> None:
    m = qb.bare_model(0.2, 0.1, 0.05, 1.0)
    t = np.linspace(0.0, 30.0, 601)
    r = qb.solve(m, t, method="gaussian", options=GLOBAL)
    dE = np.gradient(r.energy.sum(0), t, edge_order=2)
    np.testing.assert_allclose(dE[2:-2], r.power_balance()[2:-2], atol=2e-4)
    assert r.heat.shape == (1, t.size)  # one row per bath, its dressed parts summed


def test_global_refuses_what_it_cannot_dress() -> None:
    qubit = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, catalyst="qubit")
    with pytest.raises(qb.ModelError, match=r"master_equation.*modes\[1\] 'catalyst' \(qubit\)"):
        qb.solve(qubit, [0.0, 1.0], options=GLOBAL)
    close = _pair(wb=1.0, g=0.01, gamma=0.05)
    with pytest.raises(qb.ModelError, match="secular approximation"):
        qb.solve(close, [0.0, 1.0], options=GLOBAL)
    with pytest.raises(qb.ModelError, match="master_equation"):
        qb.SolverOptions(master_equation="dressed")
    with pytest.raises(qb.ModelError, match="spectral_density"):
        qb.Bath("a", 0.1, spectral_density="lorentzian")


def test_local_global_figure_data() -> None:
    from qbattery.figures import local_global

    ds = local_global.compute()
    last = ds.isel(time=-1)
    # heat reaches the battery as passive energy under both equations (N = 1)
    np.testing.assert_allclose(last.passive.sel(equation="local"), 1.0, atol=2e-3)
    assert np.all(last.passive.sel(equation="global (flat)") > 1.03)
    # ohmic: the bare supermode at 1.2 omega decays at 1.2 gamma: W_B ~ 16 / 1.2^2 + ...
    bare = last.sel(protocol=local_global.PROTOCOLS[0])
    assert float(bare.ergotropy.sel(equation="global (ohmic)")) == pytest.approx(16 / 1.44,
                                                                                 rel=0.01)
    assert np.all(ds.secular_ratio.values > 4)
    assert np.all(np.isfinite(ds.energy.values))


def test_global_refuses_dipole_couplings_by_name() -> None:
    model = qb.Model((qb.Mode("a"), qb.Mode("b", frequency=1.3)),
                     couplings=(qb.Coupling(("a", "b"), 0.2, form="dipole"),),
                     baths=(qb.Bath("a", 0.05, occupation=1.0),))
    with pytest.raises(qb.ModelError, match=r"master_equation.*couplings\[0\] \(Dipole\)"):
        qb.solve(model, [0.0, 1.0], options=GLOBAL)
