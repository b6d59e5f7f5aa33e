r"""The compiled model: a :class:`~qbattery.model.Model` as typed terms every engine reads.

:func:`compile_model` turns the declarative model (names, kinds as strings,
TOML-shaped tables) into indices and term objects, once per solve:

- ``modes``: :class:`ModeTerm` (index, name, frequency, initial state, and its
  :class:`~qbattery.terms.modes.ModeKind`);
- ``couplings``, ``drives``, ``dissipators``: :class:`~qbattery.terms.base.Term`
  objects in model order (their ``label`` is the model field they came from).

The Gaussian picture (rotating frame of ``frame_frequency``; x = a):

    d alpha/dt = A alpha + sum_delta exp(-i delta t) b_delta,
    d C/dt     = A C + C A^dag + D,

with A = -i M - Gamma/2 assembled from the terms' blocks (:meth:`CompiledModel.drift`),
the forcing vectors b_delta grouped by detuning (:meth:`CompiledModel.forcing`)
and the diffusion matrix (:meth:`CompiledModel.diffusion`; its diagonal
:meth:`CompiledModel.noise`). It is exact when every
mode kind and term is Gaussian (:meth:`CompiledModel.gaussian_reason`), and is
the "Gaussian twin" (qubits replaced by oscillators, :meth:`CompiledModel.twin`)
that the density-matrix engines use to plan their cutoffs.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..model import Model
from .base import CouplingTerm, DissipatorTerm, DriveTerm, Term
from .correlated import CorrelatedBath, Dephasing
from .couplings import Dipole, Exchange
from .dissipators import Jump, ThermalBath
from .drives import LinearDrive, RotatingDrive
from .modes import MODE_KINDS, ModeKind

__all__ = ["COUPLING_FORMS", "DRIVE_FORMS", "CompiledModel", "ModeTerm", "compile_model",
           "compiled"]

#: The term class of each coupling form and drive form of the model.
COUPLING_FORMS: dict[str, type[CouplingTerm]] = {"exchange": Exchange, "dipole": Dipole}
DRIVE_FORMS: dict[str, type[DriveTerm]] = {"rotating": RotatingDrive, "linear": LinearDrive}


@dataclass(frozen=True)
class ModeTerm:
    """One mode of the compiled model."""

    index: int
    name: str
    kind: ModeKind
    frequency: float
    initial_occupation: float
    initial_amplitude: complex

    def describe(self) -> str:
        """``modes[i] (kind name)``, the name used when an engine refuses the mode."""
        return f"modes[{self.index}] {self.name!r} ({self.kind.name})"


@dataclass(frozen=True, eq=False)
class CompiledModel:
    """A model as terms (see the module doc). Build it with :func:`compile_model`."""

    model: Model
    modes: tuple[ModeTerm, ...]
    couplings: tuple[CouplingTerm, ...]
    drives: tuple[DriveTerm, ...]
    dissipators: tuple[DissipatorTerm, ...]
    frame_frequency: float

    # -- structure ------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Mode names in order."""
        return tuple(m.name for m in self.modes)

    def index(self, name: str) -> int:
        """Position of the mode called ``name`` (as :meth:`Model.index`)."""
        return self.model.index(name)

    @cached_property
    def frequencies(self) -> NDArray[np.float64]:
        """omega_i of every mode."""
        return np.array([m.frequency for m in self.modes], dtype=float)

    def terms(self) -> Iterator[Term]:
        """Every coupling, drive and dissipator."""
        yield from self.couplings
        yield from self.drives
        yield from self.dissipators

    def modulated(self) -> list[CouplingTerm | DriveTerm]:
        """The terms with an envelope (time-dependent coefficients)."""
        terms: list[CouplingTerm | DriveTerm] = [*self.couplings, *self.drives]
        return [t for t in terms if t.envelope is not None]

    def unmodulated(self) -> CompiledModel:
        """The model without its terms that have an envelope (the constant part)."""
        return replace(self, couplings=tuple(c for c in self.couplings if c.envelope is None),
                       drives=tuple(d for d in self.drives if d.envelope is None))

    def breakpoints(self, start: float, stop: float) -> list[float]:
        """Every envelope's breakpoints strictly inside (start, stop), sorted."""
        points = {b for t in self.modulated() if t.envelope is not None
                  for b in t.envelope.breakpoints()}
        return sorted(b for b in points if start < b < stop)

    def frozen(self, start: float, stop: float) -> CompiledModel | None:
        """The model on [start, stop] with every envelope replaced by its constant value,
        or None if some envelope is not constant there (between adjacent breakpoints)."""
        values: dict[int, float] = {}
        for t in self.modulated():
            assert t.envelope is not None
            c = t.envelope.constant_between(start, stop)
            if c is None:
                return None
            values[id(t)] = c

        def fix(t: Any) -> Any:
            return t.scaled(values[id(t)]) if id(t) in values else t

        return replace(self, couplings=tuple(fix(c) for c in self.couplings),
                       drives=tuple(fix(d) for d in self.drives))

    def lacking(self, capability: str) -> list[str]:
        """Descriptions of the terms that do not provide ``capability``."""
        if capability not in self._lacking:  # engines ask on every solve: keep the answer
            self._lacking[capability] = [t.refusal(capability) for t in self.terms()
                                         if not t.provides(capability)]
        return list(self._lacking[capability])

    @cached_property
    def _lacking(self) -> dict[str, list[str]]:
        return {}

    def gaussian_reason(self) -> str | None:
        """None if the model is linear (Gaussian moments are exact), else why not."""
        kinds: dict[str, list[str]] = {}
        for m in self.modes:
            if not m.kind.gaussian:
                kinds.setdefault(m.kind.name, []).append(m.name)
        terms = self.lacking("gaussian")
        if not kinds and not terms:
            return None
        parts = []
        if kinds:
            parts.append("every mode must be Gaussian (an oscillator); " + "; ".join(
                f"{kind}s: {', '.join(names)}" for kind, names in kinds.items()))
        if terms:
            parts.append("every term must be linear/quadratic (keep Gaussian states Gaussian)"
                         "; not: " + ", ".join(terms))
        return "; ".join(parts)

    @property
    def truncated(self) -> tuple[int, ...]:
        """Indices of the unbounded modes (engines truncate and check them)."""
        return tuple(m.index for m in self.modes if m.kind.truncated)

    def jumps(self) -> list[Jump]:
        """Collapse operators of every term, in order."""
        return [j for t in self.terms() for j in t.jumps()]

    @cached_property
    def pairs(self) -> tuple[tuple[int, int], ...]:
        """The pairs (i, j) whose coherence <x_j^dag x_i> the engines record: each
        coupling's, in order, then those the dissipators' heat currents need
        (:meth:`DissipatorTerm.pairs`, in order)."""
        return (*(c.modes for c in self.couplings),
                *(p for d in self.dissipators for p in d.pairs()))

    @cached_property
    def anomalous_pairs(self) -> tuple[tuple[int, int], ...]:
        """The pairs (i, j) whose anomalous moment <x_i x_j> (rotating frame) the engines
        record: the couplings' (:meth:`CouplingTerm.anomalous_pairs`), in order."""
        return tuple(p for c in self.couplings for p in c.anomalous_pairs())

    def coupling_anomalous(self, anomalous: NDArray[np.complex128] | None, n_times: int
                           ) -> NDArray[np.complex128] | None:
        """(couplings, times) each coupling's anomalous moment (zero where it has none),
        from the engine's rows of :attr:`anomalous_pairs`; None when no coupling needs one."""
        if not self.anomalous_pairs:
            return None
        if anomalous is None:
            raise ValueError("the engine did not record the anomalous moments <x_i x_j>")
        out = np.zeros((len(self.couplings), n_times), dtype=complex)
        row = 0
        for k, c in enumerate(self.couplings):
            if c.anomalous_pairs():
                out[k] = anomalous[row]
                row += 1
        return out

    # -- the Gaussian picture -------------------------------------------------------------
    def drift_entries(self) -> tuple[NDArray[np.int64], NDArray[np.int64],
                                     NDArray[np.complex128]]:
        """(rows, cols, values) of A = -i M - Gamma/2 from the terms' blocks (repeats add)."""
        wr = self.frame_frequency
        entries = [(m.index, m.index, -1j * (m.frequency - wr)) for m in self.modes]
        for t in self.terms():
            entries += t.drift_entries(wr)
        rows, cols, vals = zip(*entries, strict=True)
        return np.array(rows), np.array(cols), np.array(vals, dtype=complex)

    def drift(self) -> sp.csr_matrix:
        """A = -i M - Gamma/2 in the rotating frame (sparse, n x n; built once, do not
        modify it)."""
        return self._drift

    @cached_property
    def _drift(self) -> sp.csr_matrix:
        n = len(self.modes)
        rows, cols, vals = self.drift_entries()
        return sp.csr_matrix((vals, (rows, cols)), shape=(n, n))

    def drift_dense(self) -> NDArray[np.complex128]:
        """A as a dense array (small networks)."""
        n = len(self.modes)
        rows, cols, vals = self.drift_entries()
        out = np.zeros((n, n), dtype=complex)
        np.add.at(out, (rows, cols), vals)
        return out

    def forcing(self) -> dict[float, NDArray[np.complex128]]:
        """Forcing vectors b_delta keyed by their detuning from the frame."""
        n = len(self.modes)
        groups: dict[float, NDArray[np.complex128]] = {}
        for t in self.terms():
            for delta, b in t.forcing(n, self.frame_frequency):
                groups[delta] = groups[delta] + b if delta in groups else b
        return groups

    def noise(self) -> NDArray[np.float64]:
        """Diagonal of the diffusion matrix D (gamma N per bathed mode)."""
        return np.asarray(self.diffusion().diagonal().real)

    def diffusion(self) -> sp.csr_matrix:
        """The diffusion matrix D (sparse, Hermitian; off-diagonal for correlated baths;
        built once, do not modify it)."""
        return self._diffusion

    @cached_property
    def _diffusion(self) -> sp.csr_matrix:
        n = len(self.modes)
        entries = [e for t in self.terms() for e in t.noise_entries()]
        if not entries:
            return sp.csr_matrix((n, n), dtype=complex)
        rows, cols, vals = zip(*entries, strict=True)
        return sp.csr_matrix((np.array(vals, dtype=complex), (rows, cols)), shape=(n, n))

    def initial_amplitudes(self) -> NDArray[np.complex128]:
        """alpha(0) of the model's own initial state."""
        return np.array([m.initial_amplitude for m in self.modes], dtype=complex)

    def initial_occupations(self) -> NDArray[np.float64]:
        """Thermal occupations (qubits: excited populations) of the model's initial state."""
        return np.array([m.initial_occupation for m in self.modes], dtype=float)

    def twin(self) -> CompiledModel:
        """The Gaussian twin: every non-Gaussian mode replaced by an oscillator."""
        osc = MODE_KINDS["oscillator"]
        modes = tuple(m if m.kind.gaussian else replace(m, kind=osc) for m in self.modes)
        return replace(self, modes=modes)


