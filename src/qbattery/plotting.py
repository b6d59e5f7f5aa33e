"""Plots of results (Matplotlib, non-interactive backend)."""

from __future__ import annotations

from pathlib import Path

import xarray as xr
from matplotlib.figure import Figure


def time_axis(ds: xr.Dataset) -> tuple[xr.DataArray, str]:
    """The paper's axis g t when the model has a coupling, else omega t."""
    if "gt" in ds.coords:
        return ds["gt"], "$g t$"
    return ds["time"], "$\\omega t$"


def plot_result(ds: xr.Dataset, path: str | Path) -> None:
    """Energy (dashed) and ergotropy (dotted) of every mode vs time, saved to ``path``
    atomically (see :func:`qbattery.io.save_figure`)."""
    from .io import save_figure

    save_figure(result_figure(ds), path)


def result_figure(ds: xr.Dataset) -> Figure:
    """Energy (dashed) and ergotropy (dotted) of every mode vs time."""
    fig = Figure(figsize=(6.4, 4.4), layout="constrained")
    ax = fig.add_subplot()
    x, label = time_axis(ds)
    colors = ["k", "g", "b", "r", "m", "c", "y"]
    for k, mode in enumerate(ds["mode"].values):
        c = colors[k % len(colors)]
        ax.plot(x, ds["energy"].sel(mode=mode), "--", color=c, label=f"E {mode}")
        ax.plot(x, ds["ergotropy"].sel(mode=mode), ":", color=c, lw=2, label=f"W {mode}")
    ax.set_xlabel(label)
    ax.set_ylabel("energy / $\\omega$")
    ax.set_title(f"method: {ds.attrs.get('method', '?')}", fontsize=9)
    ax.legend(fontsize=7, ncols=2)
    return fig
