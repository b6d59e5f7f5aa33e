"""A sweep SIGKILLed at any moment resumes to results identical to an uninterrupted run."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr
import zarr

import qbattery as qb
from qbattery.config import Simulation, TimeGrid, dumps_toml
from qbattery.sweeps import SweepOptions, SweepPlan, open_sweep, parse_vary, run_sweep

VARY = ["drives.0.frequency=0.6:1.4:12", "couplings.0.strength=0.05:0.4:15"]
AT = ["250", "500", "1000"]


def _sim() -> Simulation:
    # a long fine window (the maxima need every grid time) keeps tiles small and slow enough
    # to be killed in the middle; --at keeps the store small
    return Simulation(qb.bare_model(0.2, 0.1, 0.05, 0.5), TimeGrid(1000.0, 16001))


def _start(toml: Path, out: Path, workers: int) -> subprocess.Popen[bytes]:
    argv = [sys.executable, "-c", "from qbattery.cli import main; raise SystemExit(main())",
            "sweep", str(toml), *[x for v in VARY for x in ("--vary", v)], "--at", *AT,
            "--out", str(out), "--workers", str(workers)]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            start_new_session=True)


def _done_points(out: Path) -> int:
    if not out.exists():
        return -1
    return int(np.asarray(zarr.open_group(str(out), mode="r", zarr_format=2)["done"][...]).sum())


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the sweep process only, then check that its workers die with it."""
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # clean up before failing
    pytest.fail("worker processes outlived the SIGKILLed sweep")


def _snapshot(out: Path) -> xr.Dataset | None:
    """The store opens and its finished points have numbers (checked against the final
    store later: whatever a killed sweep left visible must be the final value or NaN)."""
    if not out.exists():
        return None
    ds = open_sweep(out).load()
    done = ds["done"].values.astype(bool)
    for var in ("energy", "ergotropy", "max_energy", "time_of_max_ergotropy"):
        assert np.isfinite(ds[var].values[done]).all()
    return ds


def _consistent(snapshot: xr.Dataset | None, final: xr.Dataset) -> None:
    if snapshot is None:
        return
    for var in ("energy", "ergotropy", "max_energy", "max_ergotropy", "time_of_max_energy",
                "time_of_max_ergotropy"):
        seen, last = snapshot[var].values, final[var].values
        shown = ~np.isnan(seen)
        assert np.array_equal(seen[shown], last[shown]), var


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_then_rerun_gives_identical_results(tmp_path, workers):
    toml = tmp_path / "model.toml"
    toml.write_text(dumps_toml(_sim()), encoding="utf-8")
    sim = qb.load_toml(toml)
    plan = SweepPlan(sim, tuple(parse_vary(sim.model, v) for v in VARY),
                     at=tuple(float(x) for x in AT))
    assert plan.n_tiles >= 8
    tile = plan.size // plan.n_tiles

    out = tmp_path / "killed.zarr"
    # 1) killed at once (before or while the store is created), 2) killed after some tiles
    proc = _start(toml, out, workers)
    time.sleep(0.5)
    _kill(proc)
    snapshots = [_snapshot(out)]
    proc = _start(toml, out, workers)
    deadline = time.monotonic() + 120
    while _done_points(out) < 2 * tile and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert proc.poll() is None, "the sweep finished before it could be killed"
    _kill(proc)
    finished = _done_points(out)
    assert 0 < finished < plan.size
    snapshots.append(_snapshot(out))

    rerun = subprocess.run([sys.executable, "-c", "from qbattery.cli import main; "
                            "raise SystemExit(main())", "sweep", str(toml),
                            *[x for v in VARY for x in ("--vary", v)], "--at", *AT,
                            "--out", str(out), "--workers", str(workers)],
                           capture_output=True, text=True, timeout=300, check=True)
    assert f"{plan.size - finished} computed, {finished} reused" in rerun.stdout
    assert not list(out.rglob("*.partial"))

    reference = run_sweep(plan, tmp_path / "whole.zarr", options=SweepOptions(workers=1))
    assert reference.computed_points == plan.size
    final = open_sweep(out).load()
    assert final.identical(reference.dataset().load())
    for snapshot in snapshots:
        _consistent(snapshot, final)
