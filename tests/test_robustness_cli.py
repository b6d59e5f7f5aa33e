"""Issue 12: never a traceback, never a NaN result, never a destroyed file.

Each class of failure is driven through the command line (in-process through
``qbattery.cli.main`` with stdout/stderr captured, or in a subprocess where a
process-level mechanism is needed: file-size limits, SIGKILL, tracebacks) and
must end in exit status 2 (bad input) or 1 (environment) with one line on stderr
naming the field, argument or path, no traceback, and no file left behind or
changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import resource
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

import qbattery as qb
from qbattery.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SRC = str(Path(__file__).resolve().parents[1] / "src")


# -- helpers -----------------------------------------------------------------------------------
def run(args: list[str]) -> tuple[int, str, str]:
    """``qbattery ARGS`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    return status, out.getvalue(), err.getvalue()


def run_process(args: list[str], *, cwd: Path, prelude: str = "",
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``qbattery ARGS`` in a fresh interpreter, after ``prelude`` (Python code)."""
    code = f"{prelude}\nimport sys\nfrom qbattery.cli import main\nsys.exit(main({args!r}))"
    env = {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def assert_error(status: int, stderr: str, expected_status: int, *fragments: str) -> None:
    """One line ``qbattery: error: ...`` containing every fragment; no traceback."""
    assert status == expected_status, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("qbattery: error: "), stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, stderr)


def listing(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(folder.rglob("*"))}


def model_file(folder: Path, base: str = "bare.toml", stop: float = 10.0, points: int = 11,
               **replacements: str) -> Path:
    """A copy of an example with a short time grid and textual replacements
    (``old=new``, keys are only labels)."""
    text = (EXAMPLES / base).read_text()
    text = text.replace("stop = 300.0", f"stop = {stop}").replace("points = 601",
                                                                  f"points = {points}")
    text = text.replace("stop = 30.0", f"stop = {stop}").replace("points = 61",
                                                                 f"points = {points}")
    for pair in replacements.values():
        old, new = pair.split("=>")
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / f"model-{len(list(folder.glob('model-*')))}.toml"
    path.write_text(text)
    return path


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``chattr +i path`` for the block (even root cannot write); skip where unsupported."""
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)],
                                        capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)


@pytest.fixture
def good(tmp_path: Path) -> tuple[Path, Path]:
    """A model file and a good result file written from it."""
    model = model_file(tmp_path, stop=100.0, points=401)
    out = tmp_path / "good.nc"
    assert run(["simulate", str(model), "--out", str(out)])[0] == 0
    return model, out


# -- 1. outputs that cannot be written: refused before any work --------------------------------
@pytest.mark.parametrize(("out", "status", "fragment"), [
    ("/dev/full", 2, "--out: '/dev/full' exists and is not a regular file"),
    ("", 2, "--out: empty path"),
    (".", 2, "--out: '.' is a folder"),
    ("sub/", 2, "is a folder"),
    ("model-0.toml/x.nc", 2, "--out: 'model-0.toml' is not a folder"),
    ("missing/x.nc", 2, "--out: folder 'missing' does not exist"),
    ("link.nc", 2, "--out: 'link.nc' is a symbolic link"),
])
def test_simulate_unwritable_out(tmp_path: Path, out: str, status: int, fragment: str,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    model = model_file(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "link.nc").symlink_to("/dev/null")
    monkeypatch.chdir(tmp_path)
    before = listing(tmp_path)
    assert_error(*run(["simulate", model.name, "--out", out])[::2], status, fragment)
    assert listing(tmp_path) == before


@pytest.mark.parametrize(("plot", "fragment"), [
    ("r.bmpx", "--plot: 'r.bmpx' has unknown image extension '.bmpx'; use one of"),
    ("r", "--plot: 'r' has no image extension"),
    ("sub", "--plot: 'sub' is a folder"),
    ("missing/r.png", "--plot: folder 'missing' does not exist"),
    ("good.nc.png/x.png", "--plot: folder 'good.nc.png' does not exist"),
])
def test_simulate_bad_plot_leaves_the_result_file_alone(
        good: tuple[Path, Path], plot: str, fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    model, out = good
    (out.parent / "sub").mkdir()
    monkeypatch.chdir(out.parent)
    before = listing(out.parent)
    assert_error(*run(["simulate", model.name, "--out", out.name, "--plot", plot])[::2],
                 2, fragment)
    assert listing(out.parent) == before  # the good NetCDF is untouched, nothing new


def test_plot_same_as_out_is_refused(good: tuple[Path, Path]) -> None:
    model, out = good
    png = out.with_suffix(".png")
    assert_error(*run(["simulate", str(model), "--out", str(png), "--plot", str(png)])[::2],
                 2, "--plot:", "is the --out file")


def test_immutable_folder_and_file_are_environment_errors(good: tuple[Path, Path]) -> None:
    model, out = good
    folder = out.parent / "locked"
    folder.mkdir()
    with immutable(folder):
        status, _, err = run(["simulate", str(model), "--out", str(folder / "x.nc")])
        assert_error(status, err, 1, "--out: cannot write into folder", "locked")
        assert list(folder.iterdir()) == []
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    with immutable(out):
        status, _, err = run(["simulate", str(model), "--out", str(out)])
        assert_error(status, err, 1, "exists and cannot be replaced")
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest


# -- 2. a write that fails part-way never destroys an existing file ----------------------------
FSIZE = "import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, ({0}, {0}))"


@pytest.mark.parametrize("limit", [0, 4096, 30_000])
def test_write_failing_part_way_keeps_the_old_file(good: tuple[Path, Path], limit: int) -> None:
    model, out = good
    png = out.with_suffix(".png")
    assert run(["simulate", str(model), "--out", str(out), "--plot", str(png)])[0] == 0
    before = listing(out.parent)
    assert out.stat().st_size > limit and png.stat().st_size > limit
    proc = run_process(["simulate", str(model), "--out", str(out), "--plot", str(png)],
                       cwd=out.parent, prelude=FSIZE.format(limit))
    assert_error(proc.returncode, proc.stderr, 1, "File too large", "nothing was written")
    assert listing(out.parent) == before  # byte-identical, no temporary file left
    with xr.open_dataset(out) as ds:
        assert np.isfinite(ds["energy"].values).all()


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (a disk that can fill); skip where
    mounting is not allowed."""
    folder.mkdir()
    mount = shutil.which("mount")
    if mount is None or subprocess.run([mount, "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                        str(folder)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def test_disk_full_keeps_the_old_file(good: tuple[Path, Path], tmp_path: Path) -> None:
    model, out = good
    with small_disk(tmp_path / "disk", "1m") as disk:
        target = disk / "r.nc"
        shutil.copy(out, target)
        room = shutil.disk_usage(disk).free - out.stat().st_size // 2  # half a file fits
        (disk / "filler").write_bytes(b"\0" * room)
        before = listing(disk)
        status, _, err = run(["simulate", str(model), "--out", str(target), "--plot",
                              str(disk / "r.png")])
        assert_error(status, err, 1, "No space left on device", "nothing was written")
        assert listing(disk) == before


def test_write_failing_part_way_leaves_no_new_file(tmp_path: Path) -> None:
    model = model_file(tmp_path)
    before = listing(tmp_path)
    proc = run_process(["simulate", str(model), "--out", "new.nc", "--plot", "new.png"],
                       cwd=tmp_path, prelude=FSIZE.format(10_000))
    assert_error(proc.returncode, proc.stderr, 1, "cannot write 'new.", "File too large")
    assert listing(tmp_path) == before


def test_compare_failing_part_way_keeps_both_old_files(tmp_path: Path) -> None:
    args = ["compare", "--stop", "20", "--points", "21", "--protocols", "bare,bare_global",
            "--out", "cmp"]
    assert run_process(args, cwd=tmp_path).returncode == 0
    before = listing(tmp_path)
    proc = run_process(args, cwd=tmp_path, prelude=FSIZE.format(20_000))
    assert_error(proc.returncode, proc.stderr, 1, "File too large")
    assert listing(tmp_path) == before


def test_atomic_write_of_a_failing_writer_keeps_the_file(tmp_path: Path) -> None:
    from qbattery.io import OutputError, write_all

    target = tmp_path / "keep.txt"
    target.write_text("old")

    def half(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(OutputError, match="No space left on device; nothing was written"):
        write_all([(target, "--out", half)])
    assert target.read_text() == "old" and sorted(os.listdir(tmp_path)) == ["keep.txt"]


# -- 3. qbattery plot: bad values, extensions and outputs ---------------------------------------
@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("store")
    model = model_file(folder)
    status, _, err = run(["sweep", str(model), "--vary", "drives.0.frequency=0.8:1.2:3",
                          "--workers", "1", "--out", str(folder / "s.zarr")])
    assert status == 0, err
    return folder / "s.zarr"


@pytest.mark.parametrize(("extra", "status", "fragment"), [
    (["--time", "nan"], 2, "--time: must be finite, got nan"),
    (["--time", "inf"], 2, "--time: must be finite"),
    (["--time=-inf"], 2, "--time: must be finite"),
    (["--sel", "couplings.0.strength=nan"], 2, "--sel: VALUE must be finite"),
    (["--out", "p.xyz"], 2, "--out: 'p.xyz' has unknown image extension"),
    (["--out", "p"], 2, "--out: 'p' has no image extension"),
    (["--out", "/dev/full"], 2, "--out: '/dev/full' has no image extension"),
    (["--out", "nowhere/p.png"], 2, "--out: folder 'nowhere' does not exist"),
    (["--out", ""], 2, "--out: empty path"),
    (["--var", "power"], 2, "--var: unknown variable 'power'"),
])
def test_plot_errors(store: Path, extra: list[str], status: int, fragment: str,
                     monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    assert_error(*run(["plot", str(store), *extra])[::2], status, fragment)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "fragment"), [
    ("model-0.toml", "is not a sweep store (not a folder)"),
    ("nothing.zarr", "is not a sweep store (no such folder)"),
    ("empty", "cannot open"),
])
def test_plot_of_something_else(tmp_path: Path, name: str, fragment: str) -> None:
    model_file(tmp_path)
    (tmp_path / "empty").mkdir()
    assert_error(*run(["plot", str(tmp_path / name)])[::2], 2, "store:", fragment)


def test_plot_into_an_immutable_folder(store: Path, tmp_path: Path) -> None:
    with immutable(tmp_path):
        status, _, err = run(["plot", str(store), "--out", str(tmp_path / "p.png")])
    assert_error(status, err, 1, "cannot write into folder")


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
    ("points = 11=>points = 100000000", "bare.toml", "time.points: 100000000 output times"),
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
])
def test_sizes_and_hangs_are_refused_up_front(tmp_path: Path, old_new: str, base: str,
                                              fragment: str) -> None:
    model = model_file(tmp_path, base, edit=old_new)
    start = time.perf_counter()
    proc = run_process(["simulate", str(model), "--out", "r.nc"], cwd=tmp_path, timeout=60)
    assert_error(proc.returncode, proc.stderr, 2, fragment)
    assert time.perf_counter() - start < 30
    assert not (tmp_path / "r.nc").exists()


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


# -- 7. sweep stores: --at, creation folders, bad paths ----------------------------------------
@pytest.mark.parametrize(("at", "fragment"), [
    ("1000", "--at: time 1000 is beyond the model's [time] stop 10"),
    ("10.5", "--at: time 10.5 is beyond"),
    ("nan", "--at: must be finite"),
    ("-1", "--at: must be >= 0"),
])
def test_sweep_at_outside_the_window(tmp_path: Path, at: str, fragment: str) -> None:
    model = model_file(tmp_path)
    assert_error(*run(["sweep", str(model), "--vary", "drives.0.frequency=1,2", "--at", at,
                       "--out", str(tmp_path / "s.zarr")])[::2], 2, fragment)
    assert not (tmp_path / "s.zarr").exists()


@pytest.mark.parametrize(("out", "status", "fragment"), [
    ("model-0.toml", 2, "exists and is not a sweep store"),
    ("", 2, "--out: empty path"),
    ("missing/s.zarr", 2, "--out: folder 'missing' does not exist"),
    ("model-0.toml/s.zarr", 2, "--out: 'model-0.toml' is not a folder"),
])
def test_sweep_bad_store_paths(tmp_path: Path, out: str, status: int, fragment: str,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    model = model_file(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = listing(tmp_path)
    assert_error(*run(["sweep", model.name, "--vary", "drives.0.frequency=1,2",
                       "--out", out])[::2], status, fragment)
    assert listing(tmp_path) == before


def test_sigkill_during_store_creation_is_cleaned_up_next_run(tmp_path: Path) -> None:
    model = model_file(tmp_path)
    args = ["sweep", str(model), "--vary", "drives.0.frequency=0.8:1.2:3", "--workers", "1",
            "--out", str(tmp_path / "s.zarr")]
    slow = textwrap.dedent("""
        import time
        import qbattery.sweeps.store as store
        real = store._build
        def build(tmp, plan):
            real(tmp, plan)
            time.sleep(60)
        store._build = build
    """)
    code = f"{slow}\nfrom qbattery.cli import main\nmain({args!r})"
    env = {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, cwd=tmp_path)
    try:
        deadline = time.time() + 60
        while not list(tmp_path.glob(".s.zarr.creating-*/store/.zgroup")):
            assert time.time() < deadline and proc.poll() is None
            time.sleep(0.1)
        # while its creator lives, another run leaves the creation folder alone
        from qbattery.sweeps.store import remove_stale_creations
        assert remove_stale_creations(tmp_path / "s.zarr") == []
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    leftovers = list(tmp_path.glob(".s.zarr.creating-*"))
    assert len(leftovers) == 1 and not (tmp_path / "s.zarr").exists()
    status, _, err = run(args)
    assert status == 0, err
    assert not list(tmp_path.glob(".s.zarr.creating-*"))
    assert int(qb.sweeps.open_sweep(tmp_path / "s.zarr")["done"].sum()) == 3


def test_creation_folder_without_lock_is_removed_only_when_old(tmp_path: Path) -> None:
    from qbattery.sweeps.store import remove_stale_creations

    fresh = tmp_path / ".s.zarr.creating-aaaa"
    old = tmp_path / ".s.zarr.creating-bbbb"
    fresh.mkdir()
    old.mkdir()
    os.utime(old, (time.time() - 3600, time.time() - 3600))
    assert remove_stale_creations(tmp_path / "s.zarr") == [old]
    assert fresh.exists() and not old.exists()


# -- 8. the boundary itself: catch-all, interrupts, --debug ------------------------------------
@pytest.mark.parametrize(("exc", "status", "fragment"), [
    (RuntimeError("boom\nsecond line"), 1, "unexpected RuntimeError: boom second line"),
    (MemoryError(), 1, "error: out of memory"),
    (PermissionError(13, "Permission denied", "/x"), 1, "error: /x: Permission denied"),
    (KeyboardInterrupt(), 130, "interrupted"),
])
def test_catch_all_is_one_line(monkeypatch: pytest.MonkeyPatch, exc: BaseException,
                               status: int, fragment: str) -> None:
    from qbattery import cli

    def explode(args: object) -> int:
        raise exc

    help_, configure, _ = cli.COMMANDS["methods"]
    monkeypatch.setitem(cli.COMMANDS, "methods", (help_, configure, explode))
    code, _, err = run(["methods"])
    assert code == status
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert fragment in err


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    for args in (["--debug", "plot", "x.zarr"], ["plot", "x.zarr", "--debug"]):
        proc = run_process(args, cwd=tmp_path)
        assert proc.returncode == 1
        assert "Traceback" in proc.stderr and "ModelError: store:" in proc.stderr
    proc = run_process(["plot", "x.zarr"], cwd=tmp_path)
    assert_error(proc.returncode, proc.stderr, 2, "store:")
    with pytest.raises(qb.ModelError):
        main(["--debug", "plot", str(tmp_path / "x.zarr")])


def test_reproduce_into_a_file_is_refused_before_computing(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    start = time.perf_counter()
    assert_error(*run(["reproduce", "fig3a", "--out", str(blocker)])[::2], 2,
                 "--out: 'file' is not a folder".replace("'file'", repr(str(blocker))))
    assert_error(*run(["reproduce", "fig3a", "--out", str(blocker / "sub")])[::2], 2,
                 "--out: cannot create")
    (tmp_path / "fig3b.nc").mkdir()  # the second figure's output: checked before the first
    assert_error(*run(["reproduce", "fig3a", "fig3b", "--out", str(tmp_path)])[::2], 2,
                 "fig3b.nc' is a folder")
    assert_error(*run(["compare", "--g", "1e308", "--out", str(tmp_path / "c")])[::2], 2,
                 "--g: must be at most 1e+06")
    assert time.perf_counter() - start < 10
    assert sorted(os.listdir(tmp_path)) == ["fig3b.nc", "file"]


def test_reproduce_failure_removes_the_folder_it_created(tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from qbattery import figures

    spec = figures.FIGURES["fig3a"]

    def fail() -> xr.Dataset:
        raise MemoryError

    monkeypatch.setitem(figures.FIGURES, "fig3a", spec.__class__(spec.name, spec.title, fail,
                                                                spec.draw))
    status, _, err = run(["reproduce", "fig3a", "--out", str(tmp_path / "new" / "figs")])
    assert_error(status, err, 1, "out of memory")
    assert sorted(os.listdir(tmp_path)) == ["new"]  # the parent stays: only "figs" was ours


def test_file_size_limit_signal_is_ignored_only_by_the_cli(tmp_path: Path) -> None:
    """Under ``ulimit -f`` the CLI reports EFBIG instead of dying of SIGXFSZ."""
    model = model_file(tmp_path)
    proc = run_process(["simulate", str(model), "--out", "r.nc"], cwd=tmp_path,
                       prelude=FSIZE.format(1000))
    assert proc.returncode == 1 and proc.returncode != -signal.SIGXFSZ
    assert sorted(os.listdir(tmp_path)) == ["model-0.toml"]
    assert resource.getrlimit(resource.RLIMIT_FSIZE)[0] != 1000  # limits stay in the child
