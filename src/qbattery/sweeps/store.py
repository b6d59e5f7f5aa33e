"""The Zarr store of a sweep: created atomically, written tile by tile, resumable.

Layout (Zarr format 2, readable with ``xarray.open_zarr``): one dimension per
``--vary`` axis (named by its PATH), ``mode`` and ``time``; variables
``energy``/``ergotropy`` (axes..., mode, time), their maxima over the window and
the times of those maxima (axes..., mode), and ``done`` (axes...), 1 where a
point is finished. Every data variable is chunked by tile.

Never losing work, never mixing:

* The store is built in a temporary folder ``.NAME.zarr.creating-*/store`` (metadata,
  coordinates, ``done`` = 0; data unwritten, so it reads as NaN) and
  renamed into place: it either does not exist or is complete and readable. The
  creating process holds a ``flock`` on the temporary folder's lock file; a
  creation folder whose lock is free (its creator was killed) is removed by the
  next run.
* Before anything is computed, the path is checked (:func:`check_store`) and the
  store's size is compared with the free space of its disk.
* A finished tile's data chunks are written first (by the parent, or by a local
  worker process while the parent holds the store), then, by the parent, its
  ``done`` chunk.
  Zarr's local store writes every chunk to a temporary file and renames it, so a
  kill at any moment leaves each chunk either old or new; a tile whose ``done``
  chunk is set has all its data. Tiles not marked done read as NaN, or hold some
  of their final values if a kill came between their writing and their marking;
  the next run recomputes them (leftover ``*.partial`` temporary files are removed).
* The root attributes hold a fingerprint of the model, time grid, solver
  options, axes, output times, tiling and qbattery version; a run whose
  fingerprint differs is refused and told which parts differ.
* An exclusive lock (``flock``, released by the kernel even on SIGKILL) keeps
  two sweeps from writing one store at once.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
import uuid
from pathlib import Path
from types import TracebackType
from typing import IO, Any

import numpy as np
import xarray as xr
from numcodecs import Blosc
from numpy.typing import NDArray

from .. import __version__
from ..config import dumps_toml
from ..errors import ModelError
from ..io import OutputError, check_folder
from .plan import MAX_VARIABLES, TIME_VARIABLES, SweepPlan

LOCK_NAME = ".qbattery-lock"
_PART_NAMES = {
    "model": "model", "time": "[time] grid", "solver": "[solver] options",
    "vary": "--vary axes", "at": "--at times", "tiling": "tiling", "version": "qbattery version",
}


def _sha(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def fingerprint(plan: SweepPlan) -> dict[str, str]:
    """Hashes of everything that determines a sweep's numbers, by part."""
    sim = plan.simulation
    return {
        "model": _sha(repr(sim.model)),
        "time": _sha([sim.time.stop, sim.time.points]),
        "solver": _sha(repr(sim.solver)),
        "vary": _sha([[a.name, a.path.canonical, list(a.values)] for a in plan.axes]),
        "at": _sha(None if plan.at is None else list(plan.at)),
        "tiling": _sha(list(plan.tile)),
        "version": _sha(__version__),
    }


def _layout(plan: SweepPlan) -> tuple[xr.Dataset, list[tuple[str, tuple[str, ...],
                                                              tuple[int, ...], dict[str, str]]]]:
    """The store's coordinates and attributes, and its data variables: name, dims, chunks,
    attributes (shapes follow from the dims)."""
    model = plan.model
    n = len(model.modes)
    dims = tuple(a.name for a in plan.axes)
    coords: dict[str, Any] = {a.name: (a.name, a.array, {"path": a.path.canonical})
                              for a in plan.axes}
    coords["mode"] = ("mode", list(model.names))
    coords["kind"] = ("mode", [m.kind for m in model.modes])
    coords["time"] = ("time", plan.output_times, {"units": "1/omega"})
    attrs = {
        "qbattery_sweep": 1,
        "model": dumps_toml(plan.simulation),
        "vary": json.dumps([{"name": a.name, "path": a.path.canonical} for a in plan.axes]),
        "at": json.dumps(None if plan.at is None else list(plan.at)),
        "window": f"maxima over the model's time grid, 0 <= t <= {plan.simulation.time.stop:g}",
        "method": plan.method,
        "fingerprint": json.dumps(fingerprint(plan)),
        "qbattery_version": __version__,
        "conventions": "hbar=1, energies and rates in units of omega; see qbattery docs",
    }
    long = {"energy": "local energy omega <n>", "ergotropy": "ergotropy (Eq. 5)"}
    nt = plan.output_times.size
    variables = []
    for name in TIME_VARIABLES:
        variables += [
            (name, (*dims, "mode", "time"), (*plan.tile, n, nt),
             {"long_name": long[name], "units": "omega"}),
            (f"max_{name}", (*dims, "mode"), (*plan.tile, n),
             {"long_name": f"maximum of the {name} over the window", "units": "omega"}),
            (f"time_of_max_{name}", (*dims, "mode"), (*plan.tile, n),
             {"long_name": f"time of the maximum {name}", "units": "1/omega"}),
        ]
    variables.append(("done", dims, plan.tile, {"long_name": "1 where the point is finished"}))
    return xr.Dataset(coords=coords, attrs=attrs), variables


