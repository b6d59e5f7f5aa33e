r"""Dephasing of the qubit catalyst: how much of the catalytic advantage survives.

The Fig. 6a model (g_aq = g_bq = g = 0.2, F = 0.1, gamma_a = 0.05 on the charger, N = 0,
drive at omega, undamped qubit) plus pure dephasing of the qubit,
gamma_phi D[sigma_+ sigma_-]: d<sigma_->/dt gains -(gamma_phi/2) <sigma_->, populations
are kept. Solved exactly in the displaced frame (the qubit is not displaced, so its
dephasing is kept as it is), at the default tolerances.

Why the advantage is robust: the charger-battery combination C_- = (a - b)/sqrt2 has no
coupling to the qubit at all (the Hamiltonian's couplings are g (a + b) q^dag + h.c.),
stays at omega and is driven resonantly with F/sqrt2; dephasing acts on the qubit and
reaches C_- only through the charger's loss, which mixes C_- with the bright mode
C_+ = (a + b)/sqrt2 that the qubit dresses.

Reference: the bare battery driven at omega (Gaussian engine), W_B -> (F/g)^2 = 0.25.
Superconducting qubits have T2 ~ 10-100 us against g/2pi ~ 10 MHz, i.e.
gamma_phi/g ~ 2/(T2 g) ~ 3e-4 - 3e-3: the figure's 0.01 is already pessimistic.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..api import solve
from ..builders import bare_model, catalytic_model
from ..model import Dephasing, Model
from ..options import SolverOptions
from . import FigureSpec, register_figure

G, F, GAMMA = 0.2, 0.1, 0.05
RATES = (0.0, 0.01, 0.1, 0.3)  # gamma_phi / g in the figure
STOP_GT = 20.0


def dephased_catalyst(ratio: float) -> Model:
    """The Fig. 6a qubit-catalyst model with gamma_phi = ratio * g on the qubit."""
    model = catalytic_model(G, G, F, GAMMA, catalyst="qubit")
    if ratio <= 0:
        return model
    return dataclasses.replace(model, dephasing=(Dephasing("catalyst", ratio * G),))


def compute(rates: tuple[float, ...] = RATES, stop_gt: float = STOP_GT,
            points: int = 201, method: str = "displaced") -> xr.Dataset:
    """W_B, E_B and the catalyst's energy (rate, time); the bare battery at omega."""
    t = np.linspace(0.0, stop_gt / G, points)
    shape = (len(rates), t.size)
    energy, ergotropy, catalyst = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    for k, ratio in enumerate(rates):
        model = dephased_catalyst(ratio)
        r = solve(model, t, options=SolverOptions(method=method))
        ib, iq = model.index("battery"), model.index("catalyst")
        energy[k], ergotropy[k], catalyst[k] = r.energy[ib], r.ergotropy[ib], r.energy[iq]
    bare = solve(bare_model(G, F, GAMMA), t, method="gaussian")
    rt = ("rate", "time")
    return xr.Dataset(
        {"energy": (rt, energy, {"units": "omega"}),
         "ergotropy": (rt, ergotropy, {"units": "omega"}),
         "catalyst_energy": (rt, catalyst, {"units": "omega"}),
         "bare_ergotropy": ("time", bare.ergotropy[1], {"units": "omega"})},
        coords={"rate": ("rate", list(rates), {"long_name": "gamma_phi / g"}),
                "time": t, "gt": ("time", G * t)},
        attrs={"g": G, "F": F, "gamma": GAMMA, "method": method})


def draw(ds: xr.Dataset, fig: Figure) -> None:
    """W_B (solid), E_B (dotted) and the catalyst's energy (panel b) vs g t."""
    ax, bx = fig.subplots(1, 2)
    for k, ratio in enumerate(ds.rate.values):
        sel = ds.sel(rate=ratio)
        ax.plot(ds.gt, sel.ergotropy, color=f"C{k}", label=f"γ_φ/g = {ratio:g}")
        ax.plot(ds.gt, sel.energy, ":", color=f"C{k}")
        bx.plot(ds.gt, sel.catalyst_energy, color=f"C{k}", label=f"γ_φ/g = {ratio:g}")
    ax.plot(ds.gt, ds.bare_ergotropy, "--", color="0.4", label="bare at ω")
    ax.set_xlabel("g t")
    ax.set_ylabel("W_B (solid), E_B (dotted) [ω]")
    ax.legend(fontsize=7)
    bx.set_xlabel("g t")
    bx.set_ylabel("E_C (qubit catalyst) [ω]")
    bx.legend(fontsize=7)


register_figure(FigureSpec(
    name="dephasing",
    title=f"Qubit catalyst with dephasing γ_φ D[σ₊σ₋]; g={G}, F={F}, γ_a={GAMMA}, N=0\n"
          "exact (displaced frame, default tolerances)",
    compute=compute, draw=draw,
))
