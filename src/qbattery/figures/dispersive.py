"""The dispersive regime: stored ergotropy vs catalyst detuning Delta = omega - omega_q.

Catalytic model (Eq. 9) with g_aq = g_bq = g = 0.2, F = 0.1, gamma_a = 0.05,
N = 0, driven at omega. The dark mode C_- = (a - b)/sqrt(2) is resonant with the
drive whatever omega_q is, so the t -> infinity ergotropy is 4 F^2 / gamma^2 for
every detuning; what the detuning changes is how fast the battery gets there.
For |Delta| >> g the catalyst can be eliminated: charger and battery see an
effective exchange coupling g^2/Delta and both shift by g^2/Delta (a bare
model with g_eff = g^2/Delta, omega' = omega + g^2/Delta), so charging slows
down as Delta^2 and the energy stored in a fixed time falls towards zero.

The oscillator catalyst is solved exactly (batched Gaussian solver); so is its
dispersive approximation. The qubit catalyst is solved at a few detunings
(displaced frame, t <= 200) when a registered engine can solve it, and the figure
says so when none can.
"""

from __future__ import annotations

import time as _time

import numpy as np
import xarray as xr
from matplotlib.figure import Figure
from numpy.typing import NDArray

from ..api import solve
from ..builders import bare_model, catalytic_model
from ..errors import UnsupportedMethodError
from ..model import Model
from ..options import SolverOptions
from ..solvers import choose_method
from ..solvers.gaussian import steady_state
from ..solvers.gaussian_batch import solve_batch
from . import FigureSpec, register_figure

G, F, GAMMA = 0.2, 0.1, 0.05
#: Catalyst detunings omega_q - omega = -Delta, in units of g.
DETUNINGS = np.concatenate([[0.0], np.geomspace(0.05, 100.0, 120)])
QUBIT_DETUNINGS = np.array([0.0, 1.0, 3.0, 10.0])
#: The qubit rows stop here (the displaced-frame solve costs ~5 s per 100/omega)
#: and use this truncation tolerance; later charging times are left NaN.
QUBIT_STOP, QUBIT_TOL = 200.0, 1e-4
#: Charging times at which the stored ergotropy is shown (units of 1/omega).
TIMES = np.array([50.0, 100.0, 200.0, 400.0])
#: Smallest |Delta| / g where the dispersive approximation is drawn.
DISPERSIVE_FROM = 3.0
STOP, POINTS = 400.0, 801


def _models(x: NDArray[np.float64], catalyst: str) -> list[Model]:
    return [catalytic_model(G, G, F, GAMMA, catalyst=catalyst, omega_q=1.0 + G * v) for v in x]


