"""The nonreciprocal battery builder and the `nonreciprocal` and `dephasing` figures.

The shared-reservoir pair's closed form for the test helper's symmetric losses is in
tests/test_dissipators.py (test_nonreciprocal_steady_state_from_its_linear_equations);
here: the builder (unequal losses, the phase convention) in Gaussian and Fock, one-way
flow in both directions, the reservoir's heat and the balance, and the figures' data.
"""

from __future__ import annotations

import numpy as np
import pytest

import qbattery as qb
from qbattery.figures import dephasing, nonreciprocal
from qbattery.solvers.gaussian import steady_state

G, F, GAMMA, GAMMA_B = 0.2, 0.05, 0.1, 0.04
TIGHT = qb.SolverOptions(rtol=1e-10, atol=1e-12)


def _closed_form() -> tuple[complex, complex]:
    """alpha_a = -iF/(g + gamma/2), alpha_b = -2ig alpha_a/(g + gamma_b/2) at Gamma = 2g."""
    a = -1j * F / (G + GAMMA / 2)
    return a, -2j * G * a / (G + GAMMA_B / 2)


def test_builder_drift_is_one_way() -> None:
    """A_ab = -ig - (Gamma/2) e^{i phi} = 0 and A_ba = -2ig at phi = -pi/2, Gamma = 2g;
    phi = +pi/2 swaps them; phi = 0 is reciprocal (A_ab = A_ba)."""
    A = qb.terms.compile_model(qb.nonreciprocal_model(G, F, GAMMA, gamma_b=GAMMA_B)
                               ).drift_dense()
    np.testing.assert_allclose(A, [[-(G + GAMMA / 2), 0], [-2j * G, -(G + GAMMA_B / 2)]],
                               atol=1e-15)
    A = qb.terms.compile_model(qb.nonreciprocal_model(G, F, phase=np.pi / 2)).drift_dense()
    assert abs(A[1, 0]) < 1e-15 and abs(A[0, 1] + 2j * G) < 1e-15
    A = qb.terms.compile_model(qb.nonreciprocal_model(G, F, phase=0.0)).drift_dense()
    assert abs(A[0, 1] - A[1, 0]) < 1e-15
    assert not qb.nonreciprocal_model(G, F, rate=0.0).dissipators


@pytest.mark.parametrize("method", ["gaussian", "fock"])
def test_steady_state_matches_the_closed_form(method: str) -> None:
    """The long-time state is the coherent state (alpha_a, alpha_b) of the linear
    equations 0 = A alpha - iF e_a: E_B/E_A = (2g/(g + gamma_b/2))^2, W = E."""
    model = qb.nonreciprocal_model(G, F, GAMMA, gamma_b=GAMMA_B)
    a, b = _closed_form()
    steady = steady_state(model)
    assert steady is not None
    np.testing.assert_allclose(steady[0], [a, b], atol=1e-14)
    opts = TIGHT if method == "gaussian" else qb.SolverOptions(
        cutoff={"charger": 8, "battery": 10}, rtol=1e-9, atol=1e-11)
    r = qb.solve(model, np.array([0.0, 60.0, 120.0]), method=method, options=opts)
    tol = 1e-9 if method == "gaussian" else 1e-6
    np.testing.assert_allclose(r.amplitude[:, -1], [a, b], atol=tol)
    np.testing.assert_allclose(r.energy[:, -1], np.abs([a, b]) ** 2, atol=tol)
    np.testing.assert_allclose(r.ergotropy[:, -1], r.energy[:, -1], atol=tol)


@pytest.mark.parametrize("method", ["gaussian", "fock"])
def test_one_way_flow(method: str) -> None:
    """Driving the battery leaves the charger empty at all times (phi = -pi/2); with
    phi = +pi/2 the direction reverses: driving the charger leaves the battery empty."""
    t = np.linspace(0, 30, 7)
    opts = qb.SolverOptions(cutoff={"charger": 8, "battery": 8}, rtol=1e-9, atol=1e-11) \
        if method == "fock" else TIGHT
    back = qb.solve(qb.nonreciprocal_model(G, F, GAMMA, drive="battery"), t, method=method,
                    options=opts)
    assert np.max(back.energy[0]) < 1e-10 and back.energy[1, -1] > 0.05
    rev = qb.solve(qb.nonreciprocal_model(G, F, GAMMA, phase=np.pi / 2), t, method=method,
                   options=opts)
    assert np.max(rev.energy[1]) < 1e-10 and rev.energy[0, -1] > 0.01


