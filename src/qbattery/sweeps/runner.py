"""Running a sweep: in-process, on a local process pool, or on a Dask cluster.

Tiles are computed by :func:`~qbattery.sweeps.plan.compute_tile`. Local pool
workers write their tile's data chunks into the store themselves (which keeps
the parent idle); Dask workers, which may not share a file system, send their
results back and the calling process writes them. Only the calling process
marks a tile done, after its data is in, once per tile whatever happens to the
workers: on a Dask cluster a worker lost mid-sweep has its tasks rerun by the
scheduler, and their results arrive once, as for any task. Finished tiles found
in the store are never recomputed. Local workers die with the calling process,
even when it is SIGKILLed.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as wait_futures
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..errors import ModelError, QBatteryError
from .plan import SweepPlan, compute_tile
from .store import SweepStore, fingerprint, open_for_writing, open_sweep, write_data

_SCHEDULER = re.compile(r"^tcp://(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")

Results = dict[str, NDArray[np.float64]]
#: submit(tile index) -> future;  wait(futures) -> (finished, pending)
Submit = Callable[[int], Any]
Wait = Callable[[list[Any]], tuple[set[Any], set[Any]]]
#: what an execution backend yields: submit, wait, and how many tiles to keep in flight
Backend = tuple[Submit, Wait, int]


def default_workers() -> int:
    """Number of cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover  (not Linux)
        return max(1, os.cpu_count() or 1)


@dataclass(frozen=True)
class SweepOptions:
    """How to run a sweep.

    Args:
        workers: local worker processes (default: the number of cores; 1 runs in-process).
        scheduler: address ``tcp://HOST:PORT`` of a running Dask distributed scheduler
            (its workers need qbattery installed); excludes ``workers``.
        progress: show a progress bar with ETA when stderr is a terminal.
    """

    workers: int | None = None
    scheduler: str | None = None
    progress: bool = False

    def __post_init__(self) -> None:
        w = self.workers
        if w is not None and (isinstance(w, bool) or not isinstance(w, int) or w < 1):
            raise ModelError("--workers", f"expected an integer >= 1, got {w!r}")
        if self.scheduler is not None:
            if w is not None:
                raise ModelError("--scheduler", "give --workers or --scheduler, not both")
            m = _SCHEDULER.match(str(self.scheduler))
            if not m or not 0 < int(m.group(2)) < 65536:
                raise ModelError("--scheduler", "expected tcp://HOST:PORT, got "
                                 f"{self.scheduler!r}")


@dataclass(frozen=True)
class SweepReport:
    """What a run did: where the results are and how much was computed."""

    path: Path
    points: int
    computed_points: int
    reused_points: int
    seconds: float
    executor: str

    def dataset(self) -> xr.Dataset:
        """The results (lazy; ``.load()`` to read them all)."""
        return open_sweep(self.path)


def _tile_points(plan: SweepPlan, i: int) -> int:
    return int(np.prod([s.stop - s.start for s in plan.tile_slices(i)]))


