r"""The nonreciprocal battery (Ahmadi et al., arXiv:2401.05090) against the catalytic one.

Held equal in every protocol: the drive amplitude F = 0.1 at frequency omega (omega + g
for "bare at ω+g"), the coherent coupling g = 0.2 (charger-battery, or each mode to
the catalyst), the charger's local loss gamma = 0.05 at N = 0, and no local loss on the
battery or the catalyst (the catalysis paper's setting). The nonreciprocal battery adds
the shared reservoir Gamma D[a - i b] at Gamma = 2g, which cancels the battery's
back-action on the charger (:func:`~qbattery.builders.nonreciprocal_model`); the
reciprocal pair is the same model without it (the bare model driven at omega).

Panel (a): battery energy E_B (solid) and ergotropy W_B (dotted; equal to E_B at N = 0,
the states stay coherent) vs g t. All oscillator models are exact (Gaussian engine);
the qubit catalyst runs in the displaced frame.

Panel (b): steady-state E_B vs the local loss kappa, now on charger *and* battery
(the nonreciprocal paper's setting, where the battery leaks too). Closed forms at
Gamma = 2g, drive at omega (the Gaussian engine's steady states are checked against them):

    nonreciprocal   E_B = (2 g F)^2 / (g + kappa/2)^4          (-> 4 F^2/g^2 as kappa -> 0)
    reciprocal      E_B = (2 g F)^2 / (kappa^2/2 + 2 g^2)^2     (-> F^2/g^2)

so their ratio tends to 4 (the paper's "fourfold increase") for kappa << g, and the
battery then holds 4x the charger's energy, E_B/E_A = (2g/(g + kappa/2))^2.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..api import solve
from ..builders import bare_model, catalytic_model, nonreciprocal_model
from ..model import Bath, Model
from ..options import SolverOptions
from ..solvers.gaussian import steady_state
from . import FigureSpec, register_figure

G, F, GAMMA = 0.2, 0.1, 0.05
STOP_GT = 40.0
KAPPAS = np.geomspace(0.002, 3.2, 41)  # panel (b): local loss on charger and battery
PROTOCOLS = ("nonreciprocal", "reciprocal (bare at ω)", "bare at ω+g",
             "oscillator catalyst", "qubit catalyst")
STEADY = ("nonreciprocal", "reciprocal (bare at ω)", "bare at ω+g", "oscillator catalyst")


def protocol_model(name: str, kappa: float = GAMMA, kappa_b: float = 0.0) -> Model:
    """The protocol's model: charger loss ``kappa``, battery loss ``kappa_b``."""
    if name == "nonreciprocal":
        return nonreciprocal_model(G, F, kappa, gamma_b=kappa_b)
    if name.startswith("reciprocal"):
        return bare_model(G, F, kappa, gamma_b=kappa_b)
    if name == "bare at ω+g":
        return bare_model(G, F, kappa, gamma_b=kappa_b, omega_f=1.0 + G)
    model = catalytic_model(G, G, F, kappa, catalyst=name.split()[0])
    if kappa_b > 0:
        model = dataclasses.replace(model, baths=(*model.baths, Bath("battery", kappa_b)))
    return model


def closed_form(name: str, kappa: float) -> float:
    """Steady-state E_B with loss kappa on charger and battery (NaN: no closed form here)."""
    if name == "nonreciprocal":
        return (2 * G * F) ** 2 / (G + kappa / 2) ** 4
    if name.startswith("reciprocal"):
        return (2 * G * F) ** 2 / (kappa**2 / 2 + 2 * G**2) ** 2
    return float("nan")


def steady_battery_energy(model: Model) -> float:
    """E_B of the Gaussian steady state (the battery is the last mode)."""
    steady = steady_state(model)
    if steady is None:
        raise ValueError("no steady state")
    return float(steady[1][model.index("battery")])