def test_reservoir_heat_and_energy_balance() -> None:
    """At N = 0 the state is coherent and the shared reservoir takes Gamma |<a - ib>|^2
    (omega = 1); in the steady state the drive's power equals the heat of both channels;
    with warm, unequal baths the local energy balance closes at every time."""
    model = qb.nonreciprocal_model(G, F, GAMMA, gamma_b=GAMMA_B)
    r = qb.solve(model, np.linspace(0, 150, 4), method="gaussian", options=TIGHT)
    a, b = _closed_form()
    heat = 2 * G * abs(a - 1j * b) ** 2
    np.testing.assert_allclose(r.heat[-1, -1], heat, rtol=1e-8)  # rows: baths, then reservoir
    np.testing.assert_allclose(r.drive_power[0, -1], r.heat[:, -1].sum(), rtol=1e-8)
    warm = qb.nonreciprocal_model(G, F, GAMMA, 0.3, gamma_b=GAMMA_B, reservoir_n_th=0.1)
    t = np.linspace(0, 6, 601)
    w = qb.solve(warm, t, method="gaussian")
    E, h = w.energy.sum(0), t[1] - t[0]
    dE = (E[:-4] - 8 * E[1:-3] + 8 * E[3:-1] - E[4:]) / (12 * h)
    np.testing.assert_allclose(dE, w.power_balance()[2:-2], atol=1e-7)


def test_bad_arguments_name_their_field() -> None:
    with pytest.raises(qb.ModelError, match=r"^rate: must be >= 0"):
        qb.nonreciprocal_model(G, F, rate=-1.0)
    with pytest.raises(qb.ModelError, match=r"^drive: expected 'charger' or 'battery'"):
        qb.nonreciprocal_model(G, F, drive="catalyst")


def test_nonreciprocal_figure_on_a_short_window() -> None:
    """The figure's data: steady states equal the closed forms (ratio -> 4 as kappa -> 0),
    the reverse run leaves the charger empty, W_B <= E_B."""
    ds = nonreciprocal.compute(stop_gt=3.0, points=7)
    assert ds.energy.shape == (len(nonreciprocal.PROTOCOLS), 7)
    assert float(ds.reverse_charger_energy.max()) < 1e-12
    assert np.all(ds.ergotropy <= ds.energy + 1e-9)
    for name in ("nonreciprocal", "reciprocal (bare at ω)"):
        np.testing.assert_allclose(ds.steady_energy.sel(steady=name),
                                   ds.closed_form.sel(steady=name), rtol=1e-9)
    ratio = ds.steady_energy.sel(steady="nonreciprocal") / ds.steady_energy.sel(
        steady="reciprocal (bare at ω)")
    assert 3.9 < float(ratio[0]) < 4.0  # kappa = 0.01 g: the "fourfold" limit


def test_dephasing_figure_trend_on_a_short_window() -> None:
    """gamma_phi/g = 0 and 0.3 to g t = 5: dephasing heats the qubit and turns part of the
    battery's energy passive (E_B - W_B grows); at this early time it slows the battery's
    charging by ~8 % (at g t = 20 it no longer does: README), far above the bare battery."""
    ds = dephasing.compute(rates=(0.0, 0.3), stop_gt=5.0, points=6)
    passive = (ds.energy - ds.ergotropy).isel(time=-1).values
    heat = ds.catalyst_energy.isel(time=-1).values
    assert passive[1] > passive[0] >= -1e-9
    assert heat[1] > heat[0]
    w = ds.ergotropy.isel(time=-1).values
    assert 0.85 * w[0] < w[1] < w[0]
    assert np.all(w > 5 * float(ds.bare_ergotropy[-1]))


@pytest.mark.slow
def test_dephased_catalyst_displaced_matches_fock() -> None:
    """The dephasing figure's model at gamma_phi = 0.3 g to g t = 5: the displaced frame
    at the default tolerances against the lab-frame Fock engine (the README's numbers at
    g t = 20 were checked the same way by hand)."""
    model = dephasing.dephased_catalyst(0.3)
    t = np.linspace(0, 5.0 / dephasing.G, 11)
    disp = qb.solve(model, t, method="displaced")
    fock = qb.solve(model, t, method="fock")
    np.testing.assert_allclose(disp.energy, fock.energy, atol=2e-5)
    np.testing.assert_allclose(disp.ergotropy, fock.ergotropy, atol=2e-5)
