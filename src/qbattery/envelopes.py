r"""Envelopes: factors f(t) that switch drives and couplings on and off in time.

A drive with envelope f is f(t) F (exp(i omega_f t) x + h.c.); a coupling with
envelope f is f(t) g (x y^dag + h.c.). Times are absolute, in units of 1/omega.

- :class:`Window` ``(start, stop, rise)``: 0 outside [start, stop]; inside, smooth
  ramps of duration ``rise``: sin^2(pi (t - start) / (2 rise)) on [start, start + rise],
  1 on the plateau, sin^2(pi (stop - t) / (2 rise)) on [stop - rise, stop]
  (``rise = 0``: a sharp switch, 1 on [start, stop)).
- :class:`GaussianPulse` ``(center, width)``: exp(-(t - center)^2 / (2 width^2)).
- :class:`Table` ``(times, values, outside)``: piecewise linear through the points;
  outside [times[0], times[-1]] zero (``outside = "zero"``, the default) or the
  end values held (``outside = "hold"``).
- :class:`Steps` ``(times, values, outside)``: piecewise constant, ``values[k]`` from
  ``times[k]`` on (e.g. a noise realisation held for a step).

Each envelope knows its breakpoints (where f or its derivative jumps, and for a
Gaussian pulse its centre and +-6 widths, so that no adaptive step can jump over
it) and whether it is constant between two breakpoints; engines stop and
restart there, and use exact propagators where every envelope is constant.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .errors import ModelError
from .validation import real_number

__all__ = ["ENVELOPES", "Envelope", "GaussianPulse", "Steps", "Table", "Window",
           "envelope_from", "gaussian_pulse", "steps", "table", "window"]

#: How many widths on each side of a Gaussian pulse's centre are segment boundaries.
GAUSSIAN_REACH = 6.0


#: Largest time an envelope may name (units of 1/omega).
MAX_TIME = 1e12


def _finite(name: str, value: Any, *, minimum: float | None = None,
            positive: bool = False) -> float:
    return real_number(name, value, minimum=minimum, positive=positive, magnitude=MAX_TIME)


def _check_points(env: Any, *, fewest: int) -> None:
    """Validate and store a tabulated envelope's ``times``, ``values`` and ``outside``."""
    for name in ("times", "values"):
        raw = getattr(env, name)
        if not isinstance(raw, list | tuple | np.ndarray) or len(raw) < fewest:
            raise ModelError(name, f"expected a list of at least {fewest} number(s), got {raw!r}")
    times = tuple(_finite(f"times[{k}]", x) for k, x in enumerate(env.times))
    values = tuple(_finite(f"values[{k}]", x) for k, x in enumerate(env.values))
    if len(times) != len(values):
        raise ModelError("values", f"expected {len(times)} values (one per time), "
                         f"got {len(values)}")
    if any(b <= a for a, b in itertools.pairwise(times)):
        raise ModelError("times", "must be strictly increasing")
    if env.outside not in ("zero", "hold"):
        raise ModelError("outside", f"expected \"zero\" or \"hold\", got {env.outside!r}")
    object.__setattr__(env, "times", times)
    object.__setattr__(env, "values", values)


@dataclass(frozen=True)
class Envelope:
    """Base class: a real factor f(t) (see the module doc)."""

    kind: ClassVar[str]

    def __call__(self, t: ArrayLike) -> NDArray[np.float64]:
        raise NotImplementedError

    def breakpoints(self) -> tuple[float, ...]:
        """Times where f or its derivative jumps (engines restart there)."""
        raise NotImplementedError

    def constant_between(self, a: float, b: float) -> float | None:
        """f's value if it is constant on [a, b] (a, b adjacent breakpoints), else None."""
        raise NotImplementedError

    @property
    def peak(self) -> float:
        """max |f(t)|."""
        return 1.0

    @property
    def piecewise_constant(self) -> bool:
        """Whether f is constant between its breakpoints (a sharp switch)."""
        return False

    def as_dict(self) -> dict[str, Any]:
        """The model-file inline table."""
        out: dict[str, Any] = {"kind": self.kind}
        for name in self.__dataclass_fields__:
            out[name] = getattr(self, name)
        return out

    def describe(self) -> str:
        """``window envelope`` etc."""
        return f"{self.kind} envelope"


