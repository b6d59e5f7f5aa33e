"""Figures of merit (qbattery.merit, qbattery.merit_data): closed forms, oracles, engines."""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest
import qutip as qt
import xarray as xr
from scipy.stats import poisson

import qbattery as qb
from qbattery import merit
from qbattery.config import dumps_toml, loads_toml
from qbattery.errors import ModelError
from qbattery.hilbert import coherent_vector, displaced_thermal
from qbattery.merit_data import cumulative_integral, derivative

RNG = np.random.default_rng(20261202)


def _passive_sorted(p: np.ndarray, w: float) -> float:
    return float(w * np.sort(p)[::-1] @ np.arange(p.size))


# -- closed forms --------------------------------------------------------------------------------
@pytest.mark.parametrize("alpha", [0.3, 1.7 - 0.8j, 4.0j])
def test_coherent_state_split_is_poisson(alpha: complex) -> None:
    w = 1.3
    a2 = abs(alpha) ** 2
    p = poisson.pmf(np.arange(200), a2)
    w_inc = w * a2 - _passive_sorted(p, w)
    figs = merit.gaussian_local_figures(w, alpha, 0.0)
    assert figs["ergotropy"][0] == pytest.approx(w * a2, rel=1e-12)
    assert figs["incoherent_ergotropy"][0] == pytest.approx(w_inc, abs=1e-10)
    assert figs["coherent_ergotropy"][0] == pytest.approx(w * a2 - w_inc, abs=1e-10)
    assert figs["energy_variance"][0] == pytest.approx(w**2 * a2, rel=1e-12)
    psi = coherent_vector(alpha, 80)
    dense = merit.local_figures(np.outer(psi, psi.conj()) / (psi.conj() @ psi),
                                w * np.arange(80))
    for name in ("incoherent_ergotropy", "coherent_ergotropy", "energy_variance"):
        assert dense[name] == pytest.approx(figs[name][0], abs=1e-8)


@pytest.mark.parametrize("n", [0.2, 1.0, 3.5])
def test_thermal_state_has_no_ergotropy(n: float) -> None:
    w = 0.7
    figs = merit.gaussian_local_figures(w, 0.0, n)
    for name in ("ergotropy", "incoherent_ergotropy", "coherent_ergotropy"):
        assert abs(figs[name][0]) < 1e-12
    assert figs["energy_variance"][0] == pytest.approx(w**2 * n * (n + 1), rel=1e-12)
    rho = displaced_thermal(n, 0.0, 120)
    dense = merit.local_figures(rho, w * np.arange(120))
    assert abs(dense["ergotropy"]) < 1e-10
    assert dense["energy_variance"] == pytest.approx(figs["energy_variance"][0], rel=1e-8)


@pytest.mark.parametrize(("alpha", "n"), [(1.2 + 0.5j, 0.3), (2.5, 1.0), (0.1j, 2.0)])
def test_displaced_thermal_against_density_matrix(alpha: complex, n: float) -> None:
    w = 1.1
    figs = merit.gaussian_local_figures(w, alpha, n)
    dim = 140
    dense = merit.local_figures(displaced_thermal(n, alpha, dim), w * np.arange(dim))
    for name in ("energy", "ergotropy", "incoherent_ergotropy", "coherent_ergotropy",
                 "energy_variance"):
        assert dense[name] == pytest.approx(figs[name][0], abs=1e-8), name
    # the Laguerre formula of BEYOND.md, term by term, against the recursion
    from scipy.special import eval_laguerre

    k = np.arange(30)
    x = -abs(alpha) ** 2 / (n * (1 + n))
    closed = (n**k / (1 + n) ** (k + 1) * np.exp(-abs(alpha) ** 2 / (1 + n))
              * eval_laguerre(k, x))
    rec = merit.displaced_thermal_distribution(alpha, n)[0]
    assert np.max(np.abs(rec[:30] - closed)) < 1e-12


@pytest.mark.parametrize(("alpha", "xi", "nth"), [(0.5, 0.3 * np.exp(0.2j), 0.0),
                                                  (1.0 + 0.5j, 0.5 * np.exp(1j), 0.4),
                                                  (0.0, 0.8, 0.0)])