def compute() -> xr.Dataset:
    """Battery ergotropy at :data:`TIMES` and catalyst energy vs omega_q - omega."""
    start = _time.perf_counter()
    t = np.linspace(0.0, STOP, POINTS)
    at = np.searchsorted(t, TIMES)
    osc = solve_batch(_models(DETUNINGS, "oscillator"), t)
    w_osc = osc.ergotropy[:, 2, at]
    ec_osc = osc.energy[:, 1, :].max(axis=1)
    limits = [steady_state(m) for m in _models(DETUNINGS, "oscillator")]
    w_inf = np.array([np.abs(lim[0][2]) ** 2 if lim is not None else np.nan for lim in limits])
    disp = DETUNINGS >= DISPERSIVE_FROM
    w_eff = np.full(w_osc.shape, np.nan)
    shift = -G * G / (G * DETUNINGS[disp])  # g^2 / Delta with Delta = -g x
    eff = [bare_model(s, F, GAMMA, omega=1.0 + s, omega_f=1.0) for s in shift]
    w_eff[disp] = np.abs(solve_batch(eff, t).amplitude[:, 1, at]) ** 2  # omega |beta|^2
    ds = xr.Dataset(
        {
            "ergotropy_oscillator": (("detuning", "charge_time"), w_osc,
                                     {"long_name": "battery ergotropy, oscillator catalyst"}),
            "ergotropy_dispersive": (("detuning", "charge_time"), w_eff,
                                     {"long_name": "dispersive approximation (bare model, "
                                                   "g_eff = g^2/Delta)"}),
            "ergotropy_limit": (("detuning",), w_inf, {"long_name": "t -> infinity"}),
            "catalyst_max_oscillator": (("detuning",), ec_osc,
                                        {"long_name": "max catalyst energy, t <= stop"}),
        },
        coords={"detuning": ("detuning", DETUNINGS,
                             {"long_name": "(omega_q - omega) / g = -Delta / g"}),
                "charge_time": ("charge_time", TIMES, {"units": "1/omega"})},
        attrs={"g": G, "F": F, "gamma": GAMMA, "stop": STOP},
    )
    qubit_model = _models(QUBIT_DETUNINGS[:1], "qubit")[0]
    try:
        method = choose_method(qubit_model)
    except UnsupportedMethodError as err:
        ds.attrs["qubit"] = f"not computed: {err}"
    else:
        tq = np.linspace(0.0, QUBIT_STOP, 201)
        within = TIMES <= QUBIT_STOP
        atq = np.searchsorted(tq, TIMES[within])
        wq = np.full((QUBIT_DETUNINGS.size, TIMES.size), np.nan)
        ecq = np.empty(QUBIT_DETUNINGS.size)
        for k, model in enumerate(_models(QUBIT_DETUNINGS, "qubit")):
            res = solve(model, tq, options=SolverOptions(truncation_tol=QUBIT_TOL))
            wq[k, within], ecq[k] = res.ergotropy[2, atq], res.energy[1].max()
        ds = ds.assign_coords(qubit_detuning=("qubit_detuning", QUBIT_DETUNINGS))
        ds["ergotropy_qubit"] = (("qubit_detuning", "charge_time"), wq)
        ds["catalyst_max_qubit"] = (("qubit_detuning",), ecq)
        ds.attrs["qubit"] = (f"computed with method {method} for t <= {QUBIT_STOP:g}, "
                             f"truncation_tol {QUBIT_TOL:g}")
    ds.attrs["solve_seconds"] = _time.perf_counter() - start
    return ds


def draw(ds: xr.Dataset, fig: Figure) -> None:
    """Ergotropy at fixed charging times (top) and catalyst energy (bottom) vs detuning."""
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1.3))
    x = ds["detuning"].values
    colors = ("tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple")
    g = ds.attrs["g"]
    for k, t in enumerate(ds["charge_time"].values):
        c = colors[k % len(colors)]
        top.plot(x, ds["ergotropy_oscillator"].values[:, k], color=c,
                 label=f"$g t$ = {g * t:g}")
        top.plot(x, ds["ergotropy_dispersive"].values[:, k], ":", color="k", lw=1)
        if "ergotropy_qubit" in ds:
            top.plot(ds["qubit_detuning"].values, ds["ergotropy_qubit"].values[:, k], "o",
                     color=c, mfc="none")
    limit = ds["ergotropy_limit"].values
    top.plot(x, limit, "--", color="0.5", lw=1, label="$t\\to\\infty$")
    top.plot([], [], ":", color="k", lw=1, label="dispersive approx.")
    if "ergotropy_qubit" in ds:
        top.plot([], [], "o", color="0.3", mfc="none", label="qubit catalyst")
        bottom.plot(ds["qubit_detuning"].values, ds["catalyst_max_qubit"].values, "o",
                    color="0.3", mfc="none", label="qubit")
    else:
        top.text(0.02, 0.97, f"qubit catalyst {ds.attrs.get('qubit', 'not computed')}",
                 transform=top.transAxes, ha="left", va="top", fontsize=6, color="tab:red")
    bottom.plot(x, ds["catalyst_max_oscillator"].values, color="k", label="oscillator")
    for ax in (top, bottom):
        ax.set_xscale("symlog", linthresh=1.0)
    top.set_ylabel("battery ergotropy $W_B$ / $\\omega$")
    top.set_title(f"Dispersive regime: oscillator catalyst (lines), g={g:g}, "
                  f"F={ds.attrs['F']:g}, γ={ds.attrs['gamma']:g}", fontsize=9)
    top.legend(fontsize=7, loc="upper right", ncols=2)
    bottom.set_xlabel("catalyst detuning $(\\omega_q - \\omega)/g = -\\Delta/g$")
    bottom.set_ylabel("max $E_C$ / $\\omega$", fontsize=8)
    bottom.legend(fontsize=7)


register_figure(FigureSpec(
    name="dispersive",
    title=f"Stored ergotropy vs catalyst detuning; g={G}, F={F}, γ={GAMMA}",
    compute=compute, draw=draw,
))
