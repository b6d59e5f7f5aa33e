"""Where the paper's rotating-wave model holds: RWA vs the full (dipole) model.

The full model replaces every exchange coupling g(x y^dag + h.c.) by the dipole
coupling g(x + x^dag)(y + y^dag) and every rotating drive by the linear drive
2F cos(omega_f t)(x + x^dag) (the same rotating-wave parts). Paper's parameters
(g = 0.2, F = 0.1, gamma = 0.05 on the charger, N = 0; local baths), exact
(Gaussian engine: the quadrature path for the full model).

Protocols: the bare battery driven at its RWA supermode omega + g, the bare battery
driven at its true normal mode omega sqrt(1 + 2g) (1.18322 at g = 0.2), and the
oscillator catalyst driven at omega (its dark mode stays an exact normal mode at
omega with dipole couplings).

Dataset: ``ergotropy``/``energy`` of the battery (protocol, model, time) to
g t = STOP_GT; ``saturated`` (protocol, model, coupling): the battery's ergotropy
averaged over the last drive period of a run to t = SATURATE (saturation), for
g/omega from 0.01 to 0.35, and ``rwa_error`` = saturated RWA / full - 1.
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

G, F, GAMMA = 0.2, 0.1, 0.05
STOP_GT = 100.0
SATURATE = 4000.0
PROTOCOLS = ("bare at ω+g", "bare at ω√(1+2g)", "oscillator catalyst at ω")
MODELS = ("rwa", "full")
#: g/omega scanned (the oscillator-catalyst chain is unstable above 1/(2 sqrt2) = 0.354).
COUPLINGS = (0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35)


def protocol_model(protocol: str, model: str, g: float = G) -> Model:
    """The protocol's model at coupling ``g``, in the RWA or the full (dipole) form."""
    if protocol == PROTOCOLS[0]:
        m = bare_model(g, F, GAMMA, omega_f=1.0 + g)
    elif protocol == PROTOCOLS[1]:
        m = bare_model(g, F, GAMMA, omega_f=float(np.sqrt(1.0 + 2.0 * g)))
    else:
        m = catalytic_model(g, g, F, GAMMA, catalyst="oscillator")
    if model == "rwa":
        return m
    return dataclasses.replace(
        m, couplings=tuple(dataclasses.replace(c, form="dipole") for c in m.couplings),
        drives=tuple(dataclasses.replace(d, form="linear") for d in m.drives))


def _saturated(model: Model) -> float:
    """The battery's ergotropy averaged over the last drive period before SATURATE."""
    period = 2 * np.pi / model.drives[0].frequency
    t = np.concatenate([[0.0], np.linspace(SATURATE - period, SATURATE, 33)])
    r = solve(model, t, options=SolverOptions(method="gaussian"))
    return float(np.mean(r.ergotropy[model.index("battery"), 1:-1]))


def compute() -> xr.Dataset:
    """Traces at the paper's g and the saturated ergotropy over g/omega."""
    t = np.linspace(0.0, STOP_GT / G, 2001)
    shape = (len(PROTOCOLS), len(MODELS), t.size)
    energy, ergotropy = np.zeros(shape), np.zeros(shape)
    saturated = np.zeros((len(PROTOCOLS), len(MODELS), len(COUPLINGS)))
    for p, protocol in enumerate(PROTOCOLS):
        for k, form in enumerate(MODELS):
            model = protocol_model(protocol, form)
            r = solve(model, t, options=SolverOptions(method="gaussian"))
            b = model.index("battery")
            energy[p, k], ergotropy[p, k] = r.energy[b], r.ergotropy[b]
            saturated[p, k] = [_saturated(protocol_model(protocol, form, g)) for g in COUPLINGS]
    return xr.Dataset(
        {"energy": (("protocol", "model", "time"), energy, {"units": "omega"}),
         "ergotropy": (("protocol", "model", "time"), ergotropy, {"units": "omega"}),
         "saturated": (("protocol", "model", "coupling"), saturated,
                       {"units": "omega", "long_name": "saturated battery ergotropy "
                        "(mean over the last drive period)"}),
         "rwa_error": (("protocol", "coupling"), saturated[:, 0] / saturated[:, 1] - 1.0,
                       {"long_name": "W_B(RWA) / W_B(full) - 1 at saturation"})},
        coords={"protocol": list(PROTOCOLS), "model": list(MODELS), "time": t,
                "gt": ("time", G * t), "coupling": list(COUPLINGS)},
        attrs={"g": G, "F": F, "gamma": GAMMA, "method": "gaussian"})


def draw(ds: xr.Dataset, fig: Figure) -> None:
    """Battery ergotropy vs g t (left) and the RWA's error at saturation vs g (right)."""
    left, right = fig.subplots(1, 2)
    for p, protocol in enumerate(ds.protocol.values):
        for form, style in zip(ds.model.values, ("-", "--"), strict=True):
            left.plot(ds.gt, ds.ergotropy.sel(protocol=protocol, model=form), style,
                      color=f"C{p}", lw=0.8, label=f"{protocol} ({form})")
        right.plot(ds.coupling, np.abs(ds.rwa_error.sel(protocol=protocol)), "o-",
                   color=f"C{p}", label=protocol)
    left.set_xlabel("g t")
    left.set_ylabel("W_B [ω]")
    left.legend(fontsize=6)
    right.set_xlabel("g / ω")
    right.set_ylabel("|W_B(RWA) / W_B(full) − 1| at saturation")
    right.set_yscale("log")
    right.legend(fontsize=6)


register_figure(FigureSpec(
    name="rwa",
    title=f"RWA (solid) vs full dipole model (dashed); F={F}, γ_a={GAMMA}, N=0\n"
          "exact (Gaussian; quadrature path for the full model)",
    compute=compute, draw=draw,
))
