r"""Figures of merit in results: engine hooks and quantities derived from a Result's Dataset.

Engine hooks (one call site per engine; all the physics is in :mod:`qbattery.merit`):

* :class:`FigureRecorder` for the density-matrix engines: at each output time, from
  each mode's reduced state (displaced-frame engines pass the frame displacement
  alpha; the lab-frame Fock distribution is then that of D(alpha) rho' D(alpha)^dag);
* :func:`gaussian_collective` for the Gaussian engine (the cells' joint moments); its
  local figures come from the moments when the Dataset is built
  (:func:`gaussian_local_figures`).

Both give ``incoherent_ergotropy``, ``coherent_ergotropy`` and ``energy_variance``
(mode, time) and, for 2 to 6 (``COLLECTIVE_MAX_CELLS``) battery modes,
``collective_ergotropy`` (time, the true one); the Gaussian engine adds
``collective_gaussian_ergotropy`` (what Gaussian unitaries extract), the density-matrix
engines report it while the cells' joint space has <= ``COLLECTIVE_MAX_DIM`` levels.

Derived from what every Result has (:func:`add_to_dataset`), ``time`` in 1/omega:

* ``power(mode, time)`` = dE_i/dt, finite differences on the output grid: fourth-order
  (5-point) stencils on a uniform grid, second order (``np.gradient``) otherwise or with
  fewer than 5 times. (Their sum is checked against the exact energy balance in the tests.)
* ``average_power(mode, time)`` = (E(t) - E(0))/t; at t = 0 its limit dE/dt(0).
* ``max_average_power(mode)`` and ``charging_time(mode)``: max over t > 0 and its time.
* ``drive_work(drive, time)`` = int_0^t P_drive dt, cumulative trapezoid with the
  Euler-Maclaurin end correction -h^2/12 [P'(t) - P'(0)] on a uniform grid (error O(h^4)),
  the plain trapezoid (O(h^2)) otherwise.
* ``efficiency(time)`` = sum of the battery modes' ergotropies / total drive work; 0
  where the drive work vanishes (|W_d| <= 1e-12 max |W_d|, e.g. t = 0).
* ``capacity(finite_mode, time)`` for qubits: C = omega (r_max - r_min) = omega - 2 (E - W).
* coordinate ``role(mode)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from . import merit
from .kinds import mode_kind
from .model import Model
from .observables import Reductions

if TYPE_CHECKING:
    from .terms import CompiledModel

__all__ = ["FigureRecorder", "add_to_dataset", "collective_cells", "cumulative_integral",
           "derivative", "gaussian_collective", "gaussian_local_figures"]

#: Most battery modes whose collective ergotropy is reported.
COLLECTIVE_MAX_CELLS = 6
#: Largest joint dimension of the battery modes for the density-matrix engines' collective
#: ergotropy (one eigvalsh of that size per output time).
COLLECTIVE_MAX_DIM = 1024

Array = NDArray[np.float64]
Extra = dict[str, tuple[tuple[str, ...], NDArray[Any]]]
_LOCAL = ("incoherent_ergotropy", "coherent_ergotropy", "energy_variance")
_ATTRS = {
    "incoherent_ergotropy": {"long_name": "incoherent ergotropy W(Delta_H rho)", "units": "omega"},
    "coherent_ergotropy": {"long_name": "coherent ergotropy W - W_inc", "units": "omega"},
    "energy_variance": {"long_name": "omega^2 (<n^2> - <n>^2)", "units": "omega^2"},
    "collective_ergotropy": {"long_name": "ergotropy of the battery modes' joint state",
                             "units": "omega"},
    "collective_gaussian_ergotropy": {"long_name": "joint ergotropy by Gaussian unitaries "
                                      "only", "units": "omega"},
}


class FigureRecorder:
    """Collects the local figures of every mode at each output time (density-matrix engines),
    and the collective ergotropy of 2 to COLLECTIVE_MAX_CELLS battery modes while their joint
    state has at most COLLECTIVE_MAX_DIM levels (else that variable is left out)."""

    def __init__(self, model: CompiledModel, n_times: int) -> None:
        self.model = model
        self.values = {name: np.zeros((len(model.modes), n_times)) for name in _LOCAL}
        self.cells = collective_cells(model.model)
        self.collective: Array | None = np.zeros(n_times) if self.cells else None

    def record(self, k: int, rho: NDArray[np.complex128] | Reductions, dims: tuple[int, ...],
               ergotropy: Array, displacements: NDArray[np.complex128] | None = None) -> None:
        """Figures at output ``k`` from the full state ``rho`` on ``dims``.

        Args:
            k: output index.
            rho: the (lab, or displaced-frame) density matrix, or its reductions.
            dims: the dimension of each mode's factor.
            ergotropy: each mode's (lab-frame) ergotropy, already computed by the engine.
            displacements: frame displacements alpha_i (rho_lab = D(alpha) rho D(alpha)^dag).
        """
        red = Reductions.of(rho, dims)
        energy = np.zeros(len(self.model.modes))
        for i, mode in enumerate(self.model.modes):
            r = red.state((i,))
            alpha = 0j if displacements is None else complex(displacements[i])
            p = merit.displaced_distribution(r, alpha) if mode.kind.truncated \
                else np.real(np.diagonal(r))
            levels = mode.frequency * np.arange(p.size, dtype=float)
            energy[i] = float(p @ levels)
            for name, value in merit.fock_figures(p, levels, float(ergotropy[i])).items():
                self.values[name][i, k] = value
        if self.collective is not None:
            self._collective(k, red, tuple(dims), energy)

    def _collective(self, k: int, red: Reductions, dims: tuple[int, ...],
                    energy: Array) -> None:
        """W = sum_cells E_i - sum lambda^desc eps^asc: the joint spectrum (the same in the
        displaced frame: D(alpha) acts locally) against the lowest levels of sum omega_i n_i
        (:func:`merit.lowest_energies`; qubits: their two levels)."""
        sizes = [dims[i] for i in self.cells]
        if int(np.prod(sizes)) > COLLECTIVE_MAX_DIM:
            self.collective = None
            return
        spectrum = red.spectrum(tuple(self.cells))
        modes = [self.model.modes[i] for i in self.cells]
        if all(m.kind.truncated for m in modes):
            levels = merit.lowest_energies([m.frequency for m in modes], spectrum.size)
        else:
            grids = np.meshgrid(*[m.frequency * np.arange(d) for m, d in
                                  zip(modes, sizes, strict=True)], indexing="ij")
            levels = np.sum(grids, axis=0).ravel()
        assert self.collective is not None
        self.collective[k] = float(energy[self.cells].sum()) - merit.passive_energy(
            spectrum, levels)

    def extra(self) -> Extra:
        """The arrays, for a SolverOutput's ``extra``."""
        out: Extra = {name: (("mode", "time"), v) for name, v in self.values.items()}
        if self.collective is not None:
            out["collective_ergotropy"] = (("time",), self.collective)
        return out


