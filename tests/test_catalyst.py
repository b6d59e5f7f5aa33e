"""Catalyst observables (fidelity, purity, mutual information, negativity), the paper's
claims on small cases, the CLI on a qubit model, and figures 6-7."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from matplotlib.figure import Figure

import qbattery as qb
from qbattery.cli import main
from qbattery.figures import FIGURES
from qbattery.figures.catalyst import catalyst_dataset, draw_catalyst
from qbattery.hilbert import FockSpace, catalyst_observables, coherent_vector, displaced_thermal

G, F, GAMMA = 0.2, 0.1, 0.05
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "catalytic_qubit.toml"


def _space(model: qb.Model, d: int) -> FockSpace:
    return FockSpace.of(model, {"charger": d, "battery": d})


def test_product_state_has_no_correlations() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA)
    space = _space(model, 6)
    rho_q = np.array([[0.7, 0.2 - 0.1j], [0.2 + 0.1j, 0.3]])
    rho = np.kron(np.kron(displaced_thermal(0.4, 0.8, 6), rho_q), displaced_thermal(0.2, 0.5j, 6))
    obs = catalyst_observables(rho, space, model)
    assert obs["catalyst_ground_fidelity"] == pytest.approx(0.7)
    assert obs["catalyst_purity"] == pytest.approx(np.trace(rho_q @ rho_q).real)
    for name in ("mutual_information_catalyst_battery", "mutual_information_charger_battery",
                 "log_negativity_catalyst_battery", "log_negativity_catalyst_charger"):
        assert obs[name] == pytest.approx(0.0, abs=1e-10), name


def test_bell_pair_between_catalyst_and_battery() -> None:
    """(|g,0> + |e,1>)/sqrt 2 with the charger in vacuum: I = 2 ln 2, E_N = ln 2."""
    model = qb.catalytic_model(G, G, F, GAMMA)
    space = _space(model, 4)
    vac = np.eye(4)[0]
    psi = (np.kron(np.kron(vac, [1, 0]), np.eye(4)[0])
           + np.kron(np.kron(vac, [0, 1]), np.eye(4)[1])) / np.sqrt(2)
    obs = catalyst_observables(np.outer(psi, psi.conj()), space, model)
    assert obs["mutual_information_catalyst_battery"] == pytest.approx(2 * np.log(2))
    assert obs["log_negativity_catalyst_battery"] == pytest.approx(np.log(2))
    assert obs["mutual_information_charger_battery"] == pytest.approx(0.0, abs=1e-12)
    assert obs["log_negativity_catalyst_charger"] == pytest.approx(0.0, abs=1e-12)
    assert obs["catalyst_ground_fidelity"] == pytest.approx(0.5)
    assert obs["catalyst_purity"] == pytest.approx(0.5)


@pytest.mark.parametrize("method", ["fock", "displaced"])
def test_correlations_option_drops_only_the_correlations(method: str) -> None:
    """correlations = false: the catalyst's fidelity and purity unchanged, no mutual
    information or negativity recorded; true (default): all six."""
    model = qb.catalytic_model(G, G, F, GAMMA, 0.0, 0.5)
    t = [0.0, 2.0, 4.0]
    full = qb.solve(model, t, method=method)
    lean = qb.solve(model, t, method=method, options=qb.SolverOptions(correlations=False))
    names = {k for k in full.extra if k.startswith(("mutual_information", "log_negativity"))}
    assert len(names) == 4
    assert not names & set(lean.extra)
    for name in ("catalyst_ground_fidelity", "catalyst_purity"):
        np.testing.assert_array_equal(lean.extra[name][1], full.extra[name][1])
    assert float(full.extra["mutual_information_charger_battery"][1][-1]) > 1e-4
    with pytest.raises(qb.ModelError, match="correlations"):
        qb.SolverOptions(correlations=1)  # type: ignore[arg-type]


def test_ground_fidelity_in_a_displaced_frame() -> None:
    """A displaced-frame engine passes rho' and beta: <0| D(beta) rho' D(beta)^dag |0>."""
    model = qb.catalytic_model(G, G, F, GAMMA, catalyst="oscillator")
    space = FockSpace.of(model, {"charger": 3, "catalyst": 30, "battery": 3})
    beta = 0.6 - 0.3j
    vac3 = np.zeros((3, 3))
    vac3[0, 0] = 1
    vac_q = np.zeros((30, 30))
    vac_q[0, 0] = 1
    rho = np.kron(np.kron(vac3, vac_q), vac3)  # rho' = vacuum, so rho_C = |beta><beta|
    obs = catalyst_observables(rho, space, model, displacement=beta)
    assert obs["catalyst_ground_fidelity"] == pytest.approx(np.exp(-abs(beta) ** 2))
    np.testing.assert_allclose(np.linalg.norm(coherent_vector(beta, 30)), 1.0, atol=1e-12)


def test_oscillator_catalyst_stays_a_product_of_coherent_states() -> None:
    """Appendix B at N = 0: linear dynamics keep the vacuum a product of coherent states,
    so the Fock solver must find no correlation and <0|rho_C|0> = exp(-|alpha_C|^2).

    The logarithmic negativity sums the magnitudes of small negative eigenvalues, so the
    truncation (tails <= 1e-8 here) shows in it at the sqrt(tail) level: 1e-5, not 1e-8.
    """
    model = qb.catalytic_model(G, G, F, GAMMA, catalyst="oscillator")
    t = np.linspace(0.0, 10.0, 5)
    r = qb.solve(model, t, method="fock", options=qb.SolverOptions(truncation_tol=1e-8))
    gauss = qb.solve(model, t, method="gaussian")
    alpha_c = gauss["catalyst"]["amplitude"]
    np.testing.assert_allclose(r.extra["catalyst_ground_fidelity"][1], np.exp(-abs(alpha_c) ** 2),
                               atol=1e-6)
    np.testing.assert_allclose(r.extra["catalyst_purity"][1], 1.0, atol=1e-6)
    for name in ("mutual_information_catalyst_battery", "mutual_information_charger_battery"):
        np.testing.assert_allclose(r.extra[name][1], 0.0, atol=1e-6, err_msg=name)
    for name in ("log_negativity_catalyst_battery", "log_negativity_catalyst_charger"):
        np.testing.assert_allclose(r.extra[name][1], 0.0, atol=1e-4, err_msg=name)


def test_qubit_catalyst_extras_are_consistent() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA, GAMMA, 1.0)
    t = np.linspace(0.0, 10.0, 6)
    r = qb.solve(model, t, method="fock")
    ex = {k: v[1] for k, v in r.extra.items() if v[0] == ("time",)}
    assert set(ex) == {"catalyst_ground_fidelity", "catalyst_purity",
                       "mutual_information_catalyst_battery",
                       "mutual_information_charger_battery",
                       "log_negativity_catalyst_battery", "log_negativity_catalyst_charger"}
    # a qubit's ground fidelity is 1 - its excited population
    np.testing.assert_allclose(ex["catalyst_ground_fidelity"], 1 - r["catalyst"]["occupation"],
                               atol=1e-12)
    assert np.all((ex["catalyst_purity"] >= 0.5 - 1e-12) & (ex["catalyst_purity"] <= 1 + 1e-12))
    for name in ("mutual_information_catalyst_battery", "mutual_information_charger_battery"):
        assert ex[name][0] == pytest.approx(0.0, abs=1e-12)
        assert np.all(ex[name] >= -1e-10)
    # I(C:B) <= 2 S_C <= 2 ln 2 for a qubit; E_N(C:X) <= ln 2
    assert np.all(ex["mutual_information_catalyst_battery"] <= 2 * np.log(2))
    assert np.all(ex["log_negativity_catalyst_battery"] <= np.log(2) + 1e-12)
    assert ex["mutual_information_catalyst_battery"][-1] > 1e-3  # it does correlate
    ds = r.to_xarray()
    assert ds["catalyst_purity"].dims == ("time",)
    assert ds["cutoff"].sel(mode="catalyst") == 2 and ds["max_tail"].sel(mode="catalyst") == 0


def test_cli_simulates_a_qubit_model_with_every_qubit_engine(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a short window (t <= 5, lab-frame cutoffs still small) auto picks the Fock
    engine by its cost estimate; each engine on request; the same numbers."""
    text = EXAMPLE.read_text().replace("stop = 30.0", "stop = 5.0").replace("points = 61",
                                                                             "points = 6")
    model_file = tmp_path / "qubit.toml"
    model_file.write_text(text)
    energies = []
    for method, used in (("auto", "fock"), ("fock", "fock"), ("displaced", "displaced")):
        out = tmp_path / f"{method}.nc"
        assert main(["simulate", str(model_file), "--out", str(out), "--method", method]) == 0
        assert f"method {used}" in capsys.readouterr().out
        ds = xr.open_dataset(out, engine="scipy")
        assert ds.attrs["method"] == used
        assert "mutual_information_catalyst_battery" in ds
        energies.append(ds["energy"].values.copy())
        ds.close()
    np.testing.assert_allclose(energies[0], energies[1], atol=1e-12)
    np.testing.assert_allclose(energies[2], energies[1], atol=1e-6)


def test_cli_too_small_cutoff_exits_2_with_one_line(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = EXAMPLE.read_text().replace('cutoff = "auto"', "cutoff = 4")
    model_file = tmp_path / "small.toml"
    model_file.write_text(text)
    assert main(["simulate", str(model_file), "--out", str(tmp_path / "x.nc")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("qbattery: error: truncation: mode 'charger'")
    assert "at t = " in err and "cutoff 4 levels" in err
    assert not (tmp_path / "x.nc").exists()


def test_figures_are_registered_and_draw() -> None:
    for name in ("fig6a", "fig6b", "fig7"):
        assert name in FIGURES and "window g t" in FIGURES[name].title
    ds = catalyst_dataset(1.0, GAMMA, 4.0, 5)
    assert {"energy", "ergotropy", "catalyst_ground_fidelity"} <= set(ds)
    fig = Figure()
    draw_catalyst(ds, fig)
    labels = [line.get_label() for line in fig.axes[0].get_lines()]
    assert any("catalyst" in label for label in labels)
