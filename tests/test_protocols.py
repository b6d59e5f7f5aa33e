"""Protocol comparison: closed forms of the undamped protocols, bookkeeping, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import OSCILLATOR_PROTOCOLS

import qbattery as qb
import qbattery.sweeps.protocols as protocols_module
from qbattery.cli import main
from qbattery.sweeps.protocols import ProtocolParams, compare, compare_table


def test_undamped_protocols_match_closed_forms():
    """gamma = 0, omega = omega_q = 1, g_aq = g_bq = g. With C_+- = (a +- b)/sqrt(2):

    bare at omega:       <b> = -(F/g)(1 - cos g t)
    bare at omega + g:   <b> = -i F t/2 - (F/4g)(1 - e^{2igt})   (C_+ resonant, C_- at -2g)
    oscillator catalyst: <b> = i F t/2 - i (F / (2 sqrt2 g)) sin(sqrt2 g t)   (dark mode C_-
                         resonant; C_+ and q form Eq. 14 with F/sqrt2 and coupling sqrt2 g),
                         <q> = -(F/2g)(1 - cos sqrt2 g t).
    """
    g, F = 0.15, 0.1
    ds = compare(ProtocolParams(g=g, F=F, gamma=0.0), stop=120.0, points=241,
                 protocols=OSCILLATOR_PROTOCOLS)
    t = ds["time"].values
    s2 = np.sqrt(2.0)
    expected = {
        "bare": (F / g) ** 2 * (1 - np.cos(g * t)) ** 2,
        "bare_global": np.abs(-0.5j * F * t - F / (4 * g) * (1 - np.exp(2j * g * t))) ** 2,
        "catalyst_oscillator": np.abs(0.5j * F * t - 1j * F / (2 * s2 * g)
                                      * np.sin(s2 * g * t)) ** 2,
    }
    for name, e_b in expected.items():
        row = ds.sel(protocol=name)
        np.testing.assert_allclose(row["battery_energy"].values, e_b, rtol=1e-9, atol=1e-12)
        # pure coherent states: all the energy is ergotropy
        np.testing.assert_allclose(row["battery_ergotropy"].values, e_b, rtol=1e-9, atol=1e-12)
    e_c = (F / (2 * g)) ** 2 * (1 - np.cos(s2 * g * t)) ** 2
    cat = ds.sel(protocol="catalyst_oscillator")
    np.testing.assert_allclose(cat["catalyst_energy"].values, e_c, rtol=1e-9, atol=1e-12)
    assert float(cat["max_catalyst_energy"]) == pytest.approx(e_c.max(), rel=1e-9)
    assert np.isnan(ds.sel(protocol="bare")["catalyst_energy"].values).all()
    assert "catalyst_qubit" not in ds["protocol"].values


def test_summary_is_consistent_with_the_curves():
    # the qubit row is checked on its own below; a thermal qubit to g t = 30 is slow
    ds = compare(ProtocolParams(n_th=0.5, gamma_q=0.02), stop=150.0, points=301,
                 protocols=OSCILLATOR_PROTOCOLS)
    t = ds["time"].values
    for k, name in enumerate(ds["protocol"].values):
        if str(ds["status"].values[k]).startswith("unavailable"):
            assert np.isnan(ds["battery_energy"].values[k]).all()
            continue
        e, w = ds["battery_energy"].values[k], ds["battery_ergotropy"].values[k]
        assert np.all(w >= -1e-12) and np.all(w <= e + 1e-12), name
        assert float(ds["final_energy"].values[k]) == e[-1]
        assert float(ds["max_ergotropy"].values[k]) == w.max()
        assert float(ds["time_of_max_energy"].values[k]) == t[np.argmax(e)]
        assert float(ds["average_power"].values[k]) == pytest.approx(e[-1] / t[-1])
        assert float(ds["max_average_power"].values[k]) == pytest.approx((e[1:] / t[1:]).max())
    table = compare_table(ds)
    assert all(p.name in table for p in OSCILLATOR_PROTOCOLS)


def test_qubit_catalyst_row():
    ds = compare(ProtocolParams(F=0.02), stop=60.0, points=121)
    row = ds.sel(protocol="catalyst_qubit")
    assert str(row["status"].values).startswith("ok")
    # a qubit stores at most omega_q; weakly driven it stays near its ground state and
    # behaves as the oscillator catalyst
    assert float(row["max_catalyst_energy"]) <= 1.0
    osc = ds.sel(protocol="catalyst_oscillator")["battery_energy"].values
    np.testing.assert_allclose(row["battery_energy"].values, osc, rtol=0.05, atol=1e-4)


def test_unavailable_protocols_are_reported_not_hidden(monkeypatch: pytest.MonkeyPatch):
    """A protocol that no registered engine can solve gets a status row saying why
    (simulated: every engine refuses qubits); the others are still computed."""
    ds = compare(ProtocolParams(), stop=20.0, points=21)
    status = dict(zip(ds["protocol"].values, ds["status"].values, strict=True))
    assert status["catalyst_qubit"] == "ok: displaced"
    assert status["bare"] == "ok: gaussian"

    choose = protocols_module.choose_method

    def no_qubits(model: qb.Model, *args: object, **kwargs: object) -> str:
        if any(m.kind == "qubit" for m in model.modes):
            raise qb.UnsupportedMethodError("no engine for qubits (simulated)")
        return choose(model)

    monkeypatch.setattr(protocols_module, "choose_method", no_qubits)
    ds = compare(ProtocolParams(), stop=20.0, points=21)
    status = dict(zip(ds["protocol"].values, ds["status"].values, strict=True))
    assert status["catalyst_qubit"] == "unavailable: no engine for qubits (simulated)"
    assert "catalyst_qubit        unavailable" in compare_table(ds)
    assert status["bare"] == "ok: gaussian"
    assert np.all(np.isnan(ds.sel(protocol="catalyst_qubit")["battery_energy"].values))
    assert np.all(np.isfinite(ds.sel(protocol="bare")["battery_energy"].values))


def test_cli_compare(tmp_path, capsys):
    out = tmp_path / "cmp"
    assert main(["compare", "--stop", "50", "--points", "101", "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "bare_global" in text and f"wrote {out}.png and {out}.nc" in text
    assert (tmp_path / "cmp.png").stat().st_size > 1000
    for argv, message in [(["compare", "--g", "-0.1", "--out", str(out)], "--g: must be > 0"),
                          (["compare", "--gamma", "-1", "--out", str(out)], "--gamma: must be"),
                          (["compare", "--points", "1", "--out", str(out)], "--points: expected"),
                          (["compare", "--out", str(tmp_path / "no" / "x")], "--out: folder")]:
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, err
