"""Issue 12: never a NaN result; inputs that would overflow, hang or not fit refused up
front with their field; the validation gaps the issue lists (through the CLI and the
Python API). Each failure: one line on stderr, exit status 2 (1 for the environment),
no file left behind."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from cli_helpers import assert_error, listing, model_file, run, run_process

import qbattery as qb


# -- 4. inputs that would overflow are refused with their field --------------------------------
@pytest.mark.parametrize(("old_new", "field"), [
    ('frequency = 1.0=>frequency = 1e308', "modes[0].frequency: must be at most 1e+06"),
    ('frequency = 1.0=>frequency = 1e-300', "modes[0].frequency: must be >= 1e-06"),
    ('strength = 0.2=>strength = 1e308', "couplings[0].strength: must be at most"),
    ('strength = 0.2=>strength = -3e7', "couplings[0].strength: must be at most"),
    ('amplitude = 0.1=>amplitude = 1e154', "drives[0].amplitude: must be at most"),
    ('rate = 0.05=>rate = 1e308', "baths[0].rate: must be at most"),
    ('occupation = 0.0=>occupation = 1e308', "baths[0].occupation: must be at most"),
    ('occupation = 0.0=>temperature = 1e300', "baths[0].temperature: must be at most"),
    ('kind = "oscillator"=>kind = "oscillator"\ninitial_occupation = 1e300',
     "modes[0].initial_occupation: must be at most"),
    ('kind = "oscillator"=>kind = "oscillator"\ninitial_amplitude = [1e200, 0.0]',
     "modes[0].initial_amplitude: must be at most"),
    ('stop = 10.0=>stop = 1e308', "time.stop: must be at most 1e+09"),
    ('amplitude = 0.1=>amplitude = 5e5', "drives: the drives can build an amplitude"),
    ('mode = "charger"\namplitude = 0.1\nfrequency = 1.0=>'
     'mode = "charger"\namplitude = 0.1\nfrequency = 1e6', "time.stop:", ),
])
def test_overflowing_inputs_are_refused(tmp_path: Path, old_new: str, field: str) -> None:
    stop = 1e5 if "frequency = 1e6" in old_new else 10.0
    model = model_file(tmp_path, stop=stop, edit=old_new)
    before = listing(tmp_path)
    assert_error(*run(["simulate", str(model), "--out", str(tmp_path / "r.nc")])[::2], 2, field)
    assert listing(tmp_path) == before


@pytest.mark.parametrize("temperature", [0.001, 1e-5, 1e-300, 0.5])
def test_cold_bath_is_finite(tmp_path: Path, temperature: float) -> None:
    model = model_file(tmp_path, edit=f"occupation = 0.0=>temperature = {temperature!r}")
    out = tmp_path / "r.nc"
    assert run(["simulate", str(model), "--out", str(out)])[0] == 0
    with xr.open_dataset(out) as ds:
        assert np.isfinite(ds["energy"].values).all()
    bath = qb.Bath("charger", 0.05, temperature=temperature)
    n = bath.occupation_at(1.0)
    assert np.isfinite(n) and n >= 0
    if temperature >= 0.01:  # where the textbook form does not overflow, the same number
        assert n == pytest.approx(1.0 / np.expm1(1.0 / temperature), rel=1e-14)


def test_non_finite_result_is_never_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                                            ) -> None:
    """The output boundary's last guard: a Dataset holding NaN or inf is refused."""
    from qbattery.result import Result

    to_xarray = Result.to_xarray

    def poisoned(self: Result) -> xr.Dataset:
        ds = to_xarray(self)
        ds["ergotropy"][1, 3] = np.inf
        return ds

    monkeypatch.setattr(Result, "to_xarray", poisoned)
    model = model_file(tmp_path)
    before = listing(tmp_path)
    status, _, err = run(["simulate", str(model), "--out", str(tmp_path / "r.nc"), "--plot",
                          str(tmp_path / "r.png")])
    assert_error(status, err, 2, "result variable 'ergotropy' is not finite",
                 "mode=battery", "nothing was written")
    assert listing(tmp_path) == before


