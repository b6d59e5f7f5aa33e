"""Output time grid and solver options: small frozen dataclasses validated when built.

This module sits below the engines (they read :class:`SolverOptions`); the method
name is checked against the engine registry where a model file is read
(:mod:`qbattery.config`) and where a model is solved (:func:`qbattery.solve`).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ModelError
from .validation import real_number

ON_TRUNCATION = ("error", "warn")

#: Smallest relative tolerance and truncation tolerance (a few hundred times the double
#: precision epsilon: smaller ones cannot be met and make the engines grow or step forever).
MIN_TOLERANCE = 1e-14
#: Largest stop time (units of 1/omega): 1.6e8 bare periods.
MAX_STOP = 1e9
#: Largest cutoff (Fock levels of one oscillator; a density matrix of one such
#: oscillator alone holds 1e8 numbers).
MAX_LEVELS = 10_000
#: Largest number of output times (8 MB per mode and per result variable; a model file
#: is also held to modes x points <= config.MAX_RESULT_VALUES).
MAX_TIME_POINTS = 1_000_000


@dataclass(frozen=True)
class TimeGrid:
    """Output times in units of 1/omega: ``linspace(0, stop, points)``, or the
    explicit increasing ``values`` (e.g. a non-uniform grid; each <= ``stop``).

    Checked: 0 < stop <= MAX_STOP, 1 <= points <= MAX_TIME_POINTS (an integer).
    """

    stop: float
    points: int = 401
    values: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "stop", real_number("stop", self.stop, positive=True,
                                                     magnitude=MAX_STOP))
        if isinstance(self.points, bool) or not isinstance(self.points, int) or self.points < 1:
            raise ModelError("points", f"expected an integer >= 1, got {self.points!r}")
        if self.points > MAX_TIME_POINTS:
            raise ModelError("points", f"{self.points} output times is too many (about "
                             f"{self.points * 8 / 1e9:.3g} GB per mode and per result "
                             f"variable); at most {MAX_TIME_POINTS}")
        if self.values is not None:
            if not isinstance(self.values, list | tuple) or not self.values:
                raise ModelError("values", f"expected a non-empty list of times, got "
                                 f"{self.values!r}")
            vals = tuple(real_number(f"values[{k}]", v, minimum=0.0)
                         for k, v in enumerate(self.values))
            if any(b <= a for a, b in itertools.pairwise(vals)):
                raise ModelError("values", "must be strictly increasing")
            if vals[-1] > self.stop:
                raise ModelError("values", f"must be <= stop = {self.stop!r}, got {vals[-1]!r}")
            object.__setattr__(self, "values", vals)
            object.__setattr__(self, "points", len(vals))

    @property
    def times(self) -> np.ndarray:
        """The output times."""
        if self.values is not None:
            return np.array(self.values, dtype=float)
        return np.linspace(0.0, self.stop, self.points)

    @classmethod
    def of(cls, times: np.ndarray) -> TimeGrid:
        """The grid that gives exactly ``times`` (uniform from 0 when it is one)."""
        t = np.asarray(times, dtype=float)
        stop = float(t[-1])
        if t.size >= 2 and t[0] == 0.0 and stop > 0 \
                and np.array_equal(t, np.linspace(0.0, stop, t.size)):
            return cls(stop, int(t.size))
        return cls(stop if stop > 0 else 1.0, int(t.size), tuple(float(x) for x in t))


Cutoff = str | int | Mapping[str, int]

#: Largest ``threads`` a solve may ask for.
MAX_THREADS = 256

#: The master equations a solve can use (see :class:`SolverOptions`).
MASTER_EQUATIONS = ("local", "global", "redfield")


@dataclass(frozen=True)
class SolverOptions:
    """Options shared by the solvers.

    Args:
        method: ``"auto"`` or a registered method (see :func:`qbattery.methods`).
        rtol: relative tolerance of adaptive integrators.
        atol: absolute tolerance of adaptive integrators.
        cutoff: Fock cutoff per oscillator (number of levels): ``"auto"``, one
            integer for every oscillator, or a table ``{mode: levels}``.
        truncation_tol: largest population allowed in the top Fock level of
            any oscillator at any output time.
        on_truncation: ``"error"`` (default) or ``"warn"`` when the tail exceeds
            ``truncation_tol`` with a fixed cutoff.
        max_cutoff: largest cutoff ``"auto"`` may grow to.
        master_equation: ``"local"`` (default: each bath acts on its own mode) or
            ``"global"`` (each bath acts on the normal modes of the network's
            Hamiltonian, secular approximation; :mod:`qbattery.terms.dressed`) or
            ``"redfield"`` (Bloch-Redfield in the eigenbasis of the undriven network,
            qubits allowed, Fock engine; :mod:`qbattery.terms.redfield`).
        entropy: density-matrix engines also record the von Neumann entropy of the
            whole state at each output time (one diagonalisation of the state per
            output) and, when every dissipator is a thermal bath at T > 0, the
            entropy production (:mod:`qbattery.terms.entropy`). Gaussian results
            carry both whatever this says (they cost nothing there).
        correlations: density-matrix engines record, for a model with a ``catalyst``
            mode, its mutual informations and logarithmic negativities with the
            charger and the battery (default; one diagonalisation of each two-mode
            reduced state per output, the charger-battery one of a few hundred levels:
            ~4 s of Fig. 6b). ``false`` keeps the catalyst's ground fidelity and
            purity only.
        threads: threads of the density-matrix engines' compiled right-hand side
            (numba; the integrator's arithmetic and the observables stay on one BLAS
            thread). The default 1 suits sweeps, which run one solve per core.
    """

    method: str = "auto"
    rtol: float = 1e-8
    atol: float = 1e-10
    cutoff: Cutoff = "auto"
    truncation_tol: float = 1e-6
    on_truncation: str = "error"
    max_cutoff: int = 120
    master_equation: str = "local"
    entropy: bool = False
    correlations: bool = True
    threads: int = 1

    def __post_init__(self) -> None:
        if not isinstance(self.method, str) or not self.method.strip():
            raise ModelError("method", f"expected a method name, got {self.method!r}")
        for name in ("rtol", "atol", "truncation_tol"):
            value = real_number(name, getattr(self, name), positive=True)
            if value >= 1:
                raise ModelError(name, f"must be < 1, got {value!r}")
            if name != "atol" and value < MIN_TOLERANCE:
                raise ModelError(name, f"must be >= {MIN_TOLERANCE:g} (below it, rounding "
                                 f"errors of double precision dominate), got {value!r}")
            object.__setattr__(self, name, value)
        if self.on_truncation not in ON_TRUNCATION:
            raise ModelError("on_truncation", f"expected one of {', '.join(ON_TRUNCATION)}, "
                             f"got {self.on_truncation!r}")
        if isinstance(self.max_cutoff, bool) or not isinstance(self.max_cutoff, int) \
                or not 2 <= self.max_cutoff <= MAX_LEVELS:
            raise ModelError("max_cutoff", f"expected an integer in [2, {MAX_LEVELS}], got "
                             f"{self.max_cutoff!r}")
        if self.master_equation not in MASTER_EQUATIONS:
            raise ModelError("master_equation", f"expected one of "
                             f"{', '.join(MASTER_EQUATIONS)}, got {self.master_equation!r}")
        for name in ("entropy", "correlations"):
            if not isinstance(getattr(self, name), bool):
                raise ModelError(name, f"expected true or false, got {getattr(self, name)!r}")
        if isinstance(self.threads, bool) or not isinstance(self.threads, int) \
                or not 1 <= self.threads <= MAX_THREADS:
            raise ModelError("threads", f"expected an integer in [1, {MAX_THREADS}], got "
                             f"{self.threads!r}")
        cutoff = self.cutoff
        if isinstance(cutoff, Mapping):
            for key, value in cutoff.items():
                _check_levels(f"cutoff.{key}", value, self.max_cutoff)
            object.__setattr__(self, "cutoff", dict(cutoff))
        elif cutoff != "auto":
            _check_levels("cutoff", cutoff, self.max_cutoff)


def _check_levels(name: str, value: Any, max_cutoff: int) -> None:
    """A fixed cutoff: an integer number of levels in [2, max_cutoff]."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 2:
        raise ModelError(name, f"expected \"auto\" or an integer number of levels >= 2, "
                         f"got {value!r}")
    if value > max_cutoff:
        raise ModelError(name, f"{value} levels is above max_cutoff = {max_cutoff}; raise "
                         "max_cutoff to allow it")
