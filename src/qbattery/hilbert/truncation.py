r"""Choosing Fock cutoffs and making sure they were large enough.

*Estimate.* With the qubits replaced by oscillators the network is Gaussian
and solved in closed form; each oscillator's reduced state is then a displaced
thermal state, whose Fock distribution is exact:

    P(m) = n^m / (1 + n)^(m+1) exp(-|alpha|^2 / (1 + n)) L_m(-|alpha|^2 / (n (1 + n)))

(Poisson for n = 0). The cutoff is the smallest number of levels whose top
level holds less than a tenth of the tolerance at the worst |alpha|^2 and n of
the run. For qubit models this is an estimate, not a bound.

*Check.* Whatever the cutoffs, the engine reports every oscillator's Fock
distribution at every integrator step and output time to a
:class:`TruncationMonitor`. When the top level holds more than
``truncation_tol``, an automatic cutoff is enlarged (extrapolating the decay
of the distribution's top levels) and the run restarted; a fixed one raises
:class:`TruncationError` (or warns with :class:`TruncationWarning` when the
user opted in).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import gammaln, logsumexp

from ..errors import IntegrationError, ModelError, TruncationError, TruncationWarning
from ..model import Model
from ..options import SolverOptions
from ..terms import CompiledModel, compiled
from ..terms.linear import TwinBounds, twin_bounds
from .space import FockSpace

__all__ = [
    "CutoffPlan",
    "NeedsLargerCutoff",
    "TruncationMonitor",
    "estimate_cutoffs",
    "extrapolate_levels",
    "levels_needed",
    "number_distribution",
    "plan_cutoffs",
]

#: The estimate aims at this fraction of the tolerance in the top level.
SAFETY = 0.1
#: Fewest levels an automatic cutoff uses.
MIN_LEVELS = 3
#: Largest error in the trace or negative population accepted from the integrator.
STATE_TOL = 1e-6


@dataclass(frozen=True)
class CutoffPlan:
    """Which oscillators have a fixed cutoff and which are chosen automatically."""

    fixed: dict[str, int]
    auto: tuple[str, ...]


def plan_cutoffs(model: Model | CompiledModel, cutoff: object) -> CutoffPlan:
    """Resolve ``SolverOptions.cutoff`` ("auto", an int, or {mode: int}) for ``model``.

    Modes missing from a table are chosen automatically. A qubit may appear in
    a table only with 2 levels.
    """
    problem = compiled(model)
    osc = [problem.names[i] for i in problem.truncated]
    if cutoff == "auto":
        return CutoffPlan({}, tuple(osc))
    if isinstance(cutoff, int) and not isinstance(cutoff, bool):
        return CutoffPlan(dict.fromkeys(osc, cutoff), ())
    if isinstance(cutoff, Mapping):
        fixed = {}
        for name, levels in cutoff.items():
            if name not in problem.names:
                raise ModelError(f"cutoff.{name}", f"unknown mode {name!r}; modes are "
                                 + ", ".join(problem.names))
            kind = problem.modes[problem.index(name)].kind
            if kind.levels is not None:
                if levels != kind.levels:
                    raise ModelError(f"cutoff.{name}", f"{name!r} is a {kind.name} "
                                     f"({kind.levels} levels), got {levels!r}")
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
    if 1.0 - p.sum() > tol:  # mass beyond max_levels
        return max_levels
    above = np.flatnonzero(p > tol)
    d = int(above[-1]) + 2 if above.size else 1
    return max(MIN_LEVELS, min(d, max_levels))


def estimate_cutoffs(model: Model | CompiledModel, stop: float, names: Iterable[str], *,
                     tol: float, max_cutoff: int, twin: TwinBounds | None = None
                     ) -> dict[str, int]:
    """Cutoffs for the modes ``names`` from the Gaussian twin of ``model`` on [0, stop].

    The twin (:meth:`CompiledModel.twin`) is solved exactly (or its bounds are
    given: ``twin``, e.g. from a run that continues from a handed-on state);
    each mode gets :func:`levels_needed` at its largest |alpha|^2 and its largest
    thermal occupation, with the top level aimed at ``SAFETY * tol``. A qubit
    passes less noise on than an oscillator would, so a mode's own bath can
    heat it more than in the twin: for models with finite-level modes the
    occupation used is at least that of the mode alone with its bath,
    N + (n0 - N) exp(-gamma t).
    """
    wanted = list(names)
    if not wanted:
        return {}
    problem = compiled(model)
    if twin is None:
        twin = twin_bounds(problem, stop, problem.initial_amplitudes(),
                           problem.initial_occupations().astype(complex))
    nonlinear = any(not m.kind.gaussian for m in problem.modes)
    out = {}
    for name in wanted:
        i = problem.index(name)
        occ = float(twin.fluctuation[i])
        if nonlinear:
            occ = max(occ, float(twin.alone[i]))
        out[name] = levels_needed(float(twin.amplitude2[i]), occ, SAFETY * tol, max_cutoff)
    return out


def extrapolate_levels(dim: int, top: NDArray[np.float64], target: float, max_cutoff: int
                       ) -> int:
    """Levels at which the top population would fall to ``target``.

    ``top`` holds the populations of the three highest levels of a ``dim``-level
    mode; the decay ratio r = p[d-2] / p[d-3] (the top level itself is distorted
    by the truncation) is extrapolated geometrically, p[d-1+k] ~ p[d-1] r^k.
    The result grows by at least 2 levels and at most doubles, within max_cutoff.
    """
    tail = float(top[-1])
    ratio = float(top[-2] / top[-3]) if top[-3] > 0 else 0.5
    ratio = min(max(ratio, 0.05), 0.95)
    extra = math.ceil(math.log(target / tail) / math.log(ratio)) if tail > target else 0
    return min(max_cutoff, max(dim + 2, min(dim + extra, 2 * dim)))


class NeedsLargerCutoff(Exception):
    """Raised by :class:`TruncationMonitor` when automatic cutoffs must grow.

    Attributes:
        cutoffs: the suggested new levels of the modes that must grow.
        time: when the need was detected.
    """

    def __init__(self, cutoffs: dict[str, int], time: float) -> None:
        self.cutoffs = cutoffs
        self.time = time
        super().__init__("cutoffs too small: "
                         + ", ".join(f"{n} -> {d}" for n, d in cutoffs.items()))


class TruncationMonitor:
    """Tracks the top-level population of every oscillator over a run.

    Args:
        space: the truncated space.
        options: solver options (``truncation_tol``, ``on_truncation``, ``max_cutoff``).
        auto: names of the oscillators whose cutoff was chosen automatically.
            While below ``max_cutoff`` their excess is recorded (the run goes on,
            to learn the largest tail) and :meth:`finish` raises
            :class:`NeedsLargerCutoff` with extrapolated cutoffs; beyond
            ``ABORT`` times the tolerance :meth:`check` raises it at once.

    Fixed cutoffs (and automatic ones at ``max_cutoff``) follow ``on_truncation``:
    :class:`TruncationError` at the first excess, or one
    :class:`TruncationWarning` per mode from :meth:`finish`.
    """

    #: An automatic cutoff whose tail exceeds the tolerance this much stops the run at once.
    ABORT = 1e3

    #: Automatic cutoffs grow so that the new top level would hold this fraction of
    #: the tolerance (extrapolated from the top of the distribution).
    TARGET = SAFETY

    def __init__(self, space: FockSpace, options: SolverOptions, auto: Iterable[str] = ()
                 ) -> None:
        self.space = space
        self.tol = options.truncation_tol
        self.policy = options.on_truncation
        self.max_cutoff = options.max_cutoff
        self.auto = set(auto)
        n = len(space.dims)
        self.growable = np.array([space.names[i] in self.auto and space.dims[i] < self.max_cutoff
                                  for i in range(n)])
        self.max_tail = np.zeros(n)
        self.worst_time = np.zeros(n)
        self.worst_top = np.zeros((n, 3))
        self.exceeded: set[int] = set()

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

    def _suggest(self, modes: Iterable[int]) -> dict[str, int]:
        return {self.space.names[i]: extrapolate_levels(
                    self.space.dims[i], self.worst_top[i], self.TARGET * self.tol,
                    self.max_cutoff)
                for i in modes}

    def check(self, time: float, populations: Sequence[NDArray[np.float64]]) -> None:
        """Record the Fock distributions of every mode at ``time`` (see the class doc).

        Also refuses a state that is no longer a state (trace off 1, or negative
        populations, by more than ``STATE_TOL``): a numerical failure.
        """
        total = float(populations[0].sum())
        lowest = min(float(p.min()) for p in populations)
        if not abs(total - 1.0) <= STATE_TOL or not lowest >= -STATE_TOL:
            raise IntegrationError(
                f"numerical failure at t = {time:.6g}: trace {total:.6g}, lowest population "
                f"{lowest:.3g}; tighten rtol/atol")
        for i in self.space.oscillators:
            p = populations[i]
            tail = float(p[-1])
            if tail > self.max_tail[i]:
                self.max_tail[i] = tail
                self.worst_time[i] = time
                self.worst_top[i, 3 - min(3, p.size):] = p[-3:]
            if tail <= self.tol:
                continue
            if self.growable[i]:
                self.exceeded.add(i)
                if tail > self.ABORT * self.tol:
                    raise NeedsLargerCutoff(self._suggest(sorted(self.exceeded)), time)
            elif self.policy == "error":
                raise TruncationError(self.message(i, time, tail))
            else:
                self.exceeded.add(i)

    def finish(self) -> None:
        """End of the run: grow automatic cutoffs, or warn about fixed ones."""
        grow = sorted(i for i in self.exceeded if self.growable[i])
        if grow:
            raise NeedsLargerCutoff(self._suggest(grow), float(self.worst_time[grow].max()))
        for i in sorted(self.exceeded):
            warnings.warn(self.message(i, float(self.worst_time[i]), float(self.max_tail[i])),
                          TruncationWarning, stacklevel=4)
