"""Solver results that remember how they were made, and their xarray form."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from . import __version__
from .config import Simulation, dumps_toml
from .merit_data import add_to_dataset
from .model import Model
from .options import SolverOptions, TimeGrid
from .solvers.base import Extra, State


@dataclass(frozen=True, eq=False)
class Result:
    """The solution of a model on a time grid.

    Energies are local energies omega_i <x_i^dag x_i>; amplitudes are in the
    rotating frame of ``frame_frequency`` (the first drive's frequency). All
    arrays are indexed (mode | drive | bath | coupling, time); ``heat`` has a row per
    bath, then per correlated dissipator, then per dephasing.
    """

    model: Model
    times: NDArray[np.float64]
    method: str
    options: SolverOptions
    occupation: NDArray[np.float64]
    amplitude: NDArray[np.complex128]
    ergotropy: NDArray[np.float64]
    drive_power: NDArray[np.float64]
    heat: NDArray[np.float64]
    coupling_power: NDArray[np.float64]
    extra: Extra = field(default_factory=dict)
    stats: dict[str, Any] = field(default_factory=dict)
    #: The state at ``times[-1]``: ``solve(model, later_times, initial_state=...)`` continues.
    final_state: State | None = None

    @property
    def frequencies(self) -> NDArray[np.float64]:
        """Mode frequencies omega_i."""
        return np.array([m.frequency for m in self.model.modes])

    @property
    def energy(self) -> NDArray[np.float64]:
        """(modes, times) local energy omega_i <x_i^dag x_i>."""
        return self.frequencies[:, None] * self.occupation

    @property
    def frame_frequency(self) -> float:
        """Frequency of the rotating frame the amplitudes are given in."""
        return self.model.frame_frequency

    def __getitem__(self, name: str) -> dict[str, NDArray[Any]]:
        """Per-mode view: ``result["battery"]["energy"]``."""
        i = self.model.index(name)
        return {"energy": self.energy[i], "ergotropy": self.ergotropy[i],
                "occupation": self.occupation[i], "amplitude": self.amplitude[i]}

    def power_balance(self) -> NDArray[np.float64]:
        """sum P_drive - sum J_heat + sum P_coupling at each time: the predicted dE_total/dt."""
        return np.asarray(self.drive_power.sum(0) - self.heat.sum(0)
                          + self.coupling_power.sum(0))

    def to_simulation(self) -> Simulation:
        """The model file (model, times, options) that reproduces this result: the same
        output times exactly (``[time] values`` when they are not a uniform grid from 0).
        A run continued from a handed-on state restarts from the model's own state."""
        return Simulation(self.model, TimeGrid.of(self.times), self.options)

    def to_xarray(self) -> xr.Dataset:
        """Labelled Dataset: coordinates ``time`` and ``mode``; energy, ergotropy, flows."""
        m = self.model
        coords: dict[str, Any] = {
            "time": ("time", self.times, {"units": "1/omega"}),
            "mode": ("mode", list(m.names)),
            "frequency": ("mode", self.frequencies, {"units": "omega"}),
            "kind": ("mode", [x.kind for x in m.modes]),
        }
        if m.couplings:
            g = max(abs(c.strength) for c in m.couplings)
            coords["gt"] = ("time", g * self.times,
                            {"long_name": "g t", "g": g, "note": "largest coupling times t"})
        data: dict[str, Any] = {
            "energy": (("mode", "time"), self.energy,
                       {"long_name": "local energy omega <n>", "units": "omega"}),
            "ergotropy": (("mode", "time"), self.ergotropy,
                          {"long_name": "ergotropy (Eq. 5)", "units": "omega"}),
            "occupation": (("mode", "time"), self.occupation, {"long_name": "<x^dag x>"}),
            "amplitude_real": (("mode", "time"), self.amplitude.real,
                               {"long_name": "Re <x> (rotating frame)"}),
            "amplitude_imag": (("mode", "time"), self.amplitude.imag,
                               {"long_name": "Im <x> (rotating frame)"}),
            "total_energy": (("time",), self.energy.sum(0), {"units": "omega"}),
            "power_balance": (("time",), self.power_balance(),
                              {"long_name": "sum P_drive - sum heat + sum P_coupling",
                               "units": "omega^2"}),
        }
        if m.drives:
            coords["drive"] = ("drive", [f"{d.mode}@{d.frequency:g}" for d in m.drives])
            data["drive_power"] = (("drive", "time"), self.drive_power, {"units": "omega^2"})
        if m.baths or m.dissipators or m.dephasing:  # baths by mode, the others by field
            coords["bath"] = ("bath", [b.mode for b in m.baths]
                              + [f"dissipators[{k}]" for k in range(len(m.dissipators))]
                              + [f"dephasing[{k}]" for k in range(len(m.dephasing))])
            data["heat"] = (("bath", "time"), self.heat,
                            {"long_name": "heat current into the bath", "units": "omega^2"})
        if m.couplings:
            coords["coupling"] = ("coupling", [f"{c.between[0]}-{c.between[1]}"
                                               for c in m.couplings])
            data["coupling_power"] = (("coupling", "time"), self.coupling_power,
                                      {"units": "omega^2"})
        for name, (dims, arr) in self.extra.items():
            if np.iscomplexobj(arr):
                data[f"{name}_real"] = (dims, arr.real)
                data[f"{name}_imag"] = (dims, arr.imag)
            else:
                data[name] = (dims, arr)
        attrs: dict[str, Any] = {
            "model": dumps_toml(self.to_simulation()),
            "method": self.method,
            "frame_frequency": self.frame_frequency,
            "qbattery_version": __version__,
            "conventions": "hbar=1, energies and rates in units of omega; see qbattery docs",
        }
        for key, value in self.stats.items():
            if isinstance(value, bool):
                value = int(value)
            if isinstance(value, int | float | str):
                attrs[key] = value
        return add_to_dataset(xr.Dataset(data, coords=coords, attrs=attrs), self.model)

    def to_netcdf(self, path: str | Path) -> None:
        """Write :meth:`to_xarray` to a NetCDF file, atomically (a failed write leaves an
        existing file unchanged) and only if every value is finite."""
        from .io import write_netcdf

        write_netcdf(self.to_xarray(), path, flag="path")
