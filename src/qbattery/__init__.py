"""qbattery: simulate and design the charging of quantum batteries.

Conventions (``shared/paper/NOTES.md``): hbar = k_B = 1; frequencies, rates
and energies in units of the bare frequency omega; time in units of 1/omega.
A mode's energy is its local energy omega_i <x_i^dag x_i>; ergotropy is that
of its reduced state with respect to the local Hamiltonian.

Typical use::

    import numpy as np
    import qbattery as qb

    model = qb.bare_model(g=0.2, F=0.1, gamma=0.05)
    result = qb.solve(model, np.linspace(0, 100, 401))
    ds = result.to_xarray()            # energy(mode, time), ergotropy(mode, time), ...
"""

from __future__ import annotations

__version__ = "0.1.0"

from .api import solve
from .builders import bare_model, catalytic_model, multicell_model, nonreciprocal_model
from .config import Simulation, dumps_toml, load_toml, loads_toml
from .envelopes import GaussianPulse, Table, Window, gaussian_pulse, table, window
from .errors import ModelError, QBatteryError, TruncationError, UnsupportedMethodError
from .model import Bath, Coupling, Dephasing, Dissipator, Drive, Mode, Model
from .observables import ergotropy, gaussian_ergotropy
from .optimize import optimize
from .options import SolverOptions, TimeGrid
from .result import Result
from .solvers import DensityState, GaussianState, choose_method, methods
from .supermodes import Supermodes, supermodes

__all__ = [
    "Bath",
    "Coupling",
    "DensityState",
    "Dephasing",
    "Dissipator",
    "Drive",
    "GaussianPulse",
    "GaussianState",
    "Mode",
    "Model",
    "ModelError",
    "QBatteryError",
    "Result",
    "Simulation",
    "SolverOptions",
    "Supermodes",
    "Table",
    "TimeGrid",
    "TruncationError",
    "UnsupportedMethodError",
    "Window",
    "__version__",
    "bare_model",
    "catalytic_model",
    "choose_method",
    "dumps_toml",
    "ergotropy",
    "gaussian_ergotropy",
    "gaussian_pulse",
    "load_toml",
    "loads_toml",
    "methods",
    "multicell_model",
    "nonreciprocal_model",
    "optimize",
    "solve",
    "supermodes",
    "table",
    "window",
]