def test_write_netcdf_refuses_nan_but_allows_it_where_told(tmp_path: Path) -> None:
    from qbattery.io import NonFiniteError, write_netcdf

    ds = xr.Dataset({"a": ("x", [1.0, np.nan]), "b": ("x", [1.0, 2.0])}, coords={"x": [0, 1]})
    with pytest.raises(NonFiniteError, match=r"'a' is not finite .* first at x=1"):
        write_netcdf(ds, tmp_path / "a.nc")
    assert not list(tmp_path.iterdir())
    write_netcdf(ds, tmp_path / "a.nc", allow_nan={"a"})
    ds["b"][0] = -np.inf
    with pytest.raises(NonFiniteError, match="'b'"):
        write_netcdf(ds, tmp_path / "b.nc", allow_nan={"a", "b"})
    assert sorted(os.listdir(tmp_path)) == ["a.nc"]


# -- 5. sizes and hangs are refused up front ---------------------------------------------------
@pytest.mark.parametrize(("old_new", "base", "fragment"), [
    ("points = 11=>points = 100000000", "bare.toml",
     "time.points: 100000000 output times is too many (about 0.8 GB"),
    ("points = 11=>points = 9223372036854775807", "bare.toml", "at most 1000000"),
    ("points = 11=>points = 1e8", "bare.toml", "time.points: expected an integer"),
    ('strength = 0.2=>strength = 1e6', "catalytic_qubit.toml",
     "time.stop: couplings[0].strength = 1e+06 times stop 10"),
    ('kind = "qubit"\nfrequency = 1.0=>kind = "qubit"\nfrequency = 1e308',
     "catalytic_qubit.toml", "modes[1].frequency: must be at most"),
    ('kind = "qubit"\nfrequency = 1.0=>kind = "qubit"\nfrequency = 9e5',
     "catalytic_qubit.toml", "a density-matrix engine allows at most 100000"),
    ("occupation = 0.0=>occupation = 1e4", "catalytic_qubit.toml",  # gamma N t = 5000
     f"baths[0].occupation: thermal occupations up to 5e+03 need "
     f"~{np.log(1e6) / np.log1p(1 / 5000):.3g} Fock levels"),
    ("occupation = 0.0=>temperature = 1e6", "catalytic_qubit.toml",
     "baths[0].temperature: thermal occupations up to"),
    ('on_truncation = "error"=>max_cutoff = 2147483648\n', "catalytic_qubit.toml",
     "solver.max_cutoff: expected an integer in [2, 10000]"),
    ('cutoff = "auto"=>max_cutoff = 10000\ncutoff = 9000', "catalytic_qubit.toml",
     "solver.cutoff: the density matrix has dimension 1.62e+08 (4.2e+08 GB)"),
    ("truncation_tol = 1e-6=>truncation_tol = 1e-300", "catalytic_qubit.toml",
     "solver.truncation_tol: must be >= 1e-14"),
    ('cutoff = "auto"=>rtol = 1e-300\ncutoff = "auto"', "catalytic_qubit.toml",
     "solver.rtol: must be >= 1e-14"),
])
def test_sizes_and_hangs_are_refused_up_front(tmp_path: Path, old_new: str, base: str,
                                              fragment: str) -> None:
    model = model_file(tmp_path, base, edit=old_new)
    start = time.perf_counter()
    proc = run_process(["simulate", str(model), "--out", "r.nc"], cwd=tmp_path, timeout=60)
    assert_error(proc.returncode, proc.stderr, 2, fragment)
    assert time.perf_counter() - start < 30
    assert not (tmp_path / "r.nc").exists()