def test_squeezed_states_against_qutip(alpha: complex, xi: complex, nth: float) -> None:
    dim, w = 110, 0.9
    rho = (qt.displace(dim, alpha) * qt.squeeze(dim, xi) * qt.thermal_dm(dim, nth)
           * qt.squeeze(dim, xi).dag() * qt.displace(dim, alpha).dag())
    a = qt.destroy(dim)
    mean = complex(qt.expect(a, rho))
    n = float(qt.expect(a.dag() * a, rho)) - abs(mean) ** 2
    m = complex(qt.expect(a * a, rho)) - mean**2
    figs = merit.gaussian_local_figures(w, mean, n, m)
    dense = merit.local_figures(rho.full(), w * np.arange(dim))
    for name in dense:
        assert dense[name] == pytest.approx(figs[name][0], abs=1e-8), name


@pytest.mark.parametrize("alpha", [0.3 + 0.1j, 2 - 1j, -4 + 0.5j, 7j])
def test_displaced_distribution_against_expm(alpha: complex) -> None:
    """Lab-frame Fock distribution of D(alpha) rho' D(alpha)^dag (displaced engine's hook)."""
    import scipy.linalg as sla

    from qbattery.hilbert.space import ladder

    rho = _random_state(12, 12)
    big = 12 + 200
    a = ladder(big).toarray()
    cols = sla.expm(alpha * a.T - np.conj(alpha) * a)[:, :12]
    ref = np.real(np.diagonal(cols @ rho @ cols.conj().T))
    p = merit.displaced_distribution(rho, alpha)
    k = min(p.size, ref.size)
    assert np.max(np.abs(p[:k] - ref[:k])) < 1e-13
    assert abs(p.sum() - 1) < 1e-12


def test_qubit_with_coherence_closed_form() -> None:
    w = 1.4
    for p, c in [(0.3, 0.2 + 0.1j), (0.8, 0.3j), (0.5, 0.45)]:
        rho = np.array([[1 - p, c], [np.conj(c), p]])
        radius = math.hypot(p - 0.5, abs(c))
        w_total = w * (p - 0.5 + radius)
        w_inc = w * max(0.0, 2 * p - 1)
        figs = merit.local_figures(rho, [0.0, w], finite=True)
        assert figs["ergotropy"] == pytest.approx(w_total, abs=1e-14)
        assert figs["incoherent_ergotropy"] == pytest.approx(w_inc, abs=1e-14)
        assert figs["coherent_ergotropy"] == pytest.approx(w_total - w_inc, abs=1e-14)
        assert figs["capacity"] == pytest.approx(2 * w * radius, abs=1e-14)
        assert figs["energy_variance"] == pytest.approx(w**2 * p * (1 - p), abs=1e-14)


def test_capacity_of_a_three_level_state() -> None:
    eps = np.array([0.0, 1.0, 2.5])
    spectrum = np.array([0.1, 0.6, 0.3])
    assert merit.capacity(spectrum, eps) == pytest.approx(2.5 * 0.5, abs=1e-15)
    # capacity = largest minus smallest energy on the unitary orbit: sampled orbits stay inside
    for _ in range(200):
        u = np.linalg.qr(RNG.normal(size=(3, 3)) + 1j * RNG.normal(size=(3, 3)))[0]
        e = float(np.real(np.trace(u @ np.diag(spectrum) @ u.conj().T @ np.diag(eps))))
        assert 0.55 - 1e-12 <= e <= 1.8 + 1e-12
    with pytest.raises(ValueError, match="capacity"):
        merit.capacity([0.5, 0.5], eps)


# -- invariants ----------------------------------------------------------------------------------
def _random_state(dim: int, rank: int) -> np.ndarray:
    x = RNG.normal(size=(dim, rank)) + 1j * RNG.normal(size=(dim, rank))
    rho = x @ x.conj().T
    return rho / np.trace(rho).real


@pytest.mark.parametrize("dim", [2, 3, 8])
def test_invariants_of_random_states(dim: int) -> None:
    for _ in range(50):
        rho = _random_state(dim, int(RNG.integers(1, dim + 1)))
        figs = merit.local_figures(rho, 1.3 * np.arange(dim), finite=True)
        assert -1e-12 <= figs["incoherent_ergotropy"] <= figs["ergotropy"] + 1e-12
        assert figs["ergotropy"] <= figs["energy"] + 1e-12
        assert figs["coherent_ergotropy"] >= 0
        assert figs["capacity"] >= figs["ergotropy"] - 1e-12 >= -1e-12
    alpha = RNG.normal(size=40) + 1j * RNG.normal(size=40)
    n = RNG.exponential(size=40)
    m = np.sqrt(n * (n + 1)) * RNG.uniform(size=40) * np.exp(2j * np.pi * RNG.uniform(size=40))
    figs_g = merit.gaussian_local_figures(0.8, alpha, n, m)
    assert np.all(figs_g["incoherent_ergotropy"] >= 0)
    assert np.all(figs_g["incoherent_ergotropy"] <= figs_g["ergotropy"] + 1e-12)
    assert np.all(figs_g["ergotropy"] <= figs_g["energy"] + 1e-12)
    assert np.all(figs_g["coherent_ergotropy"] >= 0)


