r"""Robustness of the charging protocols to an unknown or fluctuating coupling.

Static uncertainty: the true coupling is g = g0 + std * xi (xi standard normal,
or uniform with the same standard deviation), drawn once per sample with a
seeded generator, while each protocol's drive is set for the nominal g0 (only
``bare_global`` uses it: omega_f = omega + g0). Each sample is an exact solve.

Temporal fluctuations: g(t) = g0 + x(t) (or omega_q(t) = omega_q0 + x(t)) with
x an Ornstein-Uhlenbeck process of stationary standard deviation ``std`` and
correlation time tau, sampled exactly on a grid of step h,

    x_{k+1} = rho x_k + std sqrt(1 - rho^2) xi_k,   rho = exp(-h / tau),  x_0 ~ N(0, std^2),

and held constant on each step. For oscillator networks the piecewise-constant
dynamics is solved exactly step by step with the Gaussian propagators of
:mod:`qbattery.solvers.gaussian` (:func:`drift_matrix`, :func:`first_moments`,
:func:`covariance`); the only approximation is the step h of the noise itself
(default tau/10). A qubit catalyst under temporal fluctuations needs a solver
that propagates a given state, which the registered engines do not offer: it is
reported as not available.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import xarray as xr
from numpy.typing import NDArray

from ..api import solve
from ..envelopes import Steps
from ..errors import ModelError
from ..model import Model
from ..observables import gaussian_ergotropy
from ..solvers.gaussian import covariance, drift_matrix, first_moments
from ..solvers.gaussian_batch import solve_batch
from ..validation import real_number
from . import protocols as _protocols
from .paths import FieldPath, with_values
from .protocols import PROTOCOLS, Protocol, ProtocolParams, availability, window_times
from .robustness_report import draw_robustness as draw_robustness  # re-exported
from .robustness_report import robustness_table as robustness_table  # re-exported

DISTRIBUTIONS = ("normal", "uniform")
TARGETS = ("g", "omega_q")

def _count(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ModelError(name, f"expected an integer >= 1, got {value!r}")
    return value


def _check_size(flag: str, values: float) -> None:
    """Refuse a study whose result array would not fit in memory."""
    from ..config import MAX_RESULT_VALUES

    if values > MAX_RESULT_VALUES:
        raise ModelError(flag, f"the study needs {values:.3g} values (~{values * 8 / 1e9:.3g} "
                         f"GB); at most {MAX_RESULT_VALUES}: fewer samples or realisations, "
                         "a longer --step or fewer --points")


def _seed(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ModelError("--seed", f"expected an integer >= 0, got {value!r}")
    return value


@dataclass(frozen=True)
class StaticNoise:
    """A coupling known only up to a static error.

    Args:
        std: standard deviation of the true g around the nominal g (units of omega).
        samples: number of draws.
        distribution: ``"normal"`` or ``"uniform"`` (same standard deviation).
        seed: seed of the random generator.
    """

    std: float
    samples: int = 200
    distribution: str = "normal"
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "std", real_number("--static-std", self.std, minimum=0.0))
        _count("--samples", self.samples)
        _seed(self.seed)
        if self.distribution not in DISTRIBUTIONS:
            raise ModelError("--distribution", f"expected one of {', '.join(DISTRIBUTIONS)}, "
                             f"got {self.distribution!r}")

    def draw(self, g0: float) -> NDArray[np.float64]:
        """The true couplings, g0 + std * xi; refuses draws with g <= 0."""
        rng = np.random.default_rng(self.seed)
        if self.distribution == "normal":
            xi = rng.standard_normal(self.samples)
        else:
            xi = rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), self.samples)
        g = g0 + self.std * xi
        if np.any(g <= 0):
            raise ModelError("--static-std", f"std {self.std:g} draws couplings <= 0 around "
                             f"g = {g0:g}; use a smaller std")
        return np.asarray(g)


@dataclass(frozen=True)
class TemporalNoise:
    """An Ornstein-Uhlenbeck fluctuation of g(t) or omega_q(t).

    Args:
        std: stationary standard deviation (units of omega).
        correlation_time: tau (units of 1/omega), > 0.
        realisations: number of noise realisations.
        target: ``"g"`` (every coupling) or ``"omega_q"`` (catalyst frequency).
        step: hold time h of the piecewise-constant process (default tau / 10).
        seed: seed of the random generator.
    """

    std: float
    correlation_time: float
    realisations: int = 20
    target: str = "g"
    step: float | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "std", real_number("--ou-std", self.std, minimum=0.0))
        object.__setattr__(self, "correlation_time",
                           real_number("--correlation-time", self.correlation_time,
                                       positive=True))
        _count("--realisations", self.realisations)
        _seed(self.seed)
        if self.target not in TARGETS:
            raise ModelError("--fluctuate", f"expected one of {', '.join(TARGETS)}, "
                             f"got {self.target!r}")
        if self.step is not None:
            object.__setattr__(self, "step", real_number("--step", self.step, positive=True))

    @property
    def hold(self) -> float:
        """The step h."""
        return self.step if self.step is not None else self.correlation_time / 10.0

    def paths(self, n_steps: int) -> NDArray[np.float64]:
        """(realisations, n_steps) exact OU samples x(k h), stationary from the start."""
        rng = np.random.default_rng(self.seed)
        rho = np.exp(-self.hold / self.correlation_time)
        kick = self.std * np.sqrt(1.0 - rho**2)
        x = np.empty((self.realisations, n_steps))
        x[:, 0] = self.std * rng.standard_normal(self.realisations)
        for k in range(1, n_steps):
            x[:, k] = rho * x[:, k - 1] + kick * rng.standard_normal(self.realisations)
        return x


def _battery(model: Model) -> int:
    return model.index("battery")


def static_ergotropy(proto: Protocol, params: ProtocolParams, g: NDArray[np.float64],
                     times: NDArray[np.float64]) -> NDArray[np.float64]:
    """(samples, times) battery ergotropy with true couplings ``g`` (drive set for nominal)."""
    models = [proto.model(params, g=float(x)) for x in g]
    b = _battery(models[0])
    if not models[0].has_qubit:
        return solve_batch(models, times).ergotropy[:, b, :]
    return np.array([solve(m, times).ergotropy[b] for m in models])


def piecewise_gaussian(models: Sequence[Model], hold: float
                       ) -> tuple[NDArray[np.complex128], NDArray[np.float64]]:
    """Amplitudes and fluctuations when the network is ``models[k]`` on [k h, (k+1) h).

    All models must be all-oscillator networks of one structure with the same
    drives (hence the same rotating frame). Each step is propagated exactly:
    alpha by :func:`first_moments` (drive phases continued from t = k h) and the
    covariance by :func:`covariance`, starting from the previous step's end.

    Returns:
        (modes, steps + 1) amplitudes and (modes, steps + 1) fluctuations
        <da^dag da> at t = 0, h, ..., steps * h.
    """
    first = models[0]
    n = len(first.modes)
    wr = first.frame_frequency
    drives: dict[float, NDArray[np.complex128]] = {}
    for d in first.drives:
        vec = drives.setdefault(d.frequency - wr, np.zeros(n, dtype=complex))
        vec[first.index(d.mode)] += -1j * d.amplitude
    alpha = np.array([m.initial_amplitude for m in first.modes], dtype=complex)
    C = np.diag([m.initial_occupation for m in first.modes]).astype(complex)
    amps = np.zeros((n, len(models) + 1), dtype=complex)
    fluct = np.zeros((n, len(models) + 1))
    amps[:, 0], fluct[:, 0] = alpha, C.diagonal().real
    step = np.array([hold])
    for k, model in enumerate(models):
        if model.drives != first.drives:
            raise ValueError(f"models[{k}]: drives differ from models[0]")
        A = drift_matrix(model).toarray()
        t0 = k * hold
        shifted = {delta: b * np.exp(-1j * delta * t0) for delta, b in drives.items()}
        alpha = first_moments(A, shifted, alpha, step)[:, -1]
        noise = np.zeros(n)
        for i, rate, occ in model.bath_terms():
            noise[i] = rate * occ
        if np.any(noise > 0) or np.any(C != 0):
            C = covariance(A, np.diag(noise).astype(complex), C, step)[-1]
        amps[:, k + 1], fluct[:, k + 1] = alpha, C.diagonal().real
    return amps, fluct


def _noisy_models(proto: Protocol, params: ProtocolParams, noise: TemporalNoise,
                  x: NDArray[np.float64]) -> list[Model] | None:
    """The model on each hold step, or None if the target does not exist in ``proto``."""
    base = proto.model(params)
    if noise.target == "g":
        paths = [FieldPath("couplings", i, "strength") for i in range(len(base.couplings))]
        nominal = params.g
    else:
        if proto.catalyst is None:
            return None
        paths = [FieldPath("modes", base.index("catalyst"), "frequency")]
        nominal = params.omega_q
    values = nominal + x
    if np.any(values <= 0):
        raise ModelError("--ou-std", f"the fluctuation takes {noise.target} to "
                         f"{values.min():.3g} <= 0; use a smaller std")
    return [with_values(base, paths, [float(v)] * len(paths)) for v in values]


def temporal_ergotropy(proto: Protocol, params: ProtocolParams, noise: TemporalNoise,
                       n_steps: int) -> NDArray[np.float64] | None:
    """(realisations, n_steps + 1) battery ergotropy under the OU fluctuation.

    Returns None for protocols without the fluctuating parameter (``omega_q`` of a
    bare model: then nothing fluctuates).
    """
    x = noise.paths(n_steps)
    freq = np.array([m.frequency for m in proto.model(params).modes])
    out = np.empty((noise.realisations, n_steps + 1))
    for r in range(noise.realisations):
        models = _noisy_models(proto, params, noise, x[r])
        if models is None:
            return None
        amps, fl = piecewise_gaussian(models, noise.hold)
        b = _battery(models[0])
        out[r] = gaussian_ergotropy(freq[b], amps[b], fl[b])
    return out


def temporal_density(proto: Protocol, params: ProtocolParams, noise: TemporalNoise,
                     ou_t: NDArray[np.float64]) -> tuple[NDArray[np.float64] | None, str]:
    """(realisations, ou_time) battery ergotropy of a nonlinear protocol (a qubit catalyst)
    under OU noise on g, and a status: each realisation is one solve whose couplings
    carry the held noise as a :class:`~qbattery.envelopes.Steps` envelope g(t) = g + x(t)
    (the density-matrix engine restarts at every step, continuing its state)."""
    if noise.target != "g":
        return None, (f"not available: {noise.target} is a mode frequency, which has no "
                      "time dependence (envelopes act on drives and couplings)")
    x = noise.paths(ou_t.size - 1)
    if np.any(params.g + x <= 0):
        raise ModelError("--ou-std", f"the fluctuation takes g to {(params.g + x).min():.3g} "
                         "<= 0; use a smaller std")
    base = proto.model(params)
    b = _battery(base)
    out = np.empty((noise.realisations, ou_t.size))
    method = ""
    for r in range(noise.realisations):
        env = Steps(tuple(ou_t[:-1]), tuple(1.0 + x[r] / params.g), outside="hold")
        model = dataclasses.replace(base, couplings=tuple(
            dataclasses.replace(c, envelope=env) for c in base.couplings))
        res = solve(model, ou_t)
        out[r] = res.ergotropy[b]
        method = res.method
    return out, f"ok: {method}, the held noise as a steps envelope (segments)"


def robustness(params: ProtocolParams, *, static: StaticNoise | None = None,
               temporal: TemporalNoise | None = None, stop: float = 200.0,
               points: int = 401, protocols: Sequence[Protocol] = PROTOCOLS) -> xr.Dataset:
    """Battery ergotropy per protocol under static and/or temporal noise.

    Returns:
        Dataset with, per protocol, ``nominal_ergotropy`` (time) without noise;
        for static noise ``g_sample`` (sample) and ``static_ergotropy``
        (protocol, sample, time); for temporal noise ``temporal_ergotropy``
        (protocol, realisation, ou_time); ``*_status`` says what was skipped
        and why. Summaries are in :func:`robustness_table`.
    """
    t = window_times(stop, points)
    _protocols.check_protocols(params, protocols, stop, points)
    P = len(protocols)
    if static is not None:
        _check_size("--samples", P * static.samples * t.size)
    if temporal is not None:
        _check_size("--step", P * temporal.realisations * (stop / temporal.hold + 1))
    status = [availability(p.model(params)) for p in protocols]
    nominal = np.full((P, t.size), np.nan)
    for k, proto in enumerate(protocols):
        if not status[k].startswith("unavailable"):
            nominal[k] = static_ergotropy(proto, params, np.array([params.g]), t)[0]
    data: dict[str, tuple[tuple[str, ...], NDArray[np.float64], dict[str, str]]] = {
        "nominal_ergotropy": (("protocol", "time"), nominal,
                              {"long_name": "battery ergotropy at the nominal parameters"})}
    coords: dict[str, object] = {"protocol": [p.name for p in protocols],
                                 "label": ("protocol", [p.label for p in protocols]),
                                 "time": ("time", t, {"units": "1/omega"})}
    attrs: dict[str, object] = {k: float(getattr(params, k)) for k in
                                ("g", "F", "gamma", "n_th", "gamma_q", "omega_q")}
    if static is not None:
        g = static.draw(params.g)
        w = np.full((P, g.size, t.size), np.nan)
        for k, proto in enumerate(protocols):
            if not status[k].startswith("unavailable"):
                w[k] = static_ergotropy(proto, params, g, t)
        data["static_ergotropy"] = (("protocol", "sample", "time"), w,
                                    {"long_name": "battery ergotropy, static error on g"})
        coords["g_sample"] = ("sample", g)
        coords["static_status"] = ("protocol", status)
        attrs.update(static_std=static.std, static_distribution=static.distribution,
                     static_seed=static.seed)
    if temporal is not None:
        n_steps = int(np.ceil(stop / temporal.hold - 1e-9))
        ou_t = temporal.hold * np.arange(n_steps + 1, dtype=float)
        w = np.full((P, temporal.realisations, n_steps + 1), np.nan)
        tstatus = []
        for k, proto in enumerate(protocols):
            if status[k].startswith("unavailable"):
                tstatus.append(status[k])
            elif proto.model(params).has_qubit:
                res, note = temporal_density(proto, params, temporal, ou_t)
                tstatus.append(note)
                if res is not None:
                    w[k] = res
                continue
            else:
                res = temporal_ergotropy(proto, params, temporal, n_steps)
                if res is None:
                    tstatus.append(f"nothing fluctuates: no {temporal.target}")
                    res = np.repeat(static_ergotropy(proto, params, np.array([params.g]),
                                                     ou_t), temporal.realisations, 0)
                else:
                    tstatus.append("ok: gaussian, exact piecewise-constant propagation")
                w[k] = res
        data["temporal_ergotropy"] = (("protocol", "realisation", "ou_time"), w,
                                      {"long_name": f"battery ergotropy, OU noise on "
                                                    f"{temporal.target}"})
        coords["ou_time"] = ("ou_time", ou_t, {"units": "1/omega"})
        coords["temporal_status"] = ("protocol", tstatus)
        attrs.update(ou_std=temporal.std, ou_correlation_time=temporal.correlation_time,
                     ou_target=temporal.target, ou_step=temporal.hold, ou_seed=temporal.seed)
    return xr.Dataset(data, coords=coords, attrs=attrs)


