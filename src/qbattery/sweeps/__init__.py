"""Parameter sweeps at scale, protocol comparison and robustness studies.

* :mod:`.paths` addresses model fields by PATH (``drives.0.frequency``, ...).
* :mod:`.plan` defines the grid of points, its tiles, and computes a tile.
* :mod:`.store` keeps results in a resumable Zarr store.
* :mod:`.runner` runs a sweep in-process, on a local pool or on a Dask cluster.
* :mod:`.protocols` compares charging protocols; :mod:`.robustness` tests them
  against uncertain and fluctuating couplings.

Typical use::

    from qbattery import load_toml
    from qbattery.sweeps import SweepPlan, SweepOptions, parse_vary, run_sweep

    sim = load_toml("examples/bare.toml")
    axes = [parse_vary(sim.model, "drives.0.frequency=0.6:1.4:81"),
            parse_vary(sim.model, "couplings.0.strength=0.05:0.4:36")]
    report = run_sweep(SweepPlan(sim, tuple(axes)), "map.zarr",
                       options=SweepOptions(workers=2))
    ds = report.dataset()     # energy(drives.0.frequency, couplings.0.strength, mode, time)
"""

from __future__ import annotations

from .paths import Axis, FieldPath, parse_path, parse_vary, valid_paths, with_values
from .plan import SweepPlan, compute_tile
from .runner import SweepOptions, SweepReport, run_sweep
from .store import open_sweep

__all__ = [
    "Axis",
    "FieldPath",
    "SweepOptions",
    "SweepPlan",
    "SweepReport",
    "compute_tile",
    "open_sweep",
    "parse_path",
    "parse_vary",
    "run_sweep",
    "valid_paths",
    "with_values",
]