# -- collective ----------------------------------------------------------------------------------
def _two_mode(n1: float, n2: float, theta: float, a1: complex, a2: complex, dims=(40, 12)
              ) -> tuple[qt.Qobj, np.ndarray, np.ndarray]:
    a = qt.tensor(qt.destroy(dims[0]), qt.qeye(dims[1]))
    b = qt.tensor(qt.qeye(dims[0]), qt.destroy(dims[1]))
    bs = (theta * (a.dag() * b - a * b.dag())).expm()
    disp = (a1 * a.dag() - np.conj(a1) * a + a2 * b.dag() - np.conj(a2) * b).expm()
    rho = disp * bs * qt.tensor(qt.thermal_dm(dims[0], n1), qt.thermal_dm(dims[1], n2)) \
        * bs.dag() * disp.dag()
    ops = [a, b]
    mean = np.array([complex(qt.expect(x, rho)) for x in ops])
    cov = np.array([[complex(qt.expect(ops[j].dag() * ops[i], rho)) - np.conj(mean[j]) * mean[i]
                     for j in range(2)] for i in range(2)])
    return rho, mean, cov


def _dense_collective(rho: qt.Qobj, w: np.ndarray, dims: tuple[int, int]) -> float:
    """Joint ergotropy of a truncated two-mode density matrix, its passive state paired with the
    lowest levels of the untruncated H (the truncated grid lacks levels above its corner)."""
    r = rho.full()
    levels = np.add.outer(w[0] * np.arange(dims[0]), w[1] * np.arange(dims[1])).ravel()
    energy = float(np.real(np.diagonal(r)) @ levels)
    return energy - merit.passive_energy(np.linalg.eigvalsh(r),
                                         merit.lowest_energies(w, levels.size))


def test_collective_ergotropy_beats_gaussian_unitaries() -> None:
    """Product of thermal states at different temperatures: Gaussian-passive (W_G = 0) but not
    passive (the level (2, 0) is more populated than (0, 1)), so W > 0; checked against the
    density matrix."""
    w = np.array([1.0, 1.0])
    dims = (45, 10)
    rho, mean, cov = _two_mode(1.0, 0.05, 0.0, 0, 0, dims)
    out = merit.collective_ergotropy(w, mean, cov)
    dense = _dense_collective(rho, w, dims)
    assert abs(out["gaussian_ergotropy"]) < 1e-10
    assert out["ergotropy"] > 0.01
    assert out["ergotropy"] == pytest.approx(dense, abs=1e-8)
    assert out["dropped_mass"] <= 1e-12


def test_collective_ergotropy_correlated_displaced() -> None:
    w = np.array([1.0, 1.6])
    dims = (30, 24)
    rho, mean, cov = _two_mode(0.6, 0.1, 0.5, 0.4 + 0.2j, -0.3j, dims)
    out = merit.collective_ergotropy(w, mean, cov)
    levels = np.add.outer(w[0] * np.arange(dims[0]), w[1] * np.arange(dims[1])).ravel()
    energies = np.diag(levels)
    assert out["energy"] == pytest.approx(float(np.real(np.trace(rho.full() @ energies))),
                                          abs=1e-8)
    assert out["ergotropy"] == pytest.approx(_dense_collective(rho, w, dims), abs=1e-8)
    # on the truncated grid's own levels (collective_ergotropy_density) the passive state
    # can only sit higher: a lower bound
    assert merit.collective_ergotropy_density(rho.full(), levels) <= out["ergotropy"] + 1e-10
    assert out["ergotropy"] >= out["gaussian_ergotropy"] - 1e-12
    local = sum(merit.local_figures(rho.ptrace(i).full(), w[i] * np.arange(dims[i]))["ergotropy"]
                for i in range(2))
    assert out["ergotropy"] >= local - 1e-10


def test_lowest_energies() -> None:
    assert list(merit.lowest_energies([1.0, 2.5], 6)) == [0.0, 1.0, 2.0, 2.5, 3.0, 3.5]


# -- result-level --------------------------------------------------------------------------------
def test_derivative_and_integral_orders() -> None:
    t = np.linspace(0, 10, 201)
    y = np.sin(0.7 * t) + 0.1 * t**2
    assert np.max(np.abs(derivative(y, t) - (0.7 * np.cos(0.7 * t) + 0.2 * t))) < 1e-5
    exact = (1 - np.cos(0.7 * t)) / 0.7 + 0.1 * t**3 / 3
    assert np.max(np.abs(cumulative_integral(np.sin(0.7 * t) + 0.1 * t**2, t) - exact)) < 1e-6


