"""The command line: outputs, labelled results, and one-line errors with exit status 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import qbattery as qb
from qbattery.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_simulate_writes_labelled_netcdf_and_plot(tmp_path: Path) -> None:
    out, png = tmp_path / "r.nc", tmp_path / "r.png"
    args = ["simulate", str(EXAMPLES / "bare.toml"), "--out", str(out), "--plot", str(png)]
    assert main(args) == 0
    assert png.stat().st_size > 1000
    with xr.open_dataset(out) as ds:
        assert list(ds["mode"].values) == ["charger", "battery"]
        assert ds["energy"].dims == ("mode", "time")
        assert ds["ergotropy"].dims == ("mode", "time")
        assert ds.attrs["method"] == "gaussian"
        assert ds.attrs["solve_seconds"] > 0
        sim = qb.loads_toml(ds.attrs["model"])
        assert sim == qb.load_toml(EXAMPLES / "bare.toml")
        # the same numbers as the Python API
        r = qb.load_toml(EXAMPLES / "bare.toml").run()
        np.testing.assert_allclose(ds["energy"].values, r.energy, rtol=0, atol=0)
        np.testing.assert_allclose(ds["gt"].values, 0.2 * ds["time"].values)


def test_modes_prints_table(capsys) -> None:  # type: ignore[no-untyped-def]
    assert main(["modes", str(EXAMPLES / "catalytic_oscillator.toml")]) == 0
    out = capsys.readouterr().out
    assert "dark mode C-" in out and "1.000000" in out


def test_reproduce_subset(tmp_path: Path) -> None:
    assert main(["reproduce", "fig3a", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "fig3a.png").exists()
    with xr.open_dataset(tmp_path / "fig3a.nc") as ds:
        e = ds["energy"].sel(mode="battery")
        assert float(e.max()) == pytest.approx(0.8284, abs=1e-3)
        assert float(ds["steady_energy"].sel(mode="battery")) == pytest.approx(0.25, abs=1e-10)


@pytest.mark.parametrize(("args", "message"), [
    (["simulate", "missing.toml", "--out", "x.nc"], "file: cannot read 'missing.toml'"),
    (["reproduce", "fig99"], "figure: unknown figure 'fig99'"),
    (["simulate", str(EXAMPLES / "bare.toml"), "--out", "/no/such/dir/x.nc"],
     "--out: folder '/no/such/dir' does not exist"),
    (["simulate", str(EXAMPLES / "catalytic_oscillator.toml"), "--out", "x.nc", "--method",
      "warp"], "method: unknown method 'warp'"),
    (["simulate"], "the following arguments are required"),
])
def test_cli_errors_are_one_line_exit_2(args: list[str], message: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "qbattery.cli", *args], capture_output=True,
                          text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1


def test_bad_toml_value_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((EXAMPLES / "bare.toml").read_text().replace("rate = 0.05", "rate = -1"))
    proc = subprocess.run([sys.executable, "-m", "qbattery.cli", "simulate", str(bad), "--out",
                           str(tmp_path / "x.nc")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "qbattery: error: baths[0].rate: must be >= 0, got -1"
