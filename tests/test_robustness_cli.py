"""Issue 12: never a traceback, never a destroyed file (outputs, writes, stores, the
boundary itself; inputs and bounds are in test_input_bounds.py).

Each class of failure is driven through the command line (in-process through
``qbattery.cli.main`` with stdout/stderr captured, or in a subprocess where a
process-level mechanism is needed: file-size limits, SIGKILL, tracebacks) and
must end in exit status 2 (bad input) or 1 (environment) with one line on stderr
naming the field, argument or path, no traceback, and no file left behind or
changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
from cli_helpers import (
    FSIZE,
    assert_error,
    immutable,
    listing,
    model_file,
    run,
    run_process,
    small_disk,
)

import qbattery as qb
from qbattery.cli import main

SRC = str(Path(__file__).resolve().parents[1] / "src")


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


def test_plot_or_out_same_as_another_file_is_refused(good: tuple[Path, Path]) -> None:
    model, out = good
    png = out.with_suffix(".png")
    before = listing(out.parent)
    assert_error(*run(["simulate", str(model), "--out", str(png), "--plot", str(png)])[::2],
                 2, "--plot:", "is the --out file")
    assert_error(*run(["simulate", str(model), "--out", str(model)])[::2],
                 2, "--out:", "is the model file")
    assert listing(out.parent) == before


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


def test_replaced_file_keeps_its_permissions(good: tuple[Path, Path]) -> None:
    model, out = good
    out.chmod(0o640)
    assert run(["simulate", str(model), "--out", str(out)])[0] == 0
    assert out.stat().st_mode & 0o777 == 0o640


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


def test_sigterm_during_a_write_cleans_up(good: tuple[Path, Path]) -> None:
    """SIGTERM while the NetCDF is half written: exit 143, one line, the old file intact."""
    model, out = good
    before = listing(out.parent)
    slow = textwrap.dedent("""
        import time
        import qbattery.io as qio
        real = qio.netcdf_writer
        def writer(ds, **kw):
            write = real(ds, **kw)
            def half(tmp):
                tmp.write_bytes(b"CDF" + bytes(1000))
                print("writing", flush=True)
                time.sleep(60)
            return half
        qio.netcdf_writer = writer
        import qbattery.cli
        qbattery.cli.netcdf_writer = writer
    """)
    code = f"{slow}\nimport sys\nfrom qbattery.cli import main\n" \
        f"sys.exit(main(['simulate', {str(model)!r}, '--out', {str(out)!r}]))"
    env = {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stdout.readline() == "writing\n"
    assert len(list(out.parent.glob(".good.nc.*.tmp"))) == 1  # the half-written file
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 143 and stderr == "qbattery: terminated\n"
    assert listing(out.parent) == before


def test_existing_store_that_cannot_be_written(tmp_path: Path) -> None:
    model = model_file(tmp_path)
    args = ["sweep", str(model), "--vary", "drives.0.frequency=0.8:1.2:3", "--workers", "1",
            "--out", str(tmp_path / "s.zarr")]
    assert run(args)[0] == 0
    more = [*args[:3], "drives.0.frequency=0.8:1.2:5", *args[4:]]
    before = listing(tmp_path)
    with immutable(tmp_path / "s.zarr"):
        assert_error(*run(more)[::2], 1, "--out: cannot write into folder", "s.zarr")
    assert listing(tmp_path) == before
