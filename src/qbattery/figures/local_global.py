"""Local vs global master equation at the paper's parameters with a thermal bath.

g = 0.2, F = 0.1, gamma = 0.05 on the charger at N = 1 (occupation at omega; the
global equation uses the bath temperature T = omega / ln 2 at every normal-mode
frequency). Protocols (oscillator networks, exact Gaussian engine): the bare
battery driven at its supermode omega + g, and the oscillator catalyst driven at
omega. Equations: the local one (the paper's), and the global one
(:mod:`qbattery.terms.dressed`) with a flat and an ohmic spectral density. The
qubit catalyst is not included: the global equation is built for oscillator
networks only (a qubit network's dressed jumps live in the eigenbasis of the
truncated H, dimension ~900 at N = 1; not written).

Dataset: ``energy``/``ergotropy`` of the battery (protocol, equation, time),
``passive`` = energy - ergotropy (the heat the battery holds), ``heat`` (total
heat current into the bath) and ``secular_ratio`` (protocol).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..api import solve
from ..builders import bare_model, catalytic_model
from ..model import Model
from ..options import SolverOptions
from . import FigureSpec, register_figure

G, F, GAMMA, N_TH = 0.2, 0.1, 0.05, 1.0
STOP_GT = 100.0
PROTOCOLS = ("bare at ω+g", "oscillator catalyst")
EQUATIONS = {"local": ("local", "flat"), "global (flat)": ("global", "flat"),
             "global (ohmic)": ("global", "ohmic")}


def protocol_model(protocol: str, spectral_density: str = "flat") -> Model:
    """The protocol's model with the charger bath's spectral density."""
    if protocol == PROTOCOLS[0]:
        model = bare_model(G, F, GAMMA, N_TH, omega_f=1.0 + G)
    else:
        model = catalytic_model(G, G, F, GAMMA, 0.0, N_TH, catalyst="oscillator")
    baths = tuple(dataclasses.replace(b, spectral_density=spectral_density)
                  for b in model.baths)
    return dataclasses.replace(model, baths=baths)


def compute() -> xr.Dataset:
    """Every protocol under every equation, to g t = STOP_GT (exact Gaussian)."""
    t = np.linspace(0.0, STOP_GT / G, 501)
    shape = (len(PROTOCOLS), len(EQUATIONS), t.size)
    energy, ergotropy, heat = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    ratio = np.full(len(PROTOCOLS), np.inf)
    for p, protocol in enumerate(PROTOCOLS):
        for e, (equation, spectral) in enumerate(EQUATIONS.values()):
            model = protocol_model(protocol, spectral)
            r = solve(model, t, options=SolverOptions(method="gaussian",
                                                      master_equation=equation))
            b = model.index("battery")
            energy[p, e], ergotropy[p, e] = r.energy[b], r.ergotropy[b]
            heat[p, e] = r.heat.sum(0)
            ratio[p] = min(ratio[p], r.stats.get("secular_ratio", np.inf))
    dims = ("protocol", "equation", "time")
    return xr.Dataset(
        {"energy": (dims, energy, {"units": "omega", "long_name": "battery energy"}),
         "ergotropy": (dims, ergotropy, {"units": "omega", "long_name": "battery ergotropy"}),
         "passive": (dims, energy - ergotropy, {"units": "omega",
                                                "long_name": "battery passive energy"}),
         "heat": (dims, heat, {"units": "omega^2", "long_name": "heat current into the bath"}),
         "secular_ratio": (("protocol",), ratio,
                           {"long_name": "smallest normal-mode spacing / largest rate"})},
        coords={"protocol": list(PROTOCOLS), "equation": list(EQUATIONS), "time": t,
                "gt": ("time", G * t)},
        attrs={"g": G, "F": F, "gamma": GAMMA, "N": N_TH, "method": "gaussian"})


def draw(ds: xr.Dataset, fig: Figure) -> None:
    """Battery ergotropy (left) and passive energy (right) vs g t."""
    axes = fig.subplots(1, 2)
    styles = dict(zip(ds.equation.values, ("-", "--", ":"), strict=True))
    for p, protocol in enumerate(ds.protocol.values):
        for equation in ds.equation.values:
            sel = ds.sel(protocol=protocol, equation=equation)
            label = f"{protocol}, {equation}"
            axes[0].plot(ds.gt, sel.ergotropy, styles[equation], color=f"C{p}", label=label)
            axes[1].plot(ds.gt, sel.passive, styles[equation], color=f"C{p}")
    axes[0].set_ylabel("W_B [ω]")
    axes[1].set_ylabel("E_B − W_B (passive) [ω]")
    for ax in axes:
        ax.set_xlabel("g t")
    axes[0].legend(fontsize=6)


register_figure(FigureSpec(
    name="local_global",
    title=f"Local vs global master equation; g={G}, F={F}, γ_a={GAMMA}, N={N_TH:g}\n"
          "exact (Gaussian); oscillator networks",
    compute=compute, draw=draw,
))