def _traces(t: np.ndarray) -> dict[str, np.ndarray]:
    """energy, ergotropy, charger_energy (protocol, time)."""
    shape = (len(PROTOCOLS), t.size)
    out = {k: np.zeros(shape) for k in ("energy", "ergotropy", "charger_energy")}
    for p, name in enumerate(PROTOCOLS):
        model = protocol_model(name)
        method = "displaced" if model.has_qubit else "gaussian"
        r = solve(model, t, options=SolverOptions(method=method))
        ib = model.index("battery")
        out["energy"][p], out["ergotropy"][p] = r.energy[ib], r.ergotropy[ib]
        out["charger_energy"][p] = r.energy[model.index("charger")]
    return out


def compute(stop_gt: float = STOP_GT, points: int = 401) -> xr.Dataset:
    """Every protocol to g t = ``stop_gt``; the steady states vs kappa; the reverse run."""
    t = np.linspace(0.0, stop_gt / G, points)
    traces = _traces(t)
    steady = np.array([[steady_battery_energy(protocol_model(n, k, k)) for k in KAPPAS]
                       for n in STEADY])
    closed = np.array([[closed_form(n, k) for k in KAPPAS] for n in STEADY])
    # one-way flow: drive the battery of the nonreciprocal pair; the charger stays empty
    back = solve(nonreciprocal_model(G, F, GAMMA, drive="battery"), t, method="gaussian")
    pt = ("protocol", "time")
    return xr.Dataset(
        {"energy": (pt, traces["energy"], {"units": "omega"}),
         "ergotropy": (pt, traces["ergotropy"], {"units": "omega"}),
         "charger_energy": (pt, traces["charger_energy"], {"units": "omega"}),
         "steady_energy": (("steady", "kappa"), steady, {"units": "omega"}),
         "closed_form": (("steady", "kappa"), closed, {"units": "omega"}),
         "reverse_charger_energy": ("time", back.energy[0], {"units": "omega"}),
         "reverse_battery_energy": ("time", back.energy[1], {"units": "omega"})},
        coords={"protocol": list(PROTOCOLS), "time": t, "gt": ("time", G * t),
                "steady": list(STEADY), "kappa": KAPPAS},
        attrs={"g": G, "F": F, "gamma": GAMMA, "reservoir_rate": 2 * G})


def draw(ds: xr.Dataset, fig: Figure) -> None:
    """(a) E_B and W_B vs g t; (b) steady E_B vs kappa/g (closed forms as circles)."""
    ax, bx = fig.subplots(1, 2)
    for k, name in enumerate(ds.protocol.values):
        sel = ds.sel(protocol=name)
        ax.plot(ds.gt, sel.energy, color=f"C{k}", label=str(name))
        ax.plot(ds.gt, sel.ergotropy, ":", color=f"C{k}")
    ax.plot(ds.gt, ds.reverse_charger_energy, "--", color="0.4",
            label="nonreciprocal, battery driven: E_A")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel("g t")
    ax.set_ylabel("E_B (solid), W_B (dotted) [ω]")
    ax.set_title(f"(a) γ={ds.attrs['gamma']} on the charger only", fontsize=9)
    ax.legend(fontsize=6)
    x = ds.kappa / float(ds.attrs["g"])
    for k, name in enumerate(ds.steady.values):
        bx.loglog(x, ds.steady_energy.sel(steady=name), color=f"C{k}", label=str(name))
        bx.loglog(x[::5], ds.closed_form.sel(steady=name)[::5], "o", ms=3, color=f"C{k}")
    bx.set_xlabel("κ/g (loss on charger and battery)")
    bx.set_ylabel("steady E_B [ω]")
    bx.set_title("(b) steady state; circles: closed forms", fontsize=9)
    bx.legend(fontsize=6)


register_figure(FigureSpec(
    name="nonreciprocal",
    title=f"Nonreciprocal battery (shared reservoir Γ D[a − i b], Γ = 2g) vs catalysts; "
          f"g={G}, F={F}\nexact (Gaussian; qubit catalyst: displaced frame)",
    compute=compute, draw=draw,
))
