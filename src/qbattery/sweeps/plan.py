"""What a sweep computes: the grid of parameter points, its tiles, and one tile's results.

The grid is the outer product of the ``--vary`` axes. It is cut into tiles
(rectangular blocks, one Zarr chunk each); a tile is the unit of work sent to a
worker and of resumption. Tiling depends only on the grid and the model, never
on the number of workers, so every run computes the same tiles the same way.

For each point the model is solved on its time grid (the window); results are
the local energy omega_i <n_i> and the ergotropy of every mode at the output
times (``--at``, or the grid), and each one's maximum over the window and the
time of that maximum.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from numpy.typing import NDArray

from ..api import solve
from ..config import Simulation, check_scales
from ..errors import ModelError, QBatteryError
from ..io import NonFiniteError
from ..model import Model
from ..solvers import check_times, choose_method
from .paths import Axis, PointBuilder, check_axes, with_values

#: Largest number of float64 values per variable in one tile of a batched sweep.
TILE_VALUES = 500_000
#: Largest number of points in one tile of a batched sweep.
TILE_POINTS = 256
#: Largest number of points of one sweep (one store): beyond it, split the sweep.
MAX_POINTS = 1_000_000
#: Largest number of tiles (each is a chunk file per variable in the store, and a
#: ``done`` chunk written when the store is created: ~1 ms each).
MAX_TILES = 50_000
#: Result variables with a time axis, and their maxima over the window.
TIME_VARIABLES = ("energy", "ergotropy")
MAX_VARIABLES = ("max_energy", "time_of_max_energy", "max_ergotropy", "time_of_max_ergotropy")


def tile_shape(shape: tuple[int, ...], target: int) -> tuple[int, ...]:
    """Chunk shape of about ``target`` points, filling the last axes first."""
    chunk: list[int] = []
    remaining = max(1, target)
    for size in reversed(shape):
        c = max(1, min(size, remaining))
        chunk.insert(0, c)
        remaining = max(1, remaining // c)
    return tuple(chunk)


@dataclass(frozen=True)
class SweepPlan:
    """A sweep: a model file, axes and output times, cut into tiles.

    Args:
        simulation: the model, its time grid (the window) and solver options.
        axes: the varied fields (one result dimension each, in order).
        at: output times (None: the model's time grid).
    """

    simulation: Simulation
    axes: tuple[Axis, ...]
    at: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.simulation, Simulation):
            raise ModelError("simulation", "expected a qbattery Simulation")
        if not self.axes:
            raise ModelError("--vary", "give at least one --vary PATH=START:STOP:COUNT")
        object.__setattr__(self, "axes", tuple(self.axes))
        check_axes(self.axes)
        if self.size > MAX_POINTS:
            raise ModelError("--vary", f"the sweep has {' x '.join(map(str, self.shape))} = "
                             f"{self.size} points; at most {MAX_POINTS} per store (split it "
                             "into several sweeps)")
        if self.at is not None:
            try:
                at = check_times(np.sort(np.asarray(self.at, dtype=float)))
            except ModelError as err:
                raise err.renamed("--at") from None
            stop = self.simulation.time.stop
            if at[-1] > stop:
                raise ModelError("--at", f"time {at[-1]:g} is beyond the model's [time] stop "
                                 f"{stop:g} (the maxima cover 0 <= t <= {stop:g}); raise stop "
                                 "to store later times")
            object.__setattr__(self, "at", tuple(float(x) for x in at))
        self._check_corners()
        if self.n_tiles > MAX_TILES:
            raise ModelError("--vary", f"the sweep needs {self.n_tiles} tiles of "
                             f"{int(np.prod(self.tile))} points (method {self.method}); at most "
                             f"{MAX_TILES}: split the sweep, or store fewer times with --at")

    def _check_corners(self) -> None:
        """:func:`~qbattery.config.check_scales` at every corner of the grid (the scales
        it bounds are largest at extreme values of the varied fields)."""
        ends = [sorted({min(a.values), max(a.values)}) for a in self.axes]
        corners = itertools.product(*ends) if len(ends) <= 10 else zip(*ends, strict=False)
        for values in corners:
            model = self.model_at(tuple(values))
            try:
                check_scales(replace(self.simulation, model=model), method=self.method)
            except ModelError as err:
                raise ModelError("--vary", f"at {_describe(self, tuple(values))}: {err}") \
                    from None

    # -- grid -------------------------------------------------------------------------------
    @property
    def model(self) -> Model:
        """The base model."""
        return self.simulation.model

    @property
    def shape(self) -> tuple[int, ...]:
        """Number of values per axis."""
        return tuple(len(a.values) for a in self.axes)

    @property
    def size(self) -> int:
        """Number of points."""
        return int(np.prod(self.shape))

    @cached_property
    def method(self) -> str:
        """The solver engine that ``[solver] method`` resolves to for the base model on
        the sweep's time window (the engine its points are solved with)."""
        sim = self.simulation
        return choose_method(self.model, sim.solver.method, stop=float(sim.time.times[-1]),
                             options=sim.solver)

    @property
    def batched(self) -> bool:
        """Whether points are solved together by the batched Gaussian solver (local
        master equation only)."""
        return self.method == "gaussian" and self.simulation.solver.master_equation == "local"

    @cached_property
    def times(self) -> NDArray[np.float64]:
        """Times every point is solved at: the grid and the ``--at`` times."""
        grid = self.simulation.time.times
        if self.at is None:
            return grid
        return np.union1d(grid, np.array(self.at))

    @cached_property
    def window_index(self) -> NDArray[np.intp]:
        """Positions of the grid times (the window of the maxima) in :attr:`times`."""
        return np.searchsorted(self.times, self.simulation.time.times)

    @cached_property
    def output_times(self) -> NDArray[np.float64]:
        """The stored times."""
        return self.simulation.time.times if self.at is None else np.array(self.at)

    @cached_property
    def output_index(self) -> NDArray[np.intp]:
        """Positions of the stored times in :attr:`times`."""
        return np.searchsorted(self.times, self.output_times)

    # -- tiles ------------------------------------------------------------------------------
    @cached_property
    def tile(self) -> tuple[int, ...]:
        """Tile (chunk) shape: many points for the batched solver, one otherwise."""
        if not self.batched:
            return tile_shape(self.shape, 1)
        per_point = len(self.model.modes) * self.times.size
        return tile_shape(self.shape, min(TILE_POINTS, max(1, TILE_VALUES // per_point)))

    @property
    def tile_counts(self) -> tuple[int, ...]:
        """Number of tiles along each axis."""
        return tuple(-(-n // c) for n, c in zip(self.shape, self.tile, strict=True))

    @property
    def n_tiles(self) -> int:
        """Number of tiles."""
        return int(np.prod(self.tile_counts))

    def tile_slices(self, i: int) -> tuple[slice, ...]:
        """The grid region of tile ``i`` (C order over the tile grid)."""
        pos = np.unravel_index(i, self.tile_counts)
        return tuple(slice(int(p) * c, min(n, (int(p) + 1) * c))
                     for p, c, n in zip(pos, self.tile, self.shape, strict=True))

    def points(self, i: int) -> list[tuple[float, ...]]:
        """Parameter values of each point of tile ``i`` (C order)."""
        return list(itertools.product(*(a.values[s] for a, s in
                                        zip(self.axes, self.tile_slices(i), strict=True))))

    def model_at(self, values: tuple[float, ...]) -> Model:
        """The model at one point."""
        return with_values(self.model, [a.path for a in self.axes], values)


def _describe(plan: SweepPlan, values: tuple[float, ...]) -> str:
    return ", ".join(f"{a.name}={v:g}" for a, v in zip(plan.axes, values, strict=True))


def _solve_points(plan: SweepPlan, models: list[Model], values: list[tuple[float, ...]]
                  ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """(P, modes, times) energy and ergotropy at ``plan.times``."""
    if plan.batched:
        from ..solvers.gaussian_batch import solve_batch

        out = solve_batch(models, plan.times)
        return out.energy, out.ergotropy
    shape = (len(models), len(plan.model.modes), plan.times.size)
    energy, ergotropy = np.empty(shape), np.empty(shape)
    for p, (model, v) in enumerate(zip(models, values, strict=True)):
        try:
            res = solve(model, plan.times, options=plan.simulation.solver)
        except QBatteryError as err:  # one-argument error: it must cross process boundaries
            raise QBatteryError(f"sweep point {_describe(plan, v)}: {err}") from None
        energy[p], ergotropy[p] = res.energy, res.ergotropy
    return energy, ergotropy


def _check_finite(plan: SweepPlan, values: list[tuple[float, ...]],
                  energy: NDArray[np.float64], ergotropy: NDArray[np.float64]) -> None:
    """Refuse a tile with a non-finite result: nothing non-finite enters the store."""
    for name, data in (("energy", energy), ("ergotropy", ergotropy)):
        bad = ~np.isfinite(data).reshape(len(values), -1).all(axis=1)
        if bad.any():
            point = values[int(np.argmax(bad))]
            raise NonFiniteError(f"sweep point {_describe(plan, point)}: the {name} is not "
                                 "finite (the input overflows); nothing was stored for it")


def compute_tile(plan: SweepPlan, i: int) -> dict[str, NDArray[np.float64]]:
    """Results of tile ``i``: each variable shaped (tile..., mode[, time])."""
    values = plan.points(i)
    build = PointBuilder(plan.model, [a.path for a in plan.axes])
    models = []
    for v in values:
        try:
            models.append(build(v))
        except QBatteryError as err:
            raise QBatteryError(f"sweep point {_describe(plan, v)}: {err}") from None
    energy, ergotropy = _solve_points(plan, models, values)
    _check_finite(plan, values, energy, ergotropy)
    shape = (*(s.stop - s.start for s in plan.tile_slices(i)), len(plan.model.modes))
    window = plan.simulation.time.times
    out: dict[str, NDArray[np.float64]] = {}
    for name, data in (("energy", energy), ("ergotropy", ergotropy)):
        inside = data[..., plan.window_index]
        k = np.argmax(inside, axis=-1)
        best = np.take_along_axis(inside, k[..., None], -1)[..., 0]
        out[name] = data[..., plan.output_index].reshape(*shape, -1)
        out[f"max_{name}"] = best.reshape(shape)
        out[f"time_of_max_{name}"] = window[k].reshape(shape)
    return out