def test_power_and_drive_work_from_the_energy_balance() -> None:
    model = qb.bare_model(0.2, 0.1, 0.05, 0.5)
    t = np.linspace(0, 60, 601)
    ds = qb.solve(model, t).to_xarray()
    # sum_i dE_i/dt = sum P_drive - sum heat + sum P_coupling (exact, from the engine's moments)
    assert np.max(np.abs(ds["power"].sum("mode") - ds["power_balance"])) < 1e-6
    # W_drive(t) = E_tot(t) - E_tot(0) + int heat
    heat = cumulative_integral(ds["heat"].values.sum(0), t)
    work = ds["drive_work"].values.sum(0)
    balance = ds["total_energy"].values - ds["total_energy"].values[0] + heat
    assert np.max(np.abs(work - balance)) < 1e-6
    # undamped resonant drive on one oscillator: E = W_drive = F^2 t^2, P = 2 F^2 t
    lone = qb.Model(modes=(qb.Mode("battery"),), drives=(qb.Drive("battery", 0.1, 1.0),))
    ds1 = qb.solve(lone, t).to_xarray()
    assert np.max(np.abs(ds1["drive_work"].values[0] - 0.01 * t**2)) < 1e-9
    assert np.max(np.abs(ds1["power"].values[0] - 0.02 * t)) < 1e-9
    assert np.max(np.abs(ds1["average_power"].values[0] - 0.01 * t)) < 1e-9
    assert ds1["efficiency"].values[0] == 0.0
    assert np.allclose(ds1["efficiency"].values[1:], 1.0, atol=1e-9)


def test_summary_scalars_and_no_nan() -> None:
    model = qb.bare_model(0.2, 0.1, 0.05, 0.0, omega_f=1.2)
    t = np.linspace(0, 100, 201)
    ds = qb.solve(model, t).to_xarray()
    for name in ds.data_vars:
        assert not np.any(np.isnan(ds[name].values)), name
    avg = ds["average_power"].sel(mode="battery").values
    k = int(np.argmax(avg[1:])) + 1
    assert float(ds["max_average_power"].sel(mode="battery")) == avg[k]
    assert float(ds["charging_time"].sel(mode="battery")) == t[k]
    eb = ds["energy"].sel(mode="battery").values
    assert avg[k] == pytest.approx((eb[k] - eb[0]) / t[k])
    assert avg[0] == ds["power"].sel(mode="battery").values[0]
    assert list(ds["role"].values) == ["charger", "battery"]


# -- engines -------------------------------------------------------------------------------------
def _charged_catalytic() -> qb.Model:
    """Damped, with a battery that starts displaced and slightly thermal: p_1 > p_0, so its
    incoherent ergotropy is not zero (0.053)."""
    base = qb.catalytic_model(0.2, 0.1, 0.05, 0.1, 0.05, catalyst="oscillator")
    modes = list(base.modes)
    modes[2] = replace(modes[2], initial_amplitude=1.0 + 0.45j, initial_occupation=0.02)
    return replace(base, modes=tuple(modes))


_FIGURES = ("ergotropy", "incoherent_ergotropy", "coherent_ergotropy", "energy_variance",
            "power", "average_power", "drive_work")


def _agree(model: qb.Model, t: np.ndarray, names: tuple[str, ...],
           fock: qb.SolverOptions, displaced: qb.SolverOptions) -> xr.Dataset:
    ref = qb.solve(model, t, method="gaussian").to_xarray()
    for method, opts in (("fock", fock), ("displaced", displaced)):
        ds = qb.solve(model, t, method=method, options=opts).to_xarray()
        for name in names:
            err = float(np.max(np.abs(ds[name].values - ref[name].values)))
            assert err < 1e-6, (method, name, err)
    return ref


def test_engines_agree_on_figures_of_merit() -> None:
    opts = qb.SolverOptions(truncation_tol=1e-9, rtol=1e-10, atol=1e-12)
    ref = _agree(qb.catalytic_model(0.2, 0.1, 0.05, catalyst="oscillator"),
                 np.linspace(0, 12, 25), (*_FIGURES, "efficiency"), opts, opts)
    assert float(ref["efficiency"].max()) > 0.1


