"""Charging protocols compared on one set of physical parameters (``qbattery compare``).

Protocols (omega = 1; g = g_aq = g_bq for the catalytic ones):

* ``bare``: charger-battery model (Eq. 1) driven at omega, off resonance with
  both supermodes omega +- g.
* ``bare_global``: the same model driven at the global frequency omega + g, on
  resonance with C_+ (the strategy of Gangwar & Pathak, arXiv:2401.07238); it
  needs g to be known.
* ``catalyst_oscillator`` / ``catalyst_qubit``: charger and battery coupled only
  through a catalyst (Eq. 9) driven at omega, on resonance with the dark
  mode whatever g is.

For each: the battery energy E_B(t) = omega <b^dag b>, its ergotropy W_B(t), the
average charging power E_B(t)/t and the catalyst energy over the window
[0, stop]. Qubit catalysts use :func:`qbattery.solve` with ``method="auto"``;
when no registered engine can solve them they are reported as unavailable.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..api import solve
from ..builders import bare_model, catalytic_model
from ..errors import ModelError, UnsupportedMethodError
from ..model import MAX_OCCUPATION, MAX_RATE, Model, frequency_value
from ..options import MAX_STOP, MAX_TIME_POINTS
from ..solvers import choose_method
from ..validation import real_number

if TYPE_CHECKING:
    from matplotlib.figure import Figure


@dataclass(frozen=True)
class ProtocolParams:
    """Physical parameters shared by the protocols (units of omega = 1).

    Args:
        g: nominal coupling (charger-battery, or each side of the catalyst), > 0.
        F: drive amplitude.
        gamma: charger damping rate.
        n_th: bath occupation N(T) of the charger (and catalyst) baths.
        gamma_q: catalyst damping rate.
        omega_q: catalyst frequency.
    """

    g: float = 0.2
    F: float = 0.1
    gamma: float = 0.05
    n_th: float = 0.0
    gamma_q: float = 0.0
    omega_q: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "g", real_number("g", self.g, positive=True,
                                                  magnitude=MAX_RATE))
        object.__setattr__(self, "F", real_number("F", self.F, magnitude=MAX_RATE))
        for name, largest in (("gamma", MAX_RATE), ("n_th", MAX_OCCUPATION),
                              ("gamma_q", MAX_RATE)):
            object.__setattr__(self, name, real_number(name, getattr(self, name), minimum=0.0,
                                                       magnitude=largest))
        object.__setattr__(self, "omega_q", frequency_value("omega_q", self.omega_q))


@dataclass(frozen=True)
class Protocol:
    """A way to charge the battery.

    Args:
        name: identifier (``bare``, ``bare_global``, ``catalyst_oscillator``, ...).
        label: human-readable description.
        catalyst: None (bare model), ``"oscillator"`` or ``"qubit"``.
        global_drive: drive at omega + g_nominal instead of omega (bare model only).
    """

    name: str
    label: str
    catalyst: str | None = None
    global_drive: bool = False

    def model(self, p: ProtocolParams, *, g: float | None = None,
              omega_q: float | None = None) -> Model:
        """The protocol's model with true coupling ``g`` (default nominal) and catalyst
        frequency ``omega_q``; the drive is set for the nominal parameters."""
        true_g = p.g if g is None else g
        if self.catalyst is None:
            return bare_model(true_g, p.F, p.gamma, p.n_th,
                              omega_f=1.0 + p.g if self.global_drive else 1.0)
        return catalytic_model(true_g, true_g, p.F, p.gamma, p.gamma_q, p.n_th,
                               catalyst=self.catalyst,
                               omega_q=p.omega_q if omega_q is None else omega_q)


PROTOCOLS: tuple[Protocol, ...] = (
    Protocol("bare", "bare, drive at ω"),
    Protocol("bare_global", "bare, drive at ω+g (global mode)", global_drive=True),
    Protocol("catalyst_oscillator", "oscillator catalyst, drive at ω", catalyst="oscillator"),
    Protocol("catalyst_qubit", "qubit catalyst, drive at ω", catalyst="qubit"),
)


def protocol_named(name: str) -> Protocol:
    """Look a protocol up by name."""
    for p in PROTOCOLS:
        if p.name == name:
            return p
    raise ModelError("protocol", f"unknown protocol {name!r}; known: "
                     + ", ".join(p.name for p in PROTOCOLS))


def availability(model: Model) -> str:
    """``"ok: METHOD"``, or ``"unavailable: REASON"`` when no engine can solve ``model``."""
    try:
        return f"ok: {choose_method(model)}"
    except UnsupportedMethodError as err:
        return f"unavailable: {err}"


def window_times(stop: float, points: int) -> NDArray[np.float64]:
    """linspace(0, stop, points), validated (``--stop``, ``--points``)."""
    stop = real_number("--stop", stop, positive=True, magnitude=MAX_STOP)
    if isinstance(points, bool) or not isinstance(points, int) or points < 2:
        raise ModelError("--points", f"expected an integer >= 2, got {points!r}")
    if points > MAX_TIME_POINTS:
        raise ModelError("--points", f"{points} output times is too many; at most "
                         f"{MAX_TIME_POINTS}")
    return np.linspace(0.0, stop, points)


_FLAGS = {"time.stop": "--stop", "time.points": "--points", "drives": "--F"}


def check_protocols(params: ProtocolParams, protocols: Sequence[Protocol], stop: float,
                    points: int) -> None:
    """:func:`~qbattery.config.check_scales` for each protocol's model on [0, stop], before
    any solve (errors name the command-line flag)."""
    from ..config import Simulation, check_scales
    from ..options import TimeGrid

    for proto in protocols:
        model = proto.model(params)
        if availability(model).startswith("unavailable"):
            continue
        try:
            check_scales(Simulation(model, TimeGrid(stop, points)))
        except ModelError as err:
            raise ModelError(_FLAGS.get(err.field, err.field),
                             f"protocol {proto.name}: {err.message}") from None


def compare(params: ProtocolParams, *, stop: float = 200.0, points: int = 401,
            protocols: Sequence[Protocol] = PROTOCOLS, store: float = 0.0) -> xr.Dataset:
    """Solve every protocol on [0, stop] and summarise it; with ``store`` > 0 the drive is
    switched off at ``stop`` and the battery followed for ``store`` more (the storage phase).

    Returns:
        Dataset over (protocol, time): ``battery_energy``, ``battery_ergotropy``,
        ``catalyst_energy`` (NaN without a catalyst); per protocol: final and
        maximum energy and ergotropy (and when), average power E_B(stop)/stop,
        the best average power max_t E_B(t)/t (and when), the catalyst's largest
        energy; ``status`` says which engine solved it or why it was skipped. With a
        storage phase: ``storage_ergotropy`` (protocol, storage_time) after the switch-off,
        ``stored_ergotropy`` W_B(stop + store) and ``kept_fraction`` W_B(stop + store) / W_B(stop).
    """
    t = window_times(stop, points)
    check_protocols(params, protocols, stop, points)
    store = real_number("--store", store, minimum=0.0, magnitude=MAX_STOP)
    ts = np.linspace(stop, stop + store, max(2, points // 2)) if store > 0 else None
    P = len(protocols)
    eb, wb, ec = (np.full((P, t.size), np.nan) for _ in range(3))
    ws = np.full((P, 0 if ts is None else ts.size), np.nan)
    status = []
    for k, proto in enumerate(protocols):
        model = proto.model(params)
        state = availability(model)
        status.append(state)
        if state.startswith("unavailable"):
            continue
        res = solve(model, t)
        b = model.index("battery")
        eb[k], wb[k] = res.energy[b], res.ergotropy[b]
        if proto.catalyst is not None:
            ec[k] = res.energy[model.index("catalyst")]
        if ts is not None:  # the drive off from ``stop`` on, continuing the state
            off = dataclasses.replace(model, drives=tuple(
                dataclasses.replace(d, amplitude=0.0) for d in model.drives))
            ws[k] = solve(off, ts, initial_state=res.final_state).ergotropy[b]
    ds = summarise(t, eb, wb, ec, protocols, status, params)
    if ts is not None:
        ds = ds.assign_coords(storage_time=("storage_time", ts, {"units": "1/omega"}))
        ds["storage_ergotropy"] = (("protocol", "storage_time"), ws,
                                   {"long_name": "W_B after the drive is switched off"})
        ds["stored_ergotropy"] = (("protocol",), ws[:, -1],
                                  {"long_name": f"W_B after storing for {store:g}"})
        with np.errstate(invalid="ignore", divide="ignore"):
            ds["kept_fraction"] = (("protocol",), ws[:, -1] / wb[:, -1],
                                   {"long_name": "W_B(stop + store) / W_B(stop)"})
        ds.attrs["store"] = store
    return ds


def _max(data: NDArray[np.float64], t: NDArray[np.float64]
         ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    ok = ~np.all(np.isnan(data), axis=-1)
    k = np.argmax(np.where(np.isnan(data), -np.inf, data), axis=-1)
    return (np.where(ok, np.take_along_axis(data, k[..., None], -1)[..., 0], np.nan),
            np.where(ok, t[k], np.nan))


def summarise(t: NDArray[np.float64], eb: NDArray[np.float64], wb: NDArray[np.float64],
              ec: NDArray[np.float64], protocols: Sequence[Protocol], status: list[str],
              params: ProtocolParams) -> xr.Dataset:
    """The comparison Dataset from (protocol, time) battery and catalyst curves."""
    power = np.full(eb.shape, np.nan)
    power[:, 1:] = eb[:, 1:] / t[1:]
    max_e, t_e = _max(eb, t)
    max_w, t_w = _max(wb, t)
    max_p, t_p = _max(power, t)
    per = ("protocol",)
    data = {
        "battery_energy": (("protocol", "time"), eb, {"units": "omega"}),
        "battery_ergotropy": (("protocol", "time"), wb, {"units": "omega"}),
        "catalyst_energy": (("protocol", "time"), ec, {"units": "omega"}),
        "final_energy": (per, eb[:, -1], {"long_name": "E_B at the end of the window"}),
        "max_energy": (per, max_e), "time_of_max_energy": (per, t_e),
        "final_ergotropy": (per, wb[:, -1], {"long_name": "W_B at the end of the window"}),
        "max_ergotropy": (per, max_w), "time_of_max_ergotropy": (per, t_w),
        "average_power": (per, eb[:, -1] / t[-1], {"long_name": "E_B(stop) / stop"}),
        "max_average_power": (per, max_p, {"long_name": "max_t E_B(t) / t"}),
        "time_of_max_average_power": (per, t_p),
        "max_catalyst_energy": (per, _max(ec, t)[0], {"long_name": "max_t E_C(t)"}),
    }
    coords = {"protocol": ("protocol", [p.name for p in protocols]),
              "label": ("protocol", [p.label for p in protocols]),
              "status": ("protocol", status),
              "time": ("time", t, {"units": "1/omega"}),
              "gt": ("time", params.g * t, {"long_name": "g t"})}
    attrs = {k: float(getattr(params, k)) for k in ("g", "F", "gamma", "n_th", "gamma_q",
                                                     "omega_q")}
    return xr.Dataset(data, coords=coords, attrs=attrs)


def compare_table(ds: xr.Dataset) -> str:
    """The comparison as a text table (one row per protocol)."""
    head = (f"{'protocol':<22}{'E_B(end)':>10}{'max E_B':>10}{'W_B(end)':>10}{'max W_B':>10}"
            f"{'P_avg':>10}{'max P_avg':>11}{'max E_C':>10}")
    rows = [f"window t <= {float(ds['time'][-1]):g} (g t <= {float(ds['gt'][-1]):g}); "
            f"g={ds.attrs['g']:g}, F={ds.attrs['F']:g}, gamma={ds.attrs['gamma']:g}, "
            f"N={ds.attrs['n_th']:g}, gamma_q={ds.attrs['gamma_q']:g}, "
            f"omega_q={ds.attrs['omega_q']:g}", head]
    for k, name in enumerate(ds["protocol"].values):
        status = str(ds["status"].values[k])
        if status.startswith("unavailable"):
            rows.append(f"{name:<22}{status}")
            continue

        def f(var: str, k: int = k) -> str:
            v = float(ds[var].values[k])
            return "—" if np.isnan(v) else f"{v:.4g}"
        rows.append(f"{name:<22}{f('final_energy'):>10}{f('max_energy'):>10}"
                    f"{f('final_ergotropy'):>10}{f('max_ergotropy'):>10}"
                    f"{f('average_power'):>10}{f('max_average_power'):>11}"
                    f"{f('max_catalyst_energy'):>10}")
    if "stored_ergotropy" in ds:
        rows += ["", f"storage: drive off at t = {float(ds['time'][-1]):g}, battery followed "
                 f"for {ds.attrs['store']:g} more",
                 f"{'protocol':<22}{'W_B(switch)':>12}{'W_B(stored)':>12}{'kept':>8}"]
        for k, name in enumerate(ds["protocol"].values):
            w0, w1 = float(ds["final_ergotropy"].values[k]), float(ds["stored_ergotropy"][k])
            if np.isnan(w1):
                continue
            rows.append(f"{name:<22}{w0:>12.4g}{w1:>12.4g}"
                        f"{float(ds['kept_fraction'].values[k]):>8.1%}")
    return "\n".join(rows)


COLORS = ("k", "tab:orange", "tab:blue", "tab:green", "tab:red", "tab:purple")


def draw_compare(ds: xr.Dataset, fig: Figure) -> None:
    """Battery energy (solid) and ergotropy (dashed) per protocol; catalyst energy below."""
    top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=(3, 1))
    x = ds["gt"].values
    for k in range(ds.sizes["protocol"]):
        c = COLORS[k % len(COLORS)]
        label = str(ds["label"].values[k])
        if str(ds["status"].values[k]).startswith("unavailable"):
            top.plot([], [], color=c, label=f"{label}: no engine, not computed")
            continue
        top.plot(x, ds["battery_energy"].values[k], "-", color=c, label=f"{label}")
        top.plot(x, ds["battery_ergotropy"].values[k], "--", color=c, lw=1)
        if not np.all(np.isnan(ds["catalyst_energy"].values[k])):
            bottom.plot(x, ds["catalyst_energy"].values[k], color=c, label=label)
    top.set_ylabel("battery $E_B$ (—), $W_B$ (- -) / $\\omega$")
    top.legend(fontsize=7, loc="upper left")
    top.set_title(f"protocols: g={ds.attrs['g']:g}, F={ds.attrs['F']:g}, "
                  f"γ={ds.attrs['gamma']:g}, N={ds.attrs['n_th']:g}", fontsize=9)
    bottom.set_xlabel("$g t$")
    bottom.set_ylabel("catalyst $E_C$ / $\\omega$", fontsize=8)
    if bottom.lines:
        bottom.legend(fontsize=7)
