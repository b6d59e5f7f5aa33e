r"""Choosing Fock cutoffs and making sure they were large enough.

*Estimate.* With the qubits replaced by oscillators the network is Gaussian
and solved in closed form; each oscillator's reduced state is then a displaced
thermal state, whose Fock distribution is exact:

    P(m) = n^m / (1 + n)^(m+1) exp(-|alpha|^2 / (1 + n)) L_m(-|alpha|^2 / (n (1 + n)))

(Poisson for n = 0). The cutoff is the smallest number of levels whose top
level holds less than a tenth of the tolerance at the worst |alpha|^2 and n of
the run. For qubit models this is an estimate, not a bound.

*Check.* Whatever the cutoffs, the engine reports the population of every
oscillator's top level at every integrator step and output time to a
:class:`TruncationMonitor`: above ``truncation_tol`` an automatic cutoff is
enlarged and the run restarted; a fixed one raises :class:`TruncationError`
(or warns with :class:`TruncationWarning` when the user opted in).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln, logsumexp

from ..config import SolverOptions
from ..errors import ModelError, TruncationError, TruncationWarning
from ..model import Model
from .space import FockSpace

__all__ = [
    "CutoffPlan",
    "NeedsLargerCutoff",
    "TruncationMonitor",
    "estimate_cutoffs",
    "grow_cutoffs",
    "levels_needed",
    "number_distribution",
    "plan_cutoffs",
]

#: The estimate aims at this fraction of the tolerance in the top level.
SAFETY = 0.1
#: Fewest levels an automatic cutoff uses.
MIN_LEVELS = 3
#: Points of the Gaussian solution used for the estimate.
ESTIMATE_POINTS = 513


@dataclass(frozen=True)
class CutoffPlan:
    """Which oscillators have a fixed cutoff and which are chosen automatically."""

    fixed: dict[str, int]
    auto: tuple[str, ...]


def plan_cutoffs(model: Model, cutoff: object) -> CutoffPlan:
    """Resolve ``SolverOptions.cutoff`` ("auto", an int, or {mode: int}) for ``model``.

    Modes missing from a table are chosen automatically. A qubit may appear in
    a table only with 2 levels.
    """
    osc = [m.name for m in model.modes if m.kind == "oscillator"]
    if cutoff == "auto":
        return CutoffPlan({}, tuple(osc))
    if isinstance(cutoff, int) and not isinstance(cutoff, bool):
        return CutoffPlan(dict.fromkeys(osc, cutoff), ())
    if isinstance(cutoff, Mapping):
        fixed = {}
        for name, levels in cutoff.items():
            if name not in model.names:
                raise ModelError(f"cutoff.{name}", f"unknown mode {name!r}; modes are "
                                 + ", ".join(model.names))
            if model.modes[model.index(name)].kind == "qubit":
                if levels != 2:
                    raise ModelError(f"cutoff.{name}", f"{name!r} is a qubit (2 levels), "
                                     f"got {levels!r}")
                continue
            fixed[name] = int(levels)
        return CutoffPlan(fixed, tuple(n for n in osc if n not in fixed))
    raise ModelError("cutoff", f"expected \"auto\", an integer or a table, got {cutoff!r}")


def number_distribution(amplitude2: float, occupation: float, levels: int
                        ) -> NDArray[np.float64]:
    """Exact P(m), m < ``levels``, of D(alpha) rho_th(n) D(alpha)^dag (|alpha|^2, n given)."""
    m = np.arange(levels)
    x, n = float(amplitude2), float(occupation)
    if n <= 0:
        if x == 0:
            return (m == 0).astype(float)
        return np.asarray(np.exp(m * math.log(x) - x - gammaln(m + 1)))
    log_p = m * math.log(n) - (m + 1) * math.log1p(n) - x / (1 + n)
    if x > 0:
        y = math.log(x / (n * (1 + n)))
        k = np.arange(levels)
        # log L_m(-y) = log sum_k C(m, k) y^k / k!  (all terms positive)
        terms = (gammaln(m + 1)[:, None] - 2 * gammaln(k + 1)[None, :]
                 - gammaln(np.maximum(m[:, None] - k[None, :], 0) + 1) + k[None, :] * y)
        terms = np.where(k[None, :] <= m[:, None], terms, -np.inf)
        log_p = log_p + logsumexp(terms, axis=1)
    return np.asarray(np.exp(log_p))


def levels_needed(amplitude2: float, occupation: float, tol: float, max_levels: int) -> int:
    """Fewest levels d (<= max_levels) with P(m) <= tol for every m >= d - 1."""
    p = number_distribution(amplitude2, occupation, max_levels)
    above = np.flatnonzero(p > tol)
    d = int(above[-1]) + 2 if above.size else 1
    return max(MIN_LEVELS, min(d, max_levels))


def estimate_cutoffs(model: Model, stop: float, names: Iterable[str], *, tol: float,
                     max_cutoff: int) -> dict[str, int]:
    """Cutoffs for the oscillators ``names`` from the Gaussian twin of ``model`` on [0, stop].

    The twin (:meth:`Model.with_qubits_as_oscillators`) is solved exactly; each
    mode gets :func:`levels_needed` at its largest |alpha|^2 and thermal
    occupation, with the top level aimed at ``SAFETY * tol``.
    """
    from ..solvers import solve  # the solver registry imports this package

    wanted = list(names)
    if not wanted:
        return {}
    grid = np.linspace(0.0, max(stop, 0.0), ESTIMATE_POINTS) if stop > 0 else np.zeros(1)
    res = solve(model.with_qubits_as_oscillators(), grid, method="gaussian")
    fluct = res.extra["fluctuation"][1]
    out = {}
    for name in wanted:
        i = model.index(name)
        amp2 = float(np.max(np.abs(res.amplitude[i]) ** 2))
        occ = float(np.max(fluct[i]))
        out[name] = levels_needed(amp2, occ, SAFETY * tol, max_cutoff)
    return out


def grow_cutoffs(cutoffs: Mapping[str, int], names: Iterable[str], max_cutoff: int
                 ) -> dict[str, int]:
    """Enlarge the cutoffs of ``names`` by 30 % (at least 4 levels), up to ``max_cutoff``."""
    out = dict(cutoffs)
    for name in names:
        d = out[name]
        out[name] = min(max_cutoff, max(d + 4, math.ceil(1.3 * d)))
    return out


class NeedsLargerCutoff(Exception):
    """Raised by :class:`TruncationMonitor` when an automatic cutoff must grow."""

    def __init__(self, modes: list[str], time: float) -> None:
        self.modes = modes
        self.time = time
        super().__init__(f"cutoffs of {', '.join(modes)} too small at t = {time:.4g}")


class TruncationMonitor:
    """Tracks the top-level population of every oscillator over a run.

    Args:
        space: the truncated space.
        options: solver options (``truncation_tol``, ``on_truncation``, ``max_cutoff``).
        auto: names of the oscillators whose cutoff was chosen automatically; while
            below ``max_cutoff`` they make :meth:`check` raise
            :class:`NeedsLargerCutoff` instead of failing.
    """

    def __init__(self, space: FockSpace, options: SolverOptions, auto: Iterable[str] = ()
                 ) -> None:
        self.space = space
        self.tol = options.truncation_tol
        self.policy = options.on_truncation
        self.max_cutoff = options.max_cutoff
        self.auto = set(auto)
        n = len(space.dims)
        self.max_tail = np.zeros(n)
        self.worst_time = np.zeros(n)
        self.exceeded: dict[int, tuple[float, float]] = {}

    def message(self, i: int, time: float, tail: float) -> str:
        """One line naming the mode, the time and the tail, and what to do."""
        name, d = self.space.names[i], self.space.dims[i]
        if name in self.auto:
            hint = (f"the automatic cutoff reached max_cutoff = {self.max_cutoff}; raise "
                    "max_cutoff or shorten the run")
        else:
            hint = f"raise its cutoff (e.g. cutoff = {{{name} = {d + max(4, d // 3)}}}) " \
                   "or use cutoff = \"auto\""
        return (f"truncation: mode {name!r} has population {tail:.3g} in its top Fock level "
                f"(cutoff {d} levels) at t = {time:.6g}, above truncation_tol = {self.tol:g}; "
                f"{hint}")

    def check(self, time: float, tail: NDArray[np.float64]) -> None:
        """Record the tails at ``time``; enlarge, fail or remember as the policy says."""
        worse = tail > self.max_tail
        self.max_tail = np.where(worse, tail, self.max_tail)
        self.worst_time = np.where(worse, time, self.worst_time)
        over = np.flatnonzero(tail > self.tol)
        if not over.size:
            return
        names = [self.space.names[i] for i in over]
        grow = [n for n, i in zip(names, over, strict=True)
                if n in self.auto and self.space.dims[i] < self.max_cutoff]
        if grow:
            raise NeedsLargerCutoff(grow, time)
        for i in over:
            if self.policy == "error":
                raise TruncationError(self.message(int(i), time, float(tail[i])))
            self.exceeded.setdefault(int(i), (time, float(tail[i])))

    def finish(self) -> None:
        """Warn (``on_truncation = "warn"``) about every mode whose tail exceeded the tolerance."""
        for i in sorted(self.exceeded):
            warnings.warn(self.message(i, float(self.worst_time[i]), float(self.max_tail[i])),
                          TruncationWarning, stacklevel=4)