@dataclass(frozen=True)
class Window(Envelope):
    """On between ``start`` and ``stop`` with sin^2 ramps of duration ``rise`` inside."""

    start: float
    stop: float
    rise: float = 0.0
    kind: ClassVar[str] = "window"

    def __post_init__(self) -> None:
        start = _finite("start", self.start)
        stop = _finite("stop", self.stop)
        rise = _finite("rise", self.rise, minimum=0.0)
        if stop <= start:
            raise ModelError("stop", f"must be > start = {start!r}, got {stop!r}")
        if 2 * rise > stop - start:
            raise ModelError("rise", f"two ramps of {rise!r} do not fit in the window "
                             f"[{start!r}, {stop!r}]")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "stop", stop)
        object.__setattr__(self, "rise", rise)

    def __call__(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        a, b, r = self.start, self.stop, self.rise
        out = np.where((t >= a) & (t < b), 1.0, 0.0)
        if r > 0:
            up = (t >= a) & (t < a + r)
            down = (t > b - r) & (t <= b)
            out = np.where(up, np.sin(np.pi * (t - a) / (2 * r)) ** 2, out)
            out = np.where(down, np.sin(np.pi * (b - t) / (2 * r)) ** 2, out)
        return np.asarray(out)

    def breakpoints(self) -> tuple[float, ...]:
        return tuple(sorted({self.start, self.start + self.rise, self.stop - self.rise,
                             self.stop}))

    @property
    def piecewise_constant(self) -> bool:
        return self.rise == 0.0

    def constant_between(self, a: float, b: float) -> float | None:
        if b <= self.start or a >= self.stop:
            return 0.0
        if a >= self.start + self.rise and b <= self.stop - self.rise:
            return 1.0
        return None


@dataclass(frozen=True)
class GaussianPulse(Envelope):
    """exp(-(t - center)^2 / (2 width^2))."""

    center: float
    width: float
    kind: ClassVar[str] = "gaussian"

    def __post_init__(self) -> None:
        object.__setattr__(self, "center", _finite("center", self.center))
        object.__setattr__(self, "width", _finite("width", self.width, positive=True))

    def __call__(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        return np.asarray(np.exp(-((t - self.center) ** 2) / (2 * self.width**2)))

    def breakpoints(self) -> tuple[float, ...]:
        c, w = self.center, GAUSSIAN_REACH * self.width
        return (c - w, c, c + w)

    def constant_between(self, a: float, b: float) -> float | None:
        return None


@dataclass(frozen=True)
class Table(Envelope):
    """Piecewise linear through (times, values); zero or held outside."""

    times: tuple[float, ...]
    values: tuple[float, ...]
    outside: str = "zero"
    kind: ClassVar[str] = "table"

    def __post_init__(self) -> None:
        _check_points(self, fewest=2)

    def __call__(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        if self.outside == "hold":
            return np.asarray(np.interp(t, self.times, self.values))
        return np.asarray(np.interp(t, self.times, self.values, left=0.0, right=0.0))

    def breakpoints(self) -> tuple[float, ...]:
        return self.times

    def constant_between(self, a: float, b: float) -> float | None:
        ends = self(np.array([a, b]))
        if b <= self.times[0] or a >= self.times[-1]:
            return float(ends[0]) if self.outside == "hold" or ends[0] == 0 else None
        return float(ends[0]) if ends[0] == ends[1] else None

    @property
    def peak(self) -> float:
        return float(np.max(np.abs(self.values)))


@dataclass(frozen=True)
class Steps(Envelope):
    """Piecewise constant: ``values[k]`` on [times[k], times[k+1]) (the last value from
    its time on); before times[0] zero (``outside = "zero"``) or values[0] (``"hold"``).
    A noise realisation held for a step, a staircase of switches."""

    times: tuple[float, ...]
    values: tuple[float, ...]
    outside: str = "zero"
    kind: ClassVar[str] = "steps"

    def __post_init__(self) -> None:
        _check_points(self, fewest=1)

    def __call__(self, t: ArrayLike) -> NDArray[np.float64]:
        t = np.asarray(t, dtype=float)
        k = np.searchsorted(self.times, t, side="right") - 1
        before = self.values[0] if self.outside == "hold" else 0.0
        vals = np.asarray(self.values)
        return np.asarray(np.where(k < 0, before, vals[np.maximum(k, 0)]))

    def breakpoints(self) -> tuple[float, ...]:
        return self.times

    @property
    def piecewise_constant(self) -> bool:
        return True

    def constant_between(self, a: float, b: float) -> float | None:
        return float(self(np.array([a]))[0])

    @property
    def peak(self) -> float:
        return float(np.max(np.abs(self.values)))


#: Envelope classes by their ``kind`` name in model files.
ENVELOPES: dict[str, type[Envelope]] = {c.kind: c for c in (Window, GaussianPulse, Table,
                                                             Steps)}

window = Window
gaussian_pulse = GaussianPulse
table = Table
steps = Steps


def envelope_from(raw: Envelope | Mapping[str, Any] | None) -> Envelope | None:
    """An envelope from a model-file table ``{kind = ..., ...}`` (or one given as is)."""
    if raw is None or isinstance(raw, Envelope):
        return raw
    if not isinstance(raw, Mapping):
        raise ModelError("envelope", f"expected a table {{kind = ...}}, got {raw!r}")
    fields = dict(raw)
    kind = fields.pop("kind", None)
    if kind not in ENVELOPES:
        raise ModelError("envelope.kind", f"expected one of {', '.join(ENVELOPES)}, "
                         f"got {kind!r}")
    cls = ENVELOPES[kind]
    allowed = set(cls.__dataclass_fields__)
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise ModelError(f"envelope.{unknown[0]}", f"unknown field of a {kind} envelope; "
                         f"allowed: {', '.join(sorted(allowed))}")
    try:
        return cls(**fields)
    except ModelError as err:
        raise err.renamed(f"envelope.{err.field}") from None
    except TypeError:
        missing = [f for f, spec in cls.__dataclass_fields__.items()
                   if f not in fields and spec.default is spec.default_factory]
        raise ModelError(f"envelope.{missing[0] if missing else kind}",
                         "required field missing") from None