def test_many_modes_times_many_points_is_refused() -> None:
    from qbattery.config import MAX_RESULT_VALUES, check_scales

    cells = MAX_RESULT_VALUES // 500_000  # a value more than MAX_RESULT_VALUES with 500001 times
    sim = qb.Simulation(qb.multicell_model(0.2, [0.1] * cells, 0.1, catalyst=None),
                        qb.TimeGrid(10.0, 500_001))
    with pytest.raises(qb.ModelError, match=rf"time\.points: {cells + 1} modes x 500001 times"):
        check_scales(sim)
    check_scales(qb.Simulation(sim.model, qb.TimeGrid(10.0, 1001)))  # the same model is fine
    with pytest.raises(qb.ModelError, match=r"time\.points: "):
        sim.run()  # the Python API checks as the CLI does


def test_density_matrix_larger_than_memory_is_refused(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import qbattery.config as config

    model = model_file(tmp_path, "catalytic_qubit.toml",
                       edit="occupation = 0.0=>occupation = 200.0",
                       cut='on_truncation = "error"=>max_cutoff = 5000\n')
    monkeypatch.setattr(config, "_available_memory", lambda: 1e8)
    levels = np.log(1e6) / np.log1p(1 / 100.0)  # gamma N t = 100 quanta at most
    assert_error(*run(["simulate", str(model), "--out", str(tmp_path / "r.nc")])[::2], 2,
                 f"density matrix of dimension >= {2 * levels:.3g}",
                 f"({16 * (2 * levels) ** 2 / 1e9:.3g} GB); 0.1 GB of memory")


@pytest.mark.parametrize(("vary", "fragment"), [
    (["drives.0.frequency=0.5:1.5:10000000"], "COUNT 10000000 is too many values"),
    (["drives.0.frequency=0.5:1.5:2000", "couplings.0.strength=0.1:0.3:2000"],
     "2000 x 2000 = 4000000 points; at most 1000000"),
    (["drives.0.amplitude=0.1:9e5:3"], "drives: the drives can build an amplitude"),
])
def test_sweep_too_large_is_refused(tmp_path: Path, vary: list[str], fragment: str) -> None:
    model = model_file(tmp_path)
    before = listing(tmp_path)
    args = ["sweep", str(model), "--out", str(tmp_path / "s.zarr")]
    for v in vary:
        args += ["--vary", v]
    assert_error(*run(args)[::2], 2, "--vary:", fragment)
    assert listing(tmp_path) == before


def test_sweep_larger_than_the_disk_is_refused(tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import qbattery.sweeps.store as store_module

    real = shutil.disk_usage
    monkeypatch.setattr(store_module.shutil, "disk_usage",
                        lambda p: real(p)._replace(free=100_000))
    model = model_file(tmp_path, stop=10.0, points=1001)
    before = listing(tmp_path)
    status, _, err = run(["sweep", str(model), "--vary", "drives.0.frequency=0.5:1.5:40",
                          "--workers", "1", "--out", str(tmp_path / "s.zarr")])
    need = 40 * (8 * (2 * 2 * 1001 + 4 * 2) + 1)  # points x (energy, ergotropy, 4 maxima)
    assert_error(status, err, 1, f"the sweep store needs ~{need / 1e9:.3g} GB",
                 "(40 points x 2 modes x 1001 times); 0.0001 GB free", "--at")
    assert listing(tmp_path) == before


# -- 6. validation gaps ------------------------------------------------------------------------
@pytest.mark.parametrize(("base", "old_new", "fragment"), [
    ("bare.toml", 'method = "auto"=>cutoff = { batery = 10 }',
     "solver.cutoff.batery: unknown mode 'batery'; modes are charger, battery"),
    ("catalytic_oscillator.toml", '[time]=>[solver]\ncutoff = { catalyzer = 4 }\n[time]',
     "solver.cutoff.catalyzer: unknown mode"),
    ("bare.toml", 'method = "auto"=>cutoff = 20\nmax_cutoff = 5',
     "solver.cutoff: 20 levels is above max_cutoff = 5"),
    ("bare.toml", 'method = "auto"=>cutoff = { battery = 200 }',
     "solver.cutoff.battery: 200 levels is above max_cutoff = 120"),
    ("bare.toml", 'amplitude = 0.1\nfrequency = 1.0=>amplitude = 0.1\nfrequency = 0.0',
     "drives[0].frequency: must be > 0, got 0.0"),
    ("bare.toml", 'amplitude = 0.1\nfrequency = 1.0=>amplitude = 0.1\nfrequency = -1.0',
     "drives[0].frequency: must be > 0"),
    ("bare.toml", 'name = "battery"=>name = "bat\\ntery"',
     "modes[1].name: must contain printable characters only"),
    ("bare.toml", 'name = "battery"=>name = "bat\\u0000tery"', "modes[1].name:"),
    ("bare.toml", 'name = "battery"=>name = "bat\\ttery"', "modes[1].name:"),
    ("bare.toml", 'between = ["charger", "battery"]=>between = ["charger", "b\\u001b"]',
     "couplings[0].between: must contain printable"),
])
def test_silently_accepted_inputs_are_refused(tmp_path: Path, base: str, old_new: str,
                                              fragment: str) -> None:
    model = model_file(tmp_path, base, edit=old_new)
    assert_error(*run(["simulate", str(model), "--out", str(tmp_path / "r.nc")])[::2], 2,
                 fragment)
    assert not (tmp_path / "r.nc").exists()


@pytest.mark.parametrize("method", ["", " ", "warp"])
def test_bad_method_flag(tmp_path: Path, method: str) -> None:
    model = model_file(tmp_path)
    for command in (["simulate", str(model), "--out", str(tmp_path / "r.nc")],
                    ["sweep", str(model), "--vary", "drives.0.frequency=1,2",
                     "--out", str(tmp_path / "s.zarr")]):
        assert_error(*run([*command, "--method", method])[::2], 2,
                     f"--method: unknown method {method!r}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-0.toml"]


@pytest.mark.parametrize(("call", "fragment"), [
    (lambda: qb.bare_model(0.2, 0.1, gamma=-1.0), "gamma: must be >= 0, got -1.0"),
    (lambda: qb.bare_model(0.2, 0.1, gamma=float("nan")), "gamma: must be finite"),
    (lambda: qb.bare_model(0.2, 0.1, 0.05, float("inf")), "n_th: must be finite"),
    (lambda: qb.bare_model(0.2, 0.1, gamma_b=-0.1), "gamma_b: must be >= 0"),
    (lambda: qb.catalytic_model(0.2, 0.2, 0.1, gamma_q=-1e-3), "gamma_q: must be >= 0"),
    (lambda: qb.catalytic_model(0.2, 0.2, 0.1, gamma_a=float("nan")), "gamma_a: must be finite"),
    (lambda: qb.multicell_model(0.2, [0.1], 0.1, gamma_a=-1), "gamma_a: must be >= 0"),
    (lambda: qb.bare_model(0.2, 1e300), "amplitude: must be at most"),
    (lambda: qb.bare_model(0.2, 0.1, omega_f=0.0), "frequency: must be > 0"),
    (lambda: qb.Mode("a\nb"), "name: must contain printable characters only"),
    (lambda: qb.SolverOptions(cutoff=20, max_cutoff=5), "cutoff: 20 levels is above"),
    (lambda: qb.TimeGrid(10.0, 2**63 - 1), "points: 9223372036854775807 output times"),
    (lambda: qb.Simulation(qb.bare_model(0.2, 0.1), qb.TimeGrid(1.0),
                           qb.SolverOptions(cutoff={"batery": 4})), "cutoff.batery: unknown"),
])
def test_python_api_validates_as_the_cli(call, fragment: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(qb.ModelError) as err:
        call()
    assert fragment in str(err.value)


def test_utf8_bom_before_a_model_is_accepted(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_bytes(b"\xef\xbb\xbf" + model_file(tmp_path).read_bytes())
    assert qb.load_toml(path) == qb.load_toml(tmp_path / "model-0.toml")
    assert run(["simulate", str(path), "--out", str(tmp_path / "r.nc")])[0] == 0