def test_engines_agree_on_the_ergotropy_split_of_a_mixed_displaced_battery() -> None:
    """Fixed cutoffs for the lab frame (auto would rerun); the displaced frame on auto.
    Efficiency is left out: with a charged battery and a drive work ~ 1e-3 at early times it
    amplifies the engines' 1e-9 differences."""
    fock = qb.SolverOptions(truncation_tol=1e-8, rtol=1e-9, atol=1e-11,
                            cutoff={"charger": 7, "catalyst": 10, "battery": 15})
    ref = _agree(_charged_catalytic(), np.linspace(0, 4, 9), _FIGURES, fock,
                 qb.SolverOptions(truncation_tol=1e-8, rtol=1e-9, atol=1e-11))
    assert float(ref["incoherent_ergotropy"].sel(mode="battery").max()) > 0.05


def test_qubit_capacity_in_results() -> None:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    t = np.linspace(0, 10, 11)
    ds = qb.solve(model, t, method="fock").to_xarray()
    cap = ds["capacity"].sel(finite_mode="catalyst").values
    erg = ds["ergotropy"].sel(mode="catalyst").values
    assert np.all(cap >= erg - 1e-12)
    assert np.all(erg >= -1e-12)
    assert np.all(cap <= 1.0 + 1e-12)
    assert np.all(ds["coherent_ergotropy"].values >= 0)


def test_gaussian_engine_collective_ergotropy() -> None:
    model = qb.multicell_model(0.2, [0.15, 0.25], 0.1, 0.05, n_th=0.5, catalyst="oscillator")
    ds = qb.solve(model, np.linspace(0, 40, 21)).to_xarray()
    coll = ds["collective_ergotropy"].values
    gauss = ds["collective_gaussian_ergotropy"].values
    local = ds["ergotropy"].sel(mode=["cell1", "cell2"]).sum("mode").values
    assert np.all(coll >= gauss - 1e-10)
    assert np.all(gauss >= local - 1e-10)
    assert np.max(coll - local) > 1e-4


def _two_cells() -> qb.Model:
    """Two cells with different thermal noise, one displaced: collectively more ergotropy."""
    base = qb.multicell_model(0.2, [0.15, 0.25], 0.1, 0.05, catalyst=None)
    modes = list(base.modes)
    modes[1] = replace(modes[1], initial_occupation=0.2)
    modes[2] = replace(modes[2], initial_amplitude=0.6, initial_occupation=0.05)
    return replace(base, modes=tuple(modes))


_TIGHT = {"truncation_tol": 1e-8, "rtol": 1e-9, "atol": 1e-11}


def _collective_agrees(method: str, opts: qb.SolverOptions) -> None:
    """The Gaussian engine's true collective ergotropy (moments) and a density-matrix
    engine's (joint spectrum) agree."""
    model, t = _two_cells(), np.linspace(0, 2, 3)
    ref = qb.solve(model, t).to_xarray()
    local = ref["ergotropy"].sel(mode=["cell1", "cell2"]).sum("mode").values
    assert np.all(ref["collective_ergotropy"].values > local + 1e-3)
    ds = qb.solve(model, t, method=method, options=opts).to_xarray()
    err = np.max(np.abs(ds["collective_ergotropy"].values - ref["collective_ergotropy"].values))
    assert err < 1e-6, (method, err)


def test_collective_ergotropy_gaussian_vs_displaced_engine() -> None:
    _collective_agrees("displaced", qb.SolverOptions(**_TIGHT))


@pytest.mark.slow
def test_collective_ergotropy_gaussian_vs_fock_engine() -> None:
    """~30 s: the lab-frame space is 12 x 12 x 13."""
    _collective_agrees("fock", qb.SolverOptions(**_TIGHT, cutoff={"charger": 12, "cell1": 12,
                                                                  "cell2": 13}))


# -- roles ---------------------------------------------------------------------------------------
def test_roles_default_validate_and_round_trip() -> None:
    model = qb.multicell_model(0.2, [0.1, 0.2], 0.1, 0.05, catalyst="qubit")
    assert model.roles == ("charger", "catalyst", "battery", "battery")
    spectator = replace(model, modes=(*model.modes[:3], replace(model.modes[3], role="none")))
    assert spectator.roles[-1] == "none"
    assert qb.Mode("battery", role="battery").role is None
    with pytest.raises(ModelError, match="role"):
        qb.Mode("x", role="anode")
    sim = qb.Simulation(model, qb.TimeGrid(10.0, 11))
    assert "role" not in dumps_toml(sim)
    sim2 = qb.Simulation(spectator, qb.TimeGrid(10.0, 11))
    assert loads_toml(dumps_toml(sim2)).model == spectator
