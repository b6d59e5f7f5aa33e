"""Commands ``qbattery sweep | plot | compare | robustness`` (registered in :mod:`qbattery.cli`)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ..cli import command
from ..errors import ModelError
from ..io import check_output, figure_writer, netcdf_writer, write_all

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

    from .protocols import Protocol, ProtocolParams


# -- sweep --------------------------------------------------------------------------------------
def _configure_sweep(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--vary", action="append", required=True, metavar="PATH=START:STOP:COUNT",
                   help="a varied field, e.g. drives.0.frequency=0.6:1.4:81 or "
                   "modes.catalyst.frequency=0.5,1,2 (repeat for more axes)")
    p.add_argument("--at", nargs="+", action="extend", type=float, metavar="TIME",
                   help="store energy and ergotropy at these times (default: the model's "
                   "time grid); maxima are always over the grid")
    p.add_argument("--out", required=True, help="result store (Zarr folder, NAME.zarr)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (default: cores)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run on this Dask distributed scheduler")
    p.add_argument("--method", help="override [solver] method")


@command("sweep", "solve a model over a grid of parameter values (resumable Zarr store)",
         _configure_sweep)
def _sweep(args: argparse.Namespace) -> int:
    from ..config import load_toml, with_method
    from .paths import parse_vary
    from .plan import SweepPlan
    from .runner import SweepOptions, run_sweep
    from .store import check_store

    check_store(args.out)
    sim = load_toml(args.model)
    if args.method is not None:
        sim = with_method(sim, args.method, flag="--method")
    axes = tuple(parse_vary(sim.model, spec) for spec in args.vary)
    plan = SweepPlan(sim, axes, at=tuple(args.at) if args.at else None)
    options = SweepOptions(workers=args.workers, scheduler=args.scheduler, progress=True)
    report = run_sweep(plan, args.out, options=options)
    print(f"{report.path}: {report.points} points ({report.computed_points} computed, "
          f"{report.reused_points} reused) in {report.seconds:.3g} s; method {plan.method}, "
          f"{report.executor}")
    return 0


# -- plot ---------------------------------------------------------------------------------------
def _configure_plot(p: argparse.ArgumentParser) -> None:
    p.add_argument("store", help="sweep store (NAME.zarr)")
    p.add_argument("--var", default="max_ergotropy",
                   help="variable: energy, ergotropy, max_energy, max_ergotropy, "
                   "time_of_max_energy, time_of_max_ergotropy (default: max_ergotropy)")
    p.add_argument("--mode", action="append", help="mode to show (default: battery; repeat "
                   "for several curves)")
    p.add_argument("--time", type=float, help="time for energy/ergotropy (nearest stored)")
    p.add_argument("--sel", action="append", default=[], metavar="PATH=VALUE",
                   help="fix a further varied parameter (nearest value)")
    p.add_argument("--out", help="image file (default: STORE-VAR-MODE.png beside the store)")


def _parse_sel(items: list[str]) -> dict[str, float]:
    out = {}
    for item in items:
        name, eq, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            raise ModelError("--sel", f"expected PATH=VALUE, got {item!r}") from None
        if not eq:
            raise ModelError("--sel", f"expected PATH=VALUE, got {item!r}")
        if not math.isfinite(number):
            raise ModelError("--sel", f"VALUE must be finite, got {item!r}")
        out[name.strip()] = number
    return out


@command("plot", "plot a sweep store: curves vs one parameter or a heatmap of two",
         _configure_plot)
def _plot(args: argparse.Namespace) -> int:
    from .plots import default_mode, plot_sweep
    from .store import open_sweep

    if args.time is not None and not math.isfinite(args.time):
        raise ModelError("--time", f"must be finite, got {args.time!r}")
    sel = _parse_sel(args.sel)
    if args.out is not None:
        check_output("--out", args.out, image=True)
    ds = open_sweep(args.store)
    modes = args.mode or [default_mode(ds)]
    store = Path(args.store)
    out = check_output("--out", args.out if args.out is not None else store.with_name(
        f"{store.name.removesuffix('.zarr')}-{args.var}-{'-'.join(modes)}.png"), image=True)
    print(plot_sweep(ds, out, var=args.var, modes=modes, time=args.time, sel=sel))
    return 0


# -- compare / robustness -----------------------------------------------------------------------
def _physics(p: argparse.ArgumentParser) -> None:
    p.add_argument("--g", type=float, default=0.2, help="nominal coupling (default 0.2)")
    p.add_argument("--F", type=float, default=0.1, help="drive amplitude (default 0.1)")
    p.add_argument("--gamma", type=float, default=0.05, help="charger damping (default 0.05)")
    p.add_argument("--n-th", type=float, default=0.0, help="bath occupation N (default 0)")
    p.add_argument("--gamma-q", type=float, default=0.0, help="catalyst damping (default 0)")
    p.add_argument("--omega-q", type=float, default=1.0, help="catalyst frequency (default 1)")
    p.add_argument("--stop", type=float, default=200.0, help="window end (default 200)")
    p.add_argument("--points", type=int, default=401, help="output times (default 401)")
    p.add_argument("--protocols", metavar="NAME,NAME", help="protocols to run, comma "
                   "separated (default: all of bare, bare_global, catalyst_oscillator, "
                   "catalyst_qubit; the qubit is the slow one)")
    p.add_argument("--out", required=True, help="output prefix: writes PREFIX.png and "
                   "PREFIX.nc")


def _protocols(args: argparse.Namespace) -> tuple[Protocol, ...]:
    from .protocols import PROTOCOLS, protocol_named

    if args.protocols is None:
        return PROTOCOLS
    names = [n.strip() for n in args.protocols.split(",") if n.strip()]
    if not names:
        raise ModelError("--protocols", f"expected NAME[,NAME...], got {args.protocols!r}")
    try:
        return tuple(protocol_named(n) for n in names)
    except ModelError as err:
        raise err.renamed("--protocols") from None


def _params(args: argparse.Namespace) -> ProtocolParams:
    from .protocols import ProtocolParams

    try:
        return ProtocolParams(g=args.g, F=args.F, gamma=args.gamma, n_th=args.n_th,
                              gamma_q=args.gamma_q, omega_q=args.omega_q)
    except ModelError as err:
        flag = "--" + err.field.replace("_", "-")
        raise err.renamed(flag) from None


def _outputs(prefix: str) -> tuple[Path, Path]:
    """``PREFIX.png`` and ``PREFIX.nc``, checked before any work starts."""
    if not prefix.strip() or prefix.endswith(("/", ".")):
        raise ModelError("--out", f"expected an output prefix (writes PREFIX.png and "
                         f"PREFIX.nc), got {prefix!r}")
    out = Path(prefix)
    png, nc = out.with_name(out.name + ".png"), out.with_name(out.name + ".nc")
    return check_output("--out", png, image=True), check_output("--out", nc)


def _save(ds: xr.Dataset, draw: Callable[[xr.Dataset, Figure], None],
          files: tuple[Path, Path], size: tuple[float, float]) -> str:
    """Draw and write both files atomically (NaN marks "not available" in these Datasets;
    infinities are refused)."""
    from matplotlib.figure import Figure

    png, nc = files
    fig = Figure(figsize=size, layout="constrained")
    draw(ds, fig)
    write_all([(nc, "--out", netcdf_writer(ds, allow_nan=set(map(str, ds.data_vars)))),
               (png, "--out", figure_writer(fig, png))])
    return f"wrote {png} and {nc}"


def _configure_compare(p: argparse.ArgumentParser) -> None:
    _physics(p)
    p.add_argument("--store", type=float, default=0.0, help="storage phase: switch the drive "
                   "off at --stop and follow the battery for this long (default 0: none)")


@command("compare", "compare charging protocols (bare at ω and ω+g, oscillator and qubit "
         "catalysts) on one set of parameters", _configure_compare)
def _compare(args: argparse.Namespace) -> int:
    from .protocols import compare, compare_table, draw_compare

    files = _outputs(args.out)
    ds = compare(_params(args), stop=args.stop, points=args.points,
                 protocols=_protocols(args), store=args.store)
    print(compare_table(ds))
    print(_save(ds, draw_compare, files, (6.4, 5.6)))
    return 0


def _configure_robustness(p: argparse.ArgumentParser) -> None:
    _physics(p)
    p.add_argument("--static-std", type=float, help="std of the static error on g "
                   "(0 or omitted: no static study)")
    p.add_argument("--samples", type=int, default=200, help="static draws (default 200)")
    p.add_argument("--distribution", default="normal", help="normal (default) or uniform")
    p.add_argument("--ou-std", type=float, help="std of the Ornstein-Uhlenbeck fluctuation "
                   "(omitted: no temporal study)")
    p.add_argument("--correlation-time", type=float, default=20.0,
                   help="OU correlation time (default 20)")
    p.add_argument("--realisations", type=int, default=20, help="OU realisations (default 20)")
    p.add_argument("--fluctuate", default="g", help="g (default) or omega_q")
    p.add_argument("--step", type=float, help="hold step of the OU process "
                   "(default correlation time / 10)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")


@command("robustness", "battery ergotropy per protocol when g is uncertain (static) or "
         "fluctuates in time (Ornstein-Uhlenbeck)", _configure_robustness)
def _robustness(args: argparse.Namespace) -> int:
    from .robustness import (
        StaticNoise,
        TemporalNoise,
        draw_robustness,
        robustness,
        robustness_table,
    )

    if args.static_std is None and args.ou_std is None:
        raise ModelError("--static-std", "give --static-std and/or --ou-std")
    files = _outputs(args.out)
    static = None if args.static_std is None else StaticNoise(
        args.static_std, samples=args.samples, distribution=args.distribution, seed=args.seed)
    temporal = None if args.ou_std is None else TemporalNoise(
        args.ou_std, args.correlation_time, realisations=args.realisations,
        target=args.fluctuate, step=args.step, seed=args.seed)
    ds = robustness(_params(args), static=static, temporal=temporal, stop=args.stop,
                    points=args.points, protocols=_protocols(args))
    print(robustness_table(ds))
    print(_save(ds, draw_robustness, files, (9.6, 4.4)))
    return 0