def _battery_indices(model: Model) -> list[int]:
    return [i for i, r in enumerate(model.roles) if r == "battery"]


def collective_cells(model: Model) -> list[int]:
    """The battery modes whose collective ergotropy is reported: 2 to COLLECTIVE_MAX_CELLS
    of them, else none."""
    cells = _battery_indices(model)
    return cells if 2 <= len(cells) <= COLLECTIVE_MAX_CELLS else []


def gaussian_collective(model: Model, alpha: NDArray[np.complex128], cells: list[int],
                        pairs: NDArray[np.complex128]) -> Extra:
    """The cells' collective ergotropy (true and Gaussian-unitary; the true one enumerates
    the joint spectrum) from their means and covariance.

    Args:
        alpha: (modes, times) <a_i>.
        cells: :func:`collective_cells`.
        pairs: (cells**2, times) C_ij = <da_j^dag da_i> for (i, j) over cells x cells.
    """
    if not cells:
        return {}
    n_t = alpha.shape[1]
    k = len(cells)
    w = np.array([model.modes[i].frequency for i in cells])
    cov = pairs.reshape(k, k, n_t)
    coll = np.zeros((2, n_t))
    for t in range(n_t):
        joint = merit.collective_ergotropy(w, alpha[cells, t], cov[:, :, t])
        coll[:, t] = joint["ergotropy"], joint["gaussian_ergotropy"]
    return {"collective_ergotropy": (("time",), coll[0]),
            "collective_gaussian_ergotropy": (("time",), coll[1])}


def gaussian_local_figures(ds: xr.Dataset, model: Model) -> dict[str, Any]:
    """Local figures of a Gaussian result's Dataset, from its moments (amplitude and
    fluctuation): computed when the Dataset is built, not in the solve, so that a user's
    loop over ``solve`` does not pay for them."""
    freq = np.array([m.frequency for m in model.modes])[:, None]
    alpha = ds["amplitude_real"].values + 1j * ds["amplitude_imag"].values
    m: Any = 0.0  # the anomalous moment <da da> (quadrature path, beyond the RWA)
    if "anomalous_moment_real" in ds:
        m = ds["anomalous_moment_real"].values + 1j * ds["anomalous_moment_imag"].values
    figs = merit.gaussian_local_figures(freq, alpha, ds["fluctuation"].values, m)
    return {name: (("mode", "time"), figs[name]) for name in _LOCAL}