class SweepStore:
    """An open, locked sweep store (use as a context manager)."""

    def __init__(self, path: Path, plan: SweepPlan, lock: IO[str]) -> None:
        self.path = path
        self.plan = plan
        self._lock = lock
        self._group = open_for_writing(path)

    @classmethod
    def open(cls, path: str | Path, plan: SweepPlan) -> SweepStore:
        """Open the store at ``path`` for ``plan``, creating it if missing.

        Raises:
            ModelError: (``--out``) the path is not a sweep store, the store was made
                for a different sweep, or another sweep is writing it.
        """
        p = check_store(path)
        if not p.exists():
            _check_space(p, plan)
            _create(p, plan)
        _check(p, plan)
        lock = open(p / LOCK_NAME, "w")  # held until close()
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            lock.close()
            raise ModelError("--out", f"{str(p)!r} is being written by another sweep") from None
        for leftover in p.rglob("*.partial"):  # temporary files of writes cut by a kill
            leftover.unlink(missing_ok=True)
        return cls(p, plan, lock)

    def done_tiles(self) -> set[int]:
        """Tiles whose every point is finished."""
        done = np.asarray(self._group["done"][...])
        return {i for i in range(self.plan.n_tiles)
                if np.all(done[self.plan.tile_slices(i)] == 1)}

    def write(self, i: int, results: dict[str, NDArray[np.float64]]) -> None:
        """Store tile ``i``: its data chunks, then its completion marker."""
        write_data(self._group, self.plan, i, results)
        self.mark_done(i)

    def mark_done(self, i: int) -> None:
        """Record that tile ``i``'s data is in the store (call only once it is)."""
        self._group["done"][self.plan.tile_slices(i)] = 1

    def close(self) -> None:
        """Release the lock."""
        with contextlib.suppress(OSError):
            fcntl.flock(self._lock, fcntl.LOCK_UN)
        self._lock.close()

    def __enter__(self) -> SweepStore:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def write_data(group: Any, plan: SweepPlan, i: int,
               results: dict[str, NDArray[np.float64]]) -> None:
    """Write tile ``i``'s data chunks (not its marker) into an open store group.

    Each chunk lands whole: zarr writes it aside and renames it into place.
    """
    region = plan.tile_slices(i)
    for name in (*TIME_VARIABLES, *MAX_VARIABLES):
        group[name][region] = results[name]


def open_for_writing(path: str | Path) -> Any:
    """The store's Zarr group, for a worker writing tiles while the parent holds the lock."""
    import zarr

    return zarr.open_group(str(path), mode="r+", zarr_format=2)


def check_store(path: str | Path, *, flag: str = "--out") -> Path:
    """Check a store path before any work: not empty, its folder exists and accepts new
    files, and the path is a folder (a store) if it exists. Removes creation folders
    left by a killed run."""
    text = str(path)
    if not text.strip():
        raise ModelError(flag, "empty path")
    p = Path(path)
    check_folder(flag, p.parent)
    if p.exists() and not p.is_dir():
        raise ModelError(flag, f"{text!r} exists and is not a sweep store (a folder); "
                         "choose another --out")
    if p.is_dir():
        check_folder(flag, p)  # an existing store must accept new chunks
    remove_stale_creations(p)
    return p


def _creating(path: Path) -> str:
    return f".{path.name}.creating-"


def remove_stale_creations(path: Path, *, grace: float = 60.0) -> list[Path]:
    """Remove the creation folders of ``path`` whose creator is gone (its lock is free,
    or it has no lock file and is older than ``grace`` seconds); returns them."""
    removed = []
    for tmp in path.parent.glob(_creating(path) + "*"):
        try:
            fd = os.open(tmp / LOCK_NAME, os.O_RDWR)  # never created here
        except OSError:  # no lock file: killed before taking it, or not a folder
            fd = -1
        if fd >= 0:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free: its creator is gone
                shutil.rmtree(tmp, ignore_errors=True)
            except BlockingIOError:  # being created right now
                continue
            finally:
                os.close(fd)
        else:
            if time.time() - tmp.lstat().st_mtime < grace:
                continue
            if tmp.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                tmp.unlink(missing_ok=True)
        removed.append(tmp)
    return removed