def _alive(pid: int) -> bool:
    """Whether process ``pid`` runs (a zombie, killed but not yet reaped, does not)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return False
    except OSError:
        pass
    try:  # no /proc: ask the kernel
        os.kill(pid, 0)
    except OSError:
        return False
    return True


def _init_worker(parent: int) -> None:
    """Worker set-up: one BLAS thread; exit as soon as the sweep process is gone."""
    import threading

    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1)
    if sys.platform.startswith("linux"):  # and die with the fork server
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG

    def watch() -> None:
        while _alive(parent):
            time.sleep(0.2)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="qbattery-parent-watch").start()


def _fork_server() -> Any:
    """The fork-server context, its server started (it imports qbattery in the background)."""
    import multiprocessing
    from multiprocessing import forkserver

    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["qbattery.sweeps.runner"])
    forkserver.ensure_running()
    return ctx


@contextmanager
def _local_pool(plan: SweepPlan, path: Path, workers: int) -> Iterator[Backend]:
    # a fork server (started once, qbattery imported once) forks the workers: no fork of
    # this process's threads, cheap start-up; the workers watch this process and exit when
    # it is gone, even after a SIGKILL.
    ctx = _fork_server()
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                               initargs=(os.getpid(),))
    try:
        def wait(fs: list[Future[Results]]) -> tuple[set[Any], set[Any]]:
            done, pending = wait_futures(fs, return_when=FIRST_COMPLETED)
            return set(done), set(pending)

        yield (lambda i: pool.submit(_compute_and_write, plan, str(path), i)), wait, \
            2 * workers + 2
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


_WORKER_STORES: dict[str, Any] = {}


def _compute_and_write(plan: SweepPlan, path: str, i: int) -> None:
    """Worker task of the local pool: compute tile ``i`` and write its data chunks."""
    if path not in _WORKER_STORES:
        _WORKER_STORES[path] = open_for_writing(path)
    write_data(_WORKER_STORES[path], plan, i, compute_tile(plan, i))


@contextmanager
def _dask(plan: SweepPlan, address: str) -> Iterator[Backend]:
    from distributed import Client, as_completed

    try:
        client = Client(address, timeout="20s", set_as_default=False)
    except OSError as err:
        raise ModelError("--scheduler", f"cannot connect to {address}: {err}") from None
    try:
        remote_plan = client.scatter(plan, broadcast=True, hash=False)
        tag = fingerprint(plan)["vary"]

        finished = as_completed(loop=client.loop)

        def submit(i: int) -> Any:
            future = client.submit(compute_tile, remote_plan, i, key=f"qbattery-tile-{tag}-{i}")
            finished.add(future)
            return future

        def wait(fs: list[Any]) -> tuple[set[Any], set[Any]]:
            done = {next(finished)}
            while finished.has_ready():
                done.add(next(finished))
            return done, set(fs) - done

        yield submit, wait, 2 * max(1, sum(client.nthreads().values())) + 2
    finally:
        client.close()


def _progress_bar(plan: SweepPlan, done_points: int, enabled: bool) -> Any:
    from tqdm import tqdm

    show = enabled and sys.stderr.isatty()
    try:
        columns = os.get_terminal_size(sys.stderr.fileno()).columns if show else 0
    except OSError:
        columns = 0
    # a terminal that reports no size (some pseudo-terminals) would hide the bar
    width: dict[str, Any] = ({"dynamic_ncols": True} if columns > 0
                             else {"ncols": 80, "nrows": 24})
    return tqdm(total=plan.size, initial=done_points, unit="pt", desc="sweep",
                disable=not show, file=sys.stderr, smoothing=0.1, **width)


def run_sweep(plan: SweepPlan, out: str | Path, *,
              options: SweepOptions | None = None) -> SweepReport:
    """Compute every unfinished tile of ``plan`` and store it in the Zarr store ``out``.

    A store left by an interrupted run of the same sweep is resumed: its
    finished tiles are kept and only the others are computed.

    Args:
        plan: the sweep.
        out: the store (a folder, conventionally ``NAME.zarr``).
        options: where to compute (default: a local pool of one process per core).

    Returns:
        A :class:`SweepReport`; ``report.dataset()`` opens the results.
    """
    opts = SweepOptions() if options is None else options
    start = time.perf_counter()
    if opts.scheduler is None and (opts.workers or default_workers()) > 1:
        _fork_server()  # start it now: it loads qbattery while the store is opened
    with SweepStore.open(out, plan) as store:
        finished = store.done_tiles()
        todo = [i for i in range(plan.n_tiles) if i not in finished]
        reused = sum(_tile_points(plan, i) for i in finished)
        workers = min(opts.workers or default_workers(), max(1, len(todo)))
        executor = (f"dask {opts.scheduler}" if opts.scheduler
                    else "in-process" if workers == 1 else f"local pool of {workers}")
        computed = 0
        with _progress_bar(plan, reused, opts.progress) as bar:
            for i in _tiles(plan, store, todo, opts.scheduler, workers):
                computed += _tile_points(plan, i)
                bar.update(_tile_points(plan, i))
    return SweepReport(Path(out), plan.size, computed, reused,
                       time.perf_counter() - start, executor)


def _tiles(plan: SweepPlan, store: SweepStore, todo: list[int], scheduler: str | None,
           workers: int) -> Iterator[int]:
    """Compute and store the tiles ``todo``; yield each index once it is stored."""
    if not todo:
        return
    if scheduler is None and workers == 1:
        for i in todo:
            store.write(i, compute_tile(plan, i))
            yield i
        return
    # local workers write their tile's data themselves (same file system); Dask workers
    # may not share it, so their results come back to be written here
    if scheduler is not None:
        backend = _dask(plan, scheduler)
        finish: Callable[[int, Any], None] = store.write
    else:
        backend = _local_pool(plan, store.path, workers)
        finish = lambda i, _: store.mark_done(i)  # noqa: E731
    with backend as (submit, wait, window):
        yield from _drain(todo, submit, wait, window, finish)


def _drain(todo: list[int], submit: Submit, wait: Wait, window: int,
           finish: Callable[[int, Any], None]) -> Iterator[int]:
    """Keep up to ``window`` tiles in flight; ``finish`` each as it completes; yield its index."""
    queue = iter(todo)
    pending: dict[Any, int] = {}
    try:
        while True:
            while len(pending) < window and (i := next(queue, None)) is not None:
                pending[submit(i)] = i
            if not pending:
                return
            finished, _ = wait(list(pending))
            for future in finished:
                i = pending.pop(future)
                finish(i, _result(future, i))
                yield i
    finally:
        for future in pending:
            future.cancel()


def _result(future: Any, i: int) -> Any:
    try:
        return future.result()
    except QBatteryError:
        raise
    except Exception as err:
        name = type(err).__name__
        if name in ("KilledWorker", "BrokenProcessPool"):
            raise QBatteryError(f"worker lost while computing tile {i} ({name}); finished "
                                "points are saved: run the same command again to resume") \
                from None
        raise