def derivative(y: Array, t: Array) -> Array:
    """dy/dt along the last axis: 5-point stencils (O(h^4)) on a uniform grid, else np.gradient."""
    y = np.asarray(y, dtype=float)
    if t.size < 2:
        return np.zeros_like(y)
    h = np.diff(t)
    if t.size < 5 or not np.allclose(h, h[0], rtol=1e-9, atol=0.0):
        return np.asarray(np.gradient(y, t, axis=-1, edge_order=2 if t.size > 2 else 1))
    d = np.empty_like(y)
    d[..., 2:-2] = (-y[..., 4:] + 8 * y[..., 3:-1] - 8 * y[..., 1:-3] + y[..., :-4]) / 12
    s0 = np.array([-25, 48, -36, 16, -3]) / 12
    s1 = np.array([-3, -10, 18, -6, 1]) / 12
    d[..., 0] = y[..., :5] @ s0
    d[..., 1] = y[..., :5] @ s1
    d[..., -1] = -(y[..., ::-1][..., :5] @ s0)
    d[..., -2] = -(y[..., ::-1][..., :5] @ s1)
    return np.asarray(d / h[0])


def cumulative_integral(y: Array, t: Array) -> Array:
    """int_0^t y along the last axis: trapezoid + Euler-Maclaurin end correction (uniform grid)."""
    y = np.asarray(y, dtype=float)
    out = np.zeros_like(y)
    if t.size < 2:
        return out
    h = np.diff(t)
    out[..., 1:] = np.cumsum(0.5 * h * (y[..., 1:] + y[..., :-1]), axis=-1)
    if t.size >= 5 and np.allclose(h, h[0], rtol=1e-9, atol=0.0):
        dy = derivative(y, t)
        out -= h[0] ** 2 / 12 * (dy - dy[..., :1])
    return out


def _average_power(energy: Array, power: Array, t: Array) -> Array:
    """(E(t) - E(0))/t, and dE/dt(0) at t = 0."""
    avg = np.array(power, dtype=float)
    pos = t > 0
    avg[..., pos] = (energy[..., pos] - energy[..., :1]) / t[pos]
    return avg


def _efficiency(stored: Array, work: Array) -> Array:
    """stored / work, 0 where |work| <= 1e-12 max |work| (t = 0: 0/0 defined as 0)."""
    scale = float(np.max(np.abs(work))) if work.size else 0.0
    ok = np.abs(work) > 1e-12 * scale
    return np.where(ok, stored / np.where(ok, work, 1.0), 0.0)


def add_to_dataset(ds: xr.Dataset, model: Model) -> xr.Dataset:
    """Add the derived figures of merit (see the module doc) to a Result's Dataset."""
    t = np.asarray(ds["time"].values, dtype=float)
    energy = np.asarray(ds["energy"].values, dtype=float)
    erg = np.asarray(ds["ergotropy"].values, dtype=float)
    roles = list(model.roles)
    power = derivative(energy, t)
    avg = _average_power(energy, power, t)
    later = np.flatnonzero(t > 0) if t.size > 1 else np.array([0])
    best = later[np.argmax(avg[:, later], axis=1)]
    rows = np.arange(energy.shape[0])
    new: dict[str, Any] = {
        "power": (("mode", "time"), power,
                  {"long_name": "dE/dt (5-point finite differences)", "units": "omega^2"}),
        "average_power": (("mode", "time"), avg,
                          {"long_name": "(E(t) - E(0))/t (t = 0: dE/dt)", "units": "omega^2"}),
        "max_average_power": (("mode",), avg[rows, best], {"units": "omega^2"}),
        "charging_time": (("mode",), t[best],
                          {"long_name": "time of the maximal average power",
                           "units": "1/omega"}),
    }
    batteries = [i for i, r in enumerate(roles) if r == "battery"]
    if "drive_power" in ds:
        work = cumulative_integral(np.asarray(ds["drive_power"].values, dtype=float), t)
        new["drive_work"] = (("drive", "time"), work,
                             {"long_name": "int_0^t P_drive dt", "units": "omega"})
        if batteries:
            new["efficiency"] = (("time",), _efficiency(erg[batteries].sum(0), work.sum(0)),
                                 {"long_name": "battery ergotropy / drive work (0 at W_d = 0)"})
    if "incoherent_ergotropy" not in ds and "fluctuation" in ds:
        new.update(gaussian_local_figures(ds, model))
    qubits = [i for i, m in enumerate(model.modes) if mode_kind(m.kind).levels == 2]
    if qubits:
        w = np.array([model.modes[i].frequency for i in qubits])[:, None]
        cap = np.clip(w - 2 * (energy[qubits] - erg[qubits]), 0.0, None)
        new["capacity"] = (("finite_mode", "time"), cap,
                           {"long_name": "capacity omega (r_max - r_min)", "units": "omega"})
    out = ds.assign_coords(role=("mode", roles))
    if qubits:
        out = out.assign_coords(finite_mode=[model.modes[i].name for i in qubits])
    for name, attrs in _ATTRS.items():
        if name in out:
            out[name].attrs.update(attrs)
    return out.assign(new)
