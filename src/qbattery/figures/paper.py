"""Figures 3 and 4: the bare charger-battery model driven off and on resonance.

Parameters from the captions: g = 0.2, F = 0.1, gamma = 0.05 on the charger
(omega = 1), N(T) = 0 (a) or 1 (b). Fig. 3 drives at omega (off resonance with
both supermodes omega +- g); Fig. 4 drives at omega + g (on resonance with C_+).
The windows reach the saturation that damping causes, and the long-time
limit (solved in closed form) is drawn as a thin line.
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..api import solve
from ..builders import bare_model
from ..model import Model
from ..solvers.gaussian import steady_state
from . import FigureSpec, register_figure

G, F, GAMMA = 0.2, 0.1, 0.05


def solve_to_dataset(model: Model, stop: float, points: int) -> xr.Dataset:
    """Solve ``model`` on linspace(0, stop, points) and label the steady state if it exists."""
    result = solve(model, np.linspace(0.0, stop, points))
    ds = result.to_xarray()
    limit = steady_state(model) if not model.has_qubit else None
    if limit is not None:
        ds["steady_energy"] = ("mode", ds["frequency"].values * limit[1],
                               {"long_name": "t -> infinity limit of the energy"})
        ds["steady_ergotropy"] = ("mode", ds["frequency"].values * np.abs(limit[0]) ** 2,
                                  {"long_name": "t -> infinity limit of the ergotropy"})
    return ds


def draw_battery(ds: xr.Dataset, fig: Figure, *, catalyst: str | None = None) -> None:
    """Battery energy (dashed) and ergotropy (dotted) vs g t; catalyst energy in green."""
    ax = fig.add_subplot()
    x = ds["gt"] if "gt" in ds.coords else ds["time"]
    ax.plot(x, ds["energy"].sel(mode="battery"), "k--", label="$E_B/\\omega$")
    ax.plot(x, ds["ergotropy"].sel(mode="battery"), "b:", lw=2, label="$W_B/\\omega$")
    if catalyst is not None:
        ax.plot(x, ds["energy"].sel(mode=catalyst), "g-", label="$E_C/\\omega$ (catalyst)")
    if "steady_energy" in ds:
        e_inf = float(ds["steady_energy"].sel(mode="battery"))
        w_inf = float(ds["steady_ergotropy"].sel(mode="battery"))
        ax.axhline(e_inf, color="0.5", lw=0.8)
        ax.annotate(f"saturation (t→∞): E={e_inf:.3g}, W={w_inf:.3g}", (0.02, e_inf),
                    xycoords=("axes fraction", "data"), textcoords="offset points",
                    xytext=(0, 4), fontsize=8, color="0.3")
    ax.set_xlabel("$g t$" if "gt" in ds.coords else "$\\omega t$")
    ax.set_ylabel("energy / $\\omega$")
    ax.set_title(str(ds.attrs.get("title", "")), fontsize=9)
    ax.legend(loc="best", fontsize=8)


def _bare(n_th: float, omega_f: float, stop: float) -> xr.Dataset:
    return solve_to_dataset(bare_model(G, F, GAMMA, n_th, omega_f=omega_f), stop, 601)


for _name, _nth, _wf, _stop, _what in [
    ("fig3a", 0.0, 1.0, 300.0, "Fig. 3a: bare model, drive at ω (off resonance), N=0"),
    ("fig3b", 1.0, 1.0, 300.0, "Fig. 3b: bare model, drive at ω (off resonance), N=1"),
    ("fig4a", 0.0, 1.0 + G, 500.0, "Fig. 4a: bare model, drive at ω+g (on resonance), N=0"),
    ("fig4b", 1.0, 1.0 + G, 500.0, "Fig. 4b: bare model, drive at ω+g (on resonance), N=1"),
]:
    register_figure(FigureSpec(
        name=_name, title=f"{_what}; g={G}, F={F}, γ={GAMMA}",
        compute=functools.partial(_bare, _nth, _wf, _stop),
        draw=draw_battery,
    ))
