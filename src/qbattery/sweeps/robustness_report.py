"""Text table and figure of a robustness Dataset (:func:`qbattery.sweeps.robustness.robustness`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from .protocols import COLORS

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["draw_robustness", "robustness_table"]


def _stats(w: NDArray[np.float64]) -> tuple[float, float, float, float]:
    """Mean and std of the final and of the maximum ergotropy over samples (axis 0);
    the statistical error of a mean is std / sqrt(samples)."""
    final, best = w[:, -1], np.max(w, axis=-1)
    return float(final.mean()), float(final.std()), float(best.mean()), float(best.std())


def robustness_table(ds: xr.Dataset) -> str:
    """Mean ± std of the battery ergotropy at the end of the window and of its maximum."""
    rows = [f"g={ds.attrs['g']:g}, F={ds.attrs['F']:g}, gamma={ds.attrs['gamma']:g}, "
            f"N={ds.attrs['n_th']:g}; window t <= {float(ds['time'][-1]):g}"]
    head = f"{'protocol':<22}{'nominal W(end)':>15}{'W(end) mean±std':>22}{'max W mean±std':>22}"
    blocks = [("static_ergotropy", "static_status",
               lambda: f"static error on g: std {ds.attrs['static_std']:g} "
                       f"({ds.attrs['static_distribution']}, {ds.sizes.get('sample', 0)} "
                       f"samples, seed {ds.attrs['static_seed']})"),
              ("temporal_ergotropy", "temporal_status",
               lambda: f"OU noise on {ds.attrs['ou_target']}: std {ds.attrs['ou_std']:g}, "
                       f"tau {ds.attrs['ou_correlation_time']:g}, step {ds.attrs['ou_step']:g}, "
                       f"{ds.sizes.get('realisation', 0)} realisations, "
                       f"seed {ds.attrs['ou_seed']}; the error of a mean is std/sqrt(n)")]
    for var, stat_var, title in blocks:
        if var not in ds:
            continue
        rows += ["", title(), head]
        for k, name in enumerate(ds["protocol"].values):
            state = str(ds[stat_var].values[k])
            if not state.startswith("ok") and not state.startswith("nothing"):
                rows.append(f"{name:<22}{state}")
                continue
            m, s, mb, sb = _stats(ds[var].values[k])
            nominal = float(ds["nominal_ergotropy"].values[k, -1])
            note = f"  ({state})" if state.startswith("nothing") else ""
            rows.append(f"{name:<22}{nominal:>15.4g}{f'{m:.4g} ± {s:.2g}':>22}"
                        f"{f'{mb:.4g} ± {sb:.2g}':>22}{note}")
    return "\n".join(rows)


def draw_robustness(ds: xr.Dataset, fig: Figure) -> None:
    """Mean ergotropy ± one std band vs g t per protocol, one panel per kind of noise."""
    kinds = [(v, s, x) for v, s, x in (("static_ergotropy", "static_status", "time"),
                                        ("temporal_ergotropy", "temporal_status", "ou_time"))
             if v in ds]
    axes = fig.subplots(1, max(1, len(kinds)), sharey=True, squeeze=False)[0]
    g = ds.attrs["g"]
    for ax, (var, stat_var, tname) in zip(axes, kinds, strict=False):
        x = g * ds[tname].values
        for k in range(ds.sizes["protocol"]):
            c = COLORS[k % len(COLORS)]
            label = str(ds["label"].values[k])
            state = str(ds[stat_var].values[k])
            if not (state.startswith("ok") or state.startswith("nothing")):
                ax.plot([], [], color=c, label=f"{label}: not computed")
                continue
            w = ds[var].values[k]
            mean, std = w.mean(0), w.std(0)
            ax.plot(x, mean, color=c, label=label)
            ax.fill_between(x, mean - std, mean + std, color=c, alpha=0.25, lw=0)
            ax.plot(g * ds["time"].values, ds["nominal_ergotropy"].values[k], ":", color=c,
                    lw=1)
        ax.set_xlabel("$g_0 t$")
        if var == "static_ergotropy":
            ax.set_title(f"static error on g: std {ds.attrs['static_std']:g}", fontsize=9)
        else:
            ax.set_title(f"OU noise on {ds.attrs['ou_target']}: std {ds.attrs['ou_std']:g}, "
                         f"τ={ds.attrs['ou_correlation_time']:g}", fontsize=9)
    axes[0].set_ylabel("battery ergotropy $W_B$ / $\\omega$ (mean ± std; dotted: nominal)")
    axes[0].legend(fontsize=7, loc="upper left")