def store_bytes(plan: SweepPlan) -> int:
    """Uncompressed size of a store's data (float time series barely compress)."""
    n = len(plan.model.modes)
    per_point = 2 * n * plan.output_times.size + 4 * n
    return plan.size * (per_point * 8 + 1)


def _check_space(path: Path, plan: SweepPlan) -> None:
    need = store_bytes(plan)
    free = shutil.disk_usage(path.parent).free
    if need > free:
        raise OutputError(f"--out: the sweep store needs ~{need / 1e9:.3g} GB ({plan.size} "
                          f"points x {len(plan.model.modes)} modes x "
                          f"{plan.output_times.size} times); {free / 1e9:.3g} GB free in "
                          f"{str(path.parent)!r} (use --at to store fewer times)")


def _create(path: Path, plan: SweepPlan) -> None:
    import zarr

    tmp = path.with_name(f"{_creating(path)}{uuid.uuid4().hex[:8]}")
    try:
        tmp.mkdir()
        with open(tmp / LOCK_NAME, "w") as lock:  # held while creating (see remove_stale)
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            _build(tmp / "store", plan)
            zarr.consolidate_metadata(str(tmp / "store"), zarr_format=2)
            os.rename(tmp / "store", path)
    except OSError as err:
        if not path.exists():
            raise OutputError(f"--out: cannot create {str(path)!r}: {err.strerror or err}") \
                from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _build(tmp: Path, plan: SweepPlan) -> None:
    """Write the store's metadata and coordinates into the new folder ``tmp``."""
    import zarr

    coords, variables = _layout(plan)
    coords.to_zarr(str(tmp), mode="w-", zarr_format=2, consolidated=False)
    group = zarr.open_group(str(tmp), mode="r+", zarr_format=2)
    sizes = {**dict(coords.sizes)}
    # float time series barely compress: a fast codec keeps the writes cheap
    codec = Blosc(cname="lz4", clevel=1, shuffle=Blosc.SHUFFLE)
    for name, dims, chunks, attrs in variables:
        shape = tuple(sizes[d] for d in dims)
        if name == "done":  # written as 0 (a fill value would read as NaN in xarray)
            arr = group.create_array(name, shape=shape, chunks=chunks, dtype="uint8",
                                     fill_value=None, compressors=None)
            arr[...] = 0
        else:  # never written until computed: reads as NaN
            arr = group.create_array(name, shape=shape, chunks=chunks, dtype="float64",
                                     fill_value=np.nan, compressors=codec)
        arr.attrs.update({"_ARRAY_DIMENSIONS": list(dims), **attrs})


def _check(path: Path, plan: SweepPlan) -> None:
    try:
        attrs = json.loads((path / ".zattrs").read_text(encoding="utf-8"))
        stored = json.loads(attrs["fingerprint"])
        if attrs.get("qbattery_sweep") != 1 or not isinstance(stored, dict):
            raise ValueError
    except (OSError, ValueError, KeyError, TypeError):
        raise ModelError("--out", f"{str(path)!r} exists and is not a qbattery sweep store; "
                         "choose another --out") from None
    current = fingerprint(plan)
    differ = [_PART_NAMES[k] for k in current if stored.get(k) != current[k]]
    if len(differ) > 1 and "tiling" in differ:  # tiling follows from the other parts
        differ.remove("tiling")
    if differ:
        raise ModelError("--out", f"{str(path)!r} holds a sweep of a different "
                         f"{', '.join(differ)}; refusing to mix results: use another --out, "
                         "or delete the store to start over")


def open_sweep(path: str | Path) -> xr.Dataset:
    """Open a sweep store as a (lazy) xarray Dataset.

    Raises:
        ModelError: the path is not a sweep store.
    """
    p = Path(path)
    if not str(path).strip():
        raise ModelError("store", "empty path")
    if not p.is_dir():
        why = "not a folder" if p.exists() else "no such folder"
        raise ModelError("store", f"{str(p)!r} is not a sweep store ({why})")
    try:
        ds = xr.open_zarr(str(p), zarr_format=2, consolidated=True)
    except Exception as err:  # zarr's own errors have no common base class
        raise ModelError("store", f"cannot open {str(p)!r} as a sweep store: "
                         f"{type(err).__name__}: {err}") from None
    if ds.attrs.get("qbattery_sweep") != 1:
        raise ModelError("store", f"{str(p)!r} is not a qbattery sweep store")
    return ds


def axis_names(ds: xr.Dataset) -> list[str]:
    """The varied PATHs of a sweep Dataset, in order."""
    return [v["name"] for v in json.loads(ds.attrs["vary"])]
