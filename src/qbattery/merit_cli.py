"""Commands ``qbattery summary | optimize`` (registered in :mod:`qbattery.cli`), and the
figures-of-merit table that ``qbattery simulate`` prints."""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .cli import command
from .errors import ModelError
from .io import check_output, figure_writer, write_all

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure


# -- summary ------------------------------------------------------------------------------------
def _fmt(x: float) -> str:
    return f"{x:.4g}"


def summary_table(ds: xr.Dataset) -> str:
    """Per battery mode (all modes if none has that role): final values, maxima and when."""
    from .merit_data import add_to_dataset

    if "power" not in ds or "role" not in ds.coords:  # a file from an older version
        from .config import loads_toml

        ds = add_to_dataset(ds, loads_toml(ds.attrs["model"]).model)
    roles = [str(r) for r in ds["role"].values]
    modes = [str(m) for m, r in zip(ds["mode"].values, roles, strict=True) if r == "battery"]
    head = "battery modes" if modes else "modes (none has role battery)"
    modes = modes or [str(m) for m in ds["mode"].values]
    t = ds["time"].values
    cols = ["mode", "E(end)", "W(end)", "W_coh(end)", "W_inc(end)", "Var E(end)", "max W",
            "at t", "max avg P", "at t"]
    rows = []
    for mode in modes:
        sel = ds.sel(mode=mode)
        erg = sel["ergotropy"].values
        k = int(np.argmax(erg))
        row = [mode, _fmt(sel["energy"].values[-1]), _fmt(erg[-1])]
        for name in ("coherent_ergotropy", "incoherent_ergotropy", "energy_variance"):
            row.append(_fmt(sel[name].values[-1]) if name in ds else "-")
        row += [_fmt(erg[k]), _fmt(t[k]), _fmt(float(sel["max_average_power"])),
                _fmt(float(sel["charging_time"]))]
        rows.append(row)
    widths = [max(len(r[i]) for r in [cols, *rows]) for i in range(len(cols))]
    lines = [f"{head}, t = {t[0]:g} .. {t[-1]:g} (units of omega, 1/omega):"]
    lines += ["  " + "  ".join(c.rjust(w) for c, w in zip(r, widths, strict=True))
              for r in [cols, *rows]]
    if "efficiency" in ds:
        lines.append(f"  efficiency (battery ergotropy / drive work) at t = {t[-1]:g}: "
                     f"{_fmt(float(ds['efficiency'].values[-1]))}; drive work "
                     f"{_fmt(float(ds['drive_work'].values[:, -1].sum()))}")
    if "collective_ergotropy" in ds:
        lines.append(f"  collective ergotropy at t = {t[-1]:g}: "
                     f"{_fmt(float(ds['collective_ergotropy'].values[-1]))} (Gaussian "
                     f"unitaries: {_fmt(float(ds['collective_gaussian_ergotropy'].values[-1]))})")
    return "\n".join(lines)


def _configure_summary(p: argparse.ArgumentParser) -> None:
    p.add_argument("result", help="result file written by 'qbattery simulate' (NetCDF, .nc)")


@command("summary", "print the figures of merit of a result, per battery mode",
         _configure_summary)
def _summary(args: argparse.Namespace) -> int:
    import xarray as xr

    path = Path(args.result)
    if not path.is_file():
        raise ModelError("RESULT", f"no such file {str(path)!r}")
    try:
        with xr.open_dataset(path, engine="scipy") as ds:
            ds.load()
    except (OSError, ValueError, TypeError) as err:
        raise ModelError("RESULT", f"{str(path)!r} is not a qbattery result: {err}") from None
    if "energy" not in ds or "model" not in ds.attrs:
        raise ModelError("RESULT", f"{str(path)!r} is not a qbattery result (no energy/model)")
    print(summary_table(ds))
    return 0


