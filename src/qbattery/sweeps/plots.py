"""Plots of sweep stores: 1-D curves or 2-D heatmaps with labelled axes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..errors import ModelError
from ..io import save_figure
from .store import axis_names

#: Symbols for the axis labels, by (section, field) of a PATH.
_SYMBOLS = {
    ("drives", "frequency"): "$\\omega_f$", ("drives", "amplitude"): "$F$",
    ("couplings", "strength"): "$g$", ("baths", "rate"): "$\\gamma$",
    ("baths", "occupation"): "$N$", ("baths", "temperature"): "$T$",
    ("modes", "frequency"): "$\\omega$", ("modes", "initial_occupation"): "$n_0$",
}


def axis_label(name: str) -> str:
    """``drives.0.frequency`` -> ``drives.0.frequency  ($\\omega_f$ / omega)``."""
    parts = name.split(".")
    if name == "time":
        return "$t$ / (1/$\\omega$)"
    if len(parts) != 3:
        return name
    symbol = _SYMBOLS.get((parts[0], parts[2]))
    if parts[0] == "modes" and parts[2] == "frequency":
        symbol = f"$\\omega_{{\\mathrm{{{parts[1]}}}}}$"
    if symbol is None:
        return name
    unit = "" if parts[2] in ("initial_occupation", "occupation") else " / $\\omega$"
    return f"{name}  ({symbol}{unit})"


def default_mode(ds: xr.Dataset) -> str:
    """The battery if there is one, else the last mode."""
    names = [str(m) for m in ds["mode"].values]
    return "battery" if "battery" in names else names[-1]


def _select(ds: xr.Dataset, var: str, modes: Sequence[str], time: float | None,
            sel: Mapping[str, float]) -> tuple[xr.DataArray, list[str]]:
    variables = [str(v) for v in ds.data_vars if v != "done"]
    if var not in variables:
        raise ModelError("--var", f"unknown variable {var!r}; choose from {', '.join(variables)}")
    known = [str(m) for m in ds["mode"].values]
    for m in modes:
        if m not in known:
            raise ModelError("--mode", f"unknown mode {m!r}; modes are {', '.join(known)}")
    axes = axis_names(ds)
    da = ds[var].sel(mode=list(modes))
    notes = []
    for name, value in sel.items():
        if name not in axes:
            raise ModelError("--sel", f"{name!r} is not a varied parameter; "
                             f"varied: {', '.join(axes)}")
        da = da.sel({name: value}, method="nearest")
        notes.append(f"{name}={float(da[name]):g}")
    free = [a for a in axes if a in da.dims and da.sizes[a] > 1]
    if "time" in da.dims:
        if time is not None:
            da = da.sel(time=time, method="nearest")
        elif len(free) > 1 or len(modes) > 1 or da.sizes["time"] == 1:
            da = da.isel(time=-1)
        if "time" not in da.dims:
            notes.append(f"t={float(da['time']):g}")
        elif da.sizes["time"] > 1:
            free.append("time")
    elif time is not None:
        raise ModelError("--time", f"{var!r} has no time axis")
    if not free:
        raise ModelError("--sel", "nothing left to plot: every varied parameter is fixed")
    if len(free) > 2:
        raise ModelError("--sel", f"a plot shows one or two parameters, {len(free)} vary "
                         f"({', '.join(free)}): fix the others with --sel PATH=VALUE")
    if len(free) == 2 and len(modes) > 1:
        raise ModelError("--mode", "a heatmap shows one mode; give one --mode")
    squeeze = [d for d in da.dims if d not in (*free, "mode") and da.sizes[d] == 1]
    return da.squeeze(squeeze, drop=False), notes


def plot_sweep(ds: xr.Dataset, path: str | Path, *, var: str = "max_ergotropy",
               modes: Sequence[str] | None = None, time: float | None = None,
               sel: Mapping[str, float] | None = None) -> str:
    """Plot one variable of a sweep: curves vs one parameter, or a heatmap of two.

    Args:
        ds: a sweep Dataset (:func:`~qbattery.sweeps.open_sweep`).
        path: output image file (written atomically).
        var: variable (``energy``, ``ergotropy``, ``max_energy``, ...).
        modes: modes to show (default: the battery); several give several curves.
        time: time of a time-resolved variable (nearest stored time; default the
            last, or the time axis itself when one parameter varies).
        sel: values of further varied parameters (nearest).

    Returns:
        A one-line description of the plot.
    """
    chosen = list(modes) if modes else [default_mode(ds)]
    da, notes = _select(ds, var, chosen, time, dict(sel or {}))
    done = ds["done"].values
    units = str(da.attrs.get("units", "")).replace("omega", "$\\omega$")
    label = f"{var} / {units}" if units else var
    fig = Figure(figsize=(6.4, 4.6), layout="constrained")
    ax = fig.add_subplot()
    free = [str(d) for d in da.dims if d != "mode" and da.sizes[d] > 1]
    if len(free) == 1:
        x = free[0]
        for m in chosen:
            ax.plot(da[x].values, da.sel(mode=m).values.ravel(), label=m)
        ax.set_xlabel(axis_label(x))
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
        kind = "curve"
    else:
        x, y = free
        z = da.sel(mode=chosen[0]).transpose(y, x).values
        mesh = ax.pcolormesh(da[x].values, da[y].values, np.asarray(z, dtype=float),
                             shading="nearest")
        fig.colorbar(mesh, ax=ax, label=f"{label} ({chosen[0]})")
        ax.set_xlabel(axis_label(x))
        ax.set_ylabel(axis_label(y))
        kind = "heatmap"
    title = f"{var} of {', '.join(chosen)}"
    if notes:
        title += " at " + ", ".join(notes)
    finished = int(done.sum())
    if finished < done.size:
        title += f"  [partial: {finished}/{done.size} points]"
    ax.set_title(title, fontsize=9)
    save_figure(fig, path, flag="--out")
    return f"{path}: {kind} of {var} ({', '.join(chosen)}) vs {' and '.join(free)}"
