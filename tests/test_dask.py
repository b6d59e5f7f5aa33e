"""A sweep on a Dask distributed cluster (LocalCluster on 127.0.0.1) equals the local pool."""

from __future__ import annotations

import os
import signal
import threading
import time

import distributed
import pytest

import qbattery as qb
from qbattery.config import Simulation, TimeGrid
from qbattery.sweeps import SweepOptions, SweepPlan, parse_vary, run_sweep
from qbattery.sweeps.store import SweepStore


@pytest.fixture(scope="module")
def cluster():
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  worker_dashboard_address=None) as c:
        yield c


def _plan(points: int = 401) -> SweepPlan:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.01, 0.2, catalyst="oscillator")
    sim = Simulation(model, TimeGrid(200.0, points))
    axes = (parse_vary(model, "modes.catalyst.frequency=0.5:1.5:21"),
            parse_vary(model, "couplings.1.strength=0.05:0.4:30"))
    return SweepPlan(sim, axes)


def test_dask_cluster_equals_local_pool(tmp_path, cluster):
    plan = _plan()
    assert plan.n_tiles > 2
    local = run_sweep(plan, tmp_path / "local.zarr", options=SweepOptions(workers=2))
    remote = run_sweep(plan, tmp_path / "dask.zarr",
                       options=SweepOptions(scheduler=cluster.scheduler_address))
    assert remote.executor.startswith("dask tcp://127.0.0.1:")
    assert remote.computed_points == plan.size
    assert local.dataset().load().identical(remote.dataset().load())


def test_lost_worker_neither_loses_nor_duplicates_points(tmp_path, cluster, monkeypatch):
    """Kill a worker process while tiles are in flight: the scheduler reruns its tasks,
    every tile is written once, and the results equal the in-process run."""

    plan = _plan(points=4001)
    client = distributed.Client(cluster.scheduler_address, set_as_default=False)
    killed = threading.Event()

    pids = client.run(os.getpid)  # worker address -> pid of the worker process

    def kill_one() -> None:
        start = time.monotonic()
        while time.monotonic() - start < 60.0:
            busy = [w for w, tasks in client.processing().items() if tasks and w in pids]
            if busy:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.01)

    writes: list[int] = []
    original = SweepStore.write

    def counting(self, i, results):  # record every tile written
        writes.append(i)
        original(self, i, results)

    monkeypatch.setattr(SweepStore, "write", counting)
    thread = threading.Thread(target=kill_one)
    try:
        thread.start()
        remote = run_sweep(plan, tmp_path / "dask.zarr",
                           options=SweepOptions(scheduler=cluster.scheduler_address))
    finally:
        thread.join()
        client.close()
    monkeypatch.undo()
    assert killed.is_set()
    assert sorted(writes) == list(range(plan.n_tiles))
    assert remote.computed_points == plan.size
    reference = run_sweep(plan, tmp_path / "local.zarr", options=SweepOptions(workers=1))
    assert reference.dataset().load().identical(remote.dataset().load())
    cluster.wait_for_workers(2, timeout=60)  # the nanny restarts the killed worker