def compile_model(model: Model) -> CompiledModel:
    """Compile ``model`` into terms (see the module doc).

    A model is immutable, so its compiled form is kept on it: a solve in a loop
    over the same model compiles once.
    """
    cached = model.__dict__.get("_compiled")
    if isinstance(cached, CompiledModel):
        return cached
    problem = _compile(model)
    object.__setattr__(model, "_compiled", problem)
    return problem


def _compile(model: Model) -> CompiledModel:
    index = {m.name: i for i, m in enumerate(model.modes)}
    modes = tuple(ModeTerm(i, m.name, MODE_KINDS[m.kind], m.frequency, m.initial_occupation,
                           m.initial_amplitude) for i, m in enumerate(model.modes))
    couplings = tuple(COUPLING_FORMS[c.form](f"couplings[{k}]", index[c.between[0]],
                                             index[c.between[1]], c.strength, c.envelope)
                      for k, c in enumerate(model.couplings))
    drives = tuple(_drive(k, index[d.mode], d) for k, d in enumerate(model.drives))
    dissipators: tuple[DissipatorTerm, ...] = tuple(
        ThermalBath(f"baths[{k}]", index[b.mode], b.rate,
                    b.occupation_at(model.modes[index[b.mode]].frequency), b.spectral_density)
        for k, b in enumerate(model.baths))
    for k, d in enumerate(model.dissipators):
        weights = tuple((index[name], c) for name, c in d.jump)
        gaussian = {modes[i].kind.gaussian for i, _ in weights}
        occupation = d.occupation_at([modes[i].frequency for i, _ in weights])
        dissipators += (CorrelatedBath(f"dissipators[{k}]", weights[0][0], weights, d.rate,
                                       occupation, mixed=len(gaussian) > 1),)
    dissipators += tuple(
        Dephasing(f"dephasing[{k}]", index[p.mode], p.rate,
                  displaced=not modes[index[p.mode]].kind.gaussian)
        for k, p in enumerate(model.dephasing))
    return CompiledModel(model, modes, couplings, drives, dissipators, model.frame_frequency)


def _drive(k: int, mode: int, d: Any) -> DriveTerm:
    """The term of drive ``k`` (a phase only for the forms that have one)."""
    extra = {"phase": d.phase} if d.phase else {}
    return DRIVE_FORMS[d.form](f"drives[{k}]", mode, d.amplitude, d.frequency, d.envelope,
                               **extra)


def compiled(model: Model | CompiledModel) -> CompiledModel:
    """``model`` compiled (a compiled model is returned as it is)."""
    return model if isinstance(model, CompiledModel) else compile_model(model)
