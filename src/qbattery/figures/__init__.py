"""The paper's figures, reproducible in one command (``qbattery reproduce``).

Each figure is a registered :class:`FigureSpec`: ``compute()`` runs the solves
and returns an :class:`xarray.Dataset` (saved beside the PNG as NetCDF), and
``draw(ds, fig)`` draws it on a Matplotlib figure. Modules that define figures
register them at import; this package imports them all.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..api import solve
from ..errors import ModelError
from ..io import check_folder, check_output, figure_writer, netcdf_writer, write_all
from ..model import Model
from ..options import SolverOptions


@dataclass(frozen=True)
class FigureSpec:
    """A reproducible figure: how to compute its data and how to draw it."""

    name: str
    title: str
    compute: Callable[[], xr.Dataset]
    draw: Callable[[xr.Dataset, Figure], None]


FIGURES: dict[str, FigureSpec] = {}


def solve_dataset(model: Model, stop: float, points: int, *, method: str = "auto",
                  truncation_tol: float = 1e-6, correlations: bool = True) -> xr.Dataset:
    """``solve(model)`` on linspace(0, stop, points) as a Dataset that records the
    truncation tolerance of the density-matrix engines (``correlations``: see
    :class:`~qbattery.options.SolverOptions`)."""
    result = solve(model, np.linspace(0.0, stop, points),
                   options=SolverOptions(method=method, truncation_tol=truncation_tol,
                                         correlations=correlations))
    ds = result.to_xarray()
    ds.attrs["truncation_tol"] = truncation_tol
    return ds


def displaced_note(truncation_tol: float) -> str:
    """What a qubit figure's title says about how it was solved."""
    return f"exact (displaced frame), Fock tails ≤ {truncation_tol:g}"


def register_figure(spec: FigureSpec) -> FigureSpec:
    """Add a figure to the registry."""
    FIGURES[spec.name] = spec
    return spec


def figure_names() -> tuple[str, ...]:
    """Registered figure names, in registration order."""
    return tuple(FIGURES)


def reproduce(names: list[str] | tuple[str, ...] | None = None, *,
              out: str | Path = "qbattery-figures",
              progress: Callable[[str], None] | None = None,
              starting: Callable[[str], None] | None = None) -> list[Path]:
    """Compute and draw figures; writes ``NAME.png`` and ``NAME.nc`` into ``out``.

    Args:
        names: figure names (default: every registered figure).
        out: output folder (created if missing; checked writable before any work). Each
            figure's two files are written atomically, together, once both are drawn.
        progress: called with a line of text after each figure.
        starting: called with each figure's name before it is computed.

    Returns:
        The paths written.
    """
    chosen = list(FIGURES) if not names else list(names)
    unknown = [n for n in chosen if n not in FIGURES]
    if unknown:
        raise ModelError("figure", f"unknown figure {unknown[0]!r}; known: "
                         + ", ".join(FIGURES))
    created = not Path(out).exists()
    folder = check_folder("--out", out, create=True)
    try:
        return _write_figures(chosen, folder, progress, starting)
    except BaseException:
        if created and not any(folder.iterdir()):  # a failed run leaves nothing behind
            folder.rmdir()
        raise


def _write_figures(chosen: list[str], folder: Path, progress: Callable[[str], None] | None,
                   starting: Callable[[str], None] | None = None) -> list[Path]:
    """Compute, draw and write each figure; every output path is checked first."""
    paths = {name: (check_output("--out", folder / f"{name}.png"),
                    check_output("--out", folder / f"{name}.nc")) for name in chosen}
    written = []
    for name in chosen:
        spec = FIGURES[name]
        start = time.perf_counter()
        png, nc = paths[name]
        if starting is not None:
            starting(name)
        ds = spec.compute()
        ds.attrs.setdefault("figure", name)
        ds.attrs.setdefault("title", spec.title)
        fig = Figure(figsize=(6.4, 4.4), layout="constrained")
        spec.draw(ds, fig)
        # NaN marks values a figure does not have (e.g. no closed form); inf is refused
        write_all([(nc, "--out", netcdf_writer(ds, allow_nan=set(map(str, ds.data_vars)))),
                   (png, "--out", figure_writer(fig, png))])
        written += [png, nc]
        if progress is not None:
            progress(f"{name}: {png} ({time.perf_counter() - start:.2f} s)")
    return written


# The import order is the order of `qbattery reproduce` and `--list`.
# isort: off
from . import paper as _paper  # noqa: E402,F401  (figures 3 and 4)
from . import catalyst as _catalyst  # noqa: E402,F401  (figures 6 and 7)
from . import multicell as _multicell  # noqa: E402,F401  (Appendix A)
from . import dispersive as _dispersive  # noqa: E402,F401  (catalyst detuning)
from . import storage as _storage  # noqa: E402,F401  (charge, switch off, store)
from . import nonreciprocal as _nonreciprocal  # noqa: E402,F401  (shared reservoir)
from . import dephasing as _dephasing  # noqa: E402,F401  (dephased qubit catalyst)
from . import local_global as _local_global  # noqa: E402,F401  (local vs global ME)
from . import rwa as _rwa  # noqa: E402,F401  (RWA vs the full dipole model)
# isort: on
