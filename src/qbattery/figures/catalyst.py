"""Figures 6 and 7: charging through a qubit catalyst (Eq. 9, 15).

Parameters from the captions: g_aq = g_bq = 0.2, F = 0.1, gamma_a = 0.05 on the
charger, drive at omega = omega_q (Delta_af = 0); Fig. 6 has an undamped qubit
(gamma_q = 0) with N(T) = 0 (a) or 1 (b); Fig. 7 damps the qubit too
(gamma_q = 0.05, N = 0). The qubit makes the state non-Gaussian, so these are
solved with the truncated-Fock density-matrix solver (checked cutoffs).

The paper does not state the time window. The brute-force Fock solver needs
20-30 levels per oscillator here, so the windows are chosen to keep each
figure's solve near half a minute on a 2-core machine: g t <= 10 at N = 0 and
g t <= 4 at N = 1 (whose thermal tails need more levels). Each dataset also
holds the catalyst's ground-state fidelity, purity, mutual informations and
logarithmic negativities (``catalyst_*``, ``mutual_information_*``,
``log_negativity_*``).
"""

from __future__ import annotations

import functools

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..builders import catalytic_model
from ..solvers import solve
from . import FigureSpec, register_figure
from .paper import draw_battery

G, F, GAMMA = 0.2, 0.1, 0.05


def catalyst_dataset(n_th: float, gamma_q: float, stop: float, points: int) -> xr.Dataset:
    """Solve the qubit-catalyst model (Fig. 6-7 parameters) on linspace(0, stop, points)."""
    model = catalytic_model(G, G, F, GAMMA, gamma_q, n_th, catalyst="qubit")
    result = solve(model, np.linspace(0.0, stop, points), method="fock")
    return result.to_xarray()


def draw_catalyst(ds: xr.Dataset, fig: Figure) -> None:
    """Battery energy (dashed), ergotropy (dotted) and catalyst energy (green) vs g t."""
    draw_battery(ds, fig, catalyst="catalyst")


for _name, _nth, _gq, _gt, _what in [
    ("fig6a", 0.0, 0.0, 10.0, "Fig. 6a: qubit catalyst, γ_q=0, N=0"),
    ("fig6b", 1.0, 0.0, 4.0, "Fig. 6b: qubit catalyst, γ_q=0, N=1"),
    ("fig7", 0.0, GAMMA, 10.0, f"Fig. 7: qubit catalyst, γ_q={GAMMA}, N=0"),
]:
    register_figure(FigureSpec(
        name=_name,
        title=f"{_what}; g={G}, F={F}, γ_a={GAMMA}; window g t ≤ {_gt:g} (Fock solver)",
        compute=functools.partial(catalyst_dataset, _nth, _gq, _gt / G, 101),
        draw=draw_catalyst,
    ))
