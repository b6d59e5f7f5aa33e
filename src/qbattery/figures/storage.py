"""Storage: charge, switch the laser off, and keep (or lose) the charge.

Paper's parameters (g = 0.2, F = 0.1, gamma = 0.05 on the charger, N = 0). The
drive is on for g t < 20 (a sharp window envelope), then off until g t = 60.
Three protocols: the bare battery driven at its supermode omega + g, the
oscillator catalyst and the qubit catalyst driven at omega; each with the
battery left connected, or disconnected (its coupling switched off, as a tunable
coupler allows) at the moment the drive stops. Oscillator networks are exact
(Gaussian engine, exact propagators on each constant segment); the qubit catalyst
runs in the displaced frame, segment by segment, each continuing the last one's
state.

Dataset: ``ergotropy``/``energy`` (protocol, connection, mode, time), with the
modes renamed charger / mediator / battery (the bare model has no mediator: 0).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..api import solve
from ..builders import bare_model, catalytic_model
from ..envelopes import Window
from ..model import Model
from ..options import SolverOptions
from ..terms import compile_model
from . import FigureSpec, register_figure

G, F, GAMMA = 0.2, 0.1, 0.05
CHARGE_GT, STORE_GT = 20.0, 60.0
PROTOCOLS = {"bare at ω+g": "bare", "oscillator catalyst": "oscillator",
             "qubit catalyst": "qubit"}
CONNECTIONS = ("connected", "disconnected")
ROLES = ("charger", "mediator", "battery")


def storage_model(protocol: str, disconnect: bool) -> Model:
    """The protocol's model with the drive (and, if ``disconnect``, the battery's
    coupling) switched off at g t = CHARGE_GT."""
    if protocol == "bare":
        model = bare_model(G, F, GAMMA, omega_f=1.0 + G)
    else:
        model = catalytic_model(G, G, F, GAMMA, catalyst=protocol)
    off = Window(0.0, CHARGE_GT / G)
    drives = tuple(dataclasses.replace(d, envelope=off) for d in model.drives)
    couplings = tuple(dataclasses.replace(c, envelope=off)
                      if disconnect and "battery" in c.between else c for c in model.couplings)
    return dataclasses.replace(model, drives=drives, couplings=couplings)


def compute() -> xr.Dataset:
    """Solve every protocol, connected and disconnected, to g t = STORE_GT."""
    t = np.linspace(0.0, STORE_GT / G, 601)
    shape = (len(PROTOCOLS), len(CONNECTIONS), len(ROLES), t.size)
    energy, ergotropy = np.zeros(shape), np.zeros(shape)
    methods = []
    for p, protocol in enumerate(PROTOCOLS.values()):
        for c, connection in enumerate(CONNECTIONS):
            model = storage_model(protocol, connection == "disconnected")
            method = "gaussian" if compile_model(model).gaussian_reason() is None \
                else "displaced"
            r = solve(model, t, options=SolverOptions(method=method))
            methods.append(r.method)
            for k, role in enumerate(ROLES):
                name = "catalyst" if role == "mediator" else role
                if name in model.names:
                    energy[p, c, k] = r.energy[model.index(name)]
                    ergotropy[p, c, k] = r.ergotropy[model.index(name)]
    dims = ("protocol", "connection", "role", "time")
    return xr.Dataset(
        {"energy": (dims, energy, {"units": "omega"}),
         "ergotropy": (dims, ergotropy, {"units": "omega"})},
        coords={"protocol": list(PROTOCOLS), "connection": list(CONNECTIONS),
                "role": list(ROLES), "time": t, "gt": ("time", G * t)},
        attrs={"methods": ", ".join(sorted(set(methods))), "switch_gt": CHARGE_GT,
               "g": G, "F": F, "gamma": GAMMA})


def draw(ds: xr.Dataset, fig: Figure) -> None:
    """Battery ergotropy (solid) and charger+mediator energy (dotted) vs g t, two panels."""
    axes = fig.subplots(1, 2, sharey=True)
    colors = dict(zip(ds.protocol.values, ("C0", "C1", "C2"), strict=True))
    for ax, connection in zip(axes, ds.connection.values, strict=True):
        for protocol in ds.protocol.values:
            sel = ds.sel(protocol=protocol, connection=connection)
            ax.plot(ds.gt, sel.ergotropy.sel(role="battery"), color=colors[protocol],
                    label=f"{protocol}: W_B")
            rest = sel.energy.sel(role="charger") + sel.energy.sel(role="mediator")
            ax.plot(ds.gt, rest, ":", color=colors[protocol])
        ax.axvline(float(ds.attrs["switch_gt"]), color="0.5", lw=0.8)
        ax.set_title(f"battery {connection} at switch-off", fontsize=9)
        ax.set_xlabel("g t")
    axes[0].set_ylabel("W_B (solid), E_charger + E_mediator (dotted) [ω]")
    axes[0].legend(fontsize=7)


register_figure(FigureSpec(
    name="storage",
    title=f"Storage: drive on for g t < {CHARGE_GT:g}, then off; g={G}, F={F}, γ_a={GAMMA}, "
          "N=0\nexact (Gaussian; qubit: displaced frame in segments)",
    compute=compute, draw=draw,
))