# -- optimize -----------------------------------------------------------------------------------
def _configure_optimize(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (TOML); its [time] is the window")
    sense = p.add_mutually_exclusive_group(required=True)
    sense.add_argument("--maximize", metavar="OBJECTIVE", help="VAR[MODE]@T, max:VAR[MODE], "
                       "efficiency@T or max_average_power[MODE], e.g. ergotropy[battery]@200")
    sense.add_argument("--minimize", metavar="OBJECTIVE", help="the same, minimised")
    p.add_argument("--vary", action="append", required=True, metavar="PATH=LO:HI",
                   help="a field and its inclusive bounds, e.g. drives.0.frequency=0.6:1.4")
    p.add_argument("--budget", type=int, default=300, help="most model solves (default 300)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1,
                       help="local worker processes for non-Gaussian models (default 1)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT", help="Dask scheduler")
    p.add_argument("--method", help="override [solver] method")
    p.add_argument("--out", required=True, help="result (JSON)")
    p.add_argument("--plot", help="convergence and landscape (PNG)")


def parse_bound(spec: str) -> tuple[str, tuple[float, float]]:
    """``PATH=LO:HI`` -> (PATH, (LO, HI)); errors name ``--vary`` and the spec."""
    name, eq, rng = (s.strip() for s in spec.partition("="))
    parts = rng.split(":")
    if not eq or not name or len(parts) != 2:
        raise ModelError("--vary", f"expected PATH=LO:HI, got {spec!r}")
    try:
        lo, hi = float(parts[0]), float(parts[1])
    except ValueError:
        raise ModelError("--vary", f"{spec!r}: LO and HI must be numbers") from None
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise ModelError("--vary", f"{spec!r}: LO and HI must be finite")
    return name, (lo, hi)


@command("optimize", "find the field values that maximise (minimise) a figure of merit",
         _configure_optimize)
def _optimize(args: argparse.Namespace) -> int:
    from .config import load_toml, with_method
    from .optimize import optimize

    out = check_output("--out", args.out)
    plot = None if args.plot is None else check_output("--plot", args.plot, image=True)
    sim = load_toml(args.model)
    if args.method is not None:
        sim = with_method(sim, args.method, flag="--method")
    bounds: dict[str, tuple[float, float]] = {}
    for spec in args.vary:
        name, pair = parse_bound(spec)
        if name in bounds:
            raise ModelError("--vary", f"{name!r} given twice")
        bounds[name] = pair
    if args.workers is not None and args.workers < 1:
        raise ModelError("--workers", f"expected an integer >= 1, got {args.workers}")
    report = optimize(sim, args.minimize or args.maximize, bounds, minimize=bool(args.minimize),
                      budget=args.budget, seed=args.seed, workers=args.workers,
                      scheduler=args.scheduler, progress=True)
    text = json.dumps(report, indent=1) + "\n"
    outputs = [(out, "--out", lambda tmp: tmp.write_text(text, encoding="utf-8"))]
    where = ", ".join(f"{k} = {v:.6g}" for k, v in report["optimum"].items())
    msg = (f"{out}: {report['objective']} = {report['value']:.6g} at {where} "
           f"({report['evaluations']} solves)")
    if plot is not None:
        outputs.append((plot, "--plot", figure_writer(draw_optimization(report), plot)))
        msg += f"; plot {plot}"
    write_all(outputs)  # both files, atomically, once both are ready
    print(msg)
    return 0


def draw_optimization(report: dict[str, Any]) -> Figure:
    """Convergence (best value so far) and, for one or two fields, the sampled landscape."""
    from matplotlib.figure import Figure

    hist = np.array(report["history"], dtype=float)
    names = list(report["optimum"])
    values = hist[:, -1]
    best = (np.minimum if report["sense"] == "minimize" else np.maximum).accumulate(values)
    panels = 2 if len(names) <= 2 else 1
    fig = Figure(figsize=(5.5 * panels, 4.2), layout="constrained")
    axes = fig.subplots(1, panels, squeeze=False)
    ax = axes[0, 0]
    ax.plot(np.arange(1, values.size + 1), best, color="C0")
    ax.set_xlabel("model solves")
    ax.set_ylabel(f"best {report['objective']}")
    ax.set_title("convergence")
    if panels == 2:
        ax = axes[0, 1]
        opt = [report["optimum"][n] for n in names]
        if len(names) == 1:
            order = np.argsort(hist[:, 0])
            ax.plot(hist[order, 0], values[order], ".", ms=3, color="0.4")
            ax.plot(opt[0], report["value"], "*", ms=14, color="C3", label="optimum")
            ax.set_xlabel(names[0])
            ax.set_ylabel(report["objective"])
        else:
            sc = ax.scatter(hist[:, 0], hist[:, 1], c=values, s=10, cmap="viridis")
            fig.colorbar(sc, ax=ax, label=report["objective"])
            ax.plot(*opt, "*", ms=16, color="C3", mec="k", label="optimum")
            ax.set_xlabel(names[0])
            ax.set_ylabel(names[1])
        ax.legend(loc="best")
        ax.set_title("sampled landscape")
    return fig
