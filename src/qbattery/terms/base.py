"""The base of compiled terms (couplings, drives, dissipators).

A term is one physical contribution to the master equation. It declares what
it can provide through :attr:`Term.capabilities`; an engine asks the compiled
model which terms lack the capability it needs and refuses them by name
(:meth:`qbattery.terms.CompiledModel.lacking`), so a term no engine knows is
never solved as something else.

Capabilities used by the engines:

- ``"gaussian"``: the term is linear/quadratic and provides its blocks of the
  Gaussian drift, forcing or diffusion (``method = "gaussian"``);
- ``"density"``: the term provides its operators on truncated Fock spaces
  (``method = "fock"``);
- ``"displaced"``: the displaced-frame equations know how to move the term into
  the frame that follows the oscillators' mean amplitudes (``method = "displaced"``);
- ``"global"``: a dissipator the global master equation can move onto the normal
  modes (:mod:`qbattery.terms.dressed`; local thermal baths).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..envelopes import Envelope

if TYPE_CHECKING:
    from .dissipators import Jump
    from .modes import ModeKind

__all__ = ["CouplingTerm", "DissipatorTerm", "DriveTerm", "Term"]

#: One entry (row, column, value) of the Gaussian drift matrix.
Entry = tuple[int, int, complex]


@dataclass(frozen=True)
class Term:
    """One compiled term.

    Args:
        label: where it came from in the model, e.g. ``"couplings[1]"``.
    """

    label: str

    #: What the term provides (see the module doc).
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def describe(self) -> str:
        """``label (ClassName)``, the name used when an engine refuses the term."""
        return f"{self.label} ({type(self).__name__})"

    def provides(self, capability: str) -> bool:
        """Whether the term provides ``capability`` (by default: its class's
        ``capabilities``; a term whose capabilities depend on its modes overrides this)."""
        return capability in self.capabilities

    def refusal(self, capability: str) -> str:
        """How an engine that needs ``capability`` names the term when refusing it
        (:meth:`describe`, and why, where the term knows)."""
        return self.describe()

    # -- Gaussian blocks (capability "gaussian"); the defaults contribute nothing ----------
    def drift_entries(self, frame: float) -> list[Entry]:
        """Entries of the drift matrix A (rotating frame of ``frame``)."""
        return []

    def forcing(self, n: int, frame: float) -> list[tuple[float, NDArray[np.complex128]]]:
        """(detuning, b) pairs: d alpha/dt gains exp(-i detuning t) b."""
        return []

    def noise_entries(self) -> list[Entry]:
        """(row, column, value) entries of the diffusion matrix D (Hermitian; repeats add)."""
        return []

    # -- operators on truncated spaces (capability "density") -----------------------------
    def static_hamiltonian(self, xs: Sequence[sp.spmatrix], frame: float) -> sp.spmatrix | None:
        """The time-independent part of the term's Hamiltonian in the rotating frame."""
        return None

    def oscillating_hamiltonian(self, xs: Sequence[sp.spmatrix], frame: float
                                ) -> list[tuple[float, sp.spmatrix]]:
        """(delta, V) pairs: the Hamiltonian gains exp(i delta t) V + exp(-i delta t) V^dag."""
        return []

    def jumps(self) -> list[Jump]:
        """Collapse operators."""
        return []


@dataclass(frozen=True)
class CouplingTerm(Term):
    """A coupling between modes ``i`` and ``j``; it reports the energy it moves between
    their local energies from the pair coherence <x_j^dag x_i>."""

    i: int
    j: int
    strength: float
    envelope: Envelope | None = None

    @property
    def modes(self) -> tuple[int, int]:
        """The two mode indices."""
        return self.i, self.j

    def scaled(self, factor: float) -> CouplingTerm:
        """The same coupling with constant strength ``factor * strength`` (no envelope)."""
        return replace(self, strength=factor * self.strength, envelope=None)

    def pair_operator(self, xs: Sequence[sp.spmatrix]) -> sp.spmatrix:
        """x_j^dag x_i on the product space (its mean is the pair coherence)."""
        return xs[self.j].T @ xs[self.i]

    def power(self, frequencies: NDArray[np.float64], pair: NDArray[np.complex128],
              times: NDArray[np.float64]) -> NDArray[np.float64]:
        """Power into the local energies, given the pair coherence at ``times``."""
        raise NotImplementedError(f"{self.describe()} does not report its power")

    @classmethod
    def powers(cls, terms: Sequence[CouplingTerm], frequencies: NDArray[np.float64],
               pairs: NDArray[np.complex128], times: NDArray[np.float64]
               ) -> NDArray[np.float64]:
        """(terms, times) powers of several couplings of this class (a loop by default)."""
        return np.array([t.power(frequencies, p, times) for t, p in zip(terms, pairs,
                                                                         strict=True)])


@dataclass(frozen=True)
class DriveTerm(Term):
    """A coherent drive on mode ``mode`` at ``frequency``."""

    mode: int
    amplitude: float
    frequency: float
    envelope: Envelope | None = None

    def scaled(self, factor: float) -> DriveTerm:
        """The same drive with constant amplitude ``factor * amplitude`` (no envelope)."""
        return replace(self, amplitude=factor * self.amplitude, envelope=None)

    def power(self, frequency: float, amplitude: NDArray[np.complex128],
              times: NDArray[np.float64], frame: float) -> NDArray[np.float64]:
        """Power injected into the local energy of its mode, given <x> (rotating frame)."""
        raise NotImplementedError(f"{self.describe()} does not report its power")


@dataclass(frozen=True)
class DissipatorTerm(Term):
    """A dissipator on mode ``mode`` (a dissipator on several modes: the first of them).

    Its heat current is J = -sum_i omega_i Tr(x_i^dag x_i D(rho)), the energy it takes
    from the local energies (:meth:`heat_current`)."""

    mode: int

    def pairs(self) -> list[tuple[int, int]]:
        """Pairs (i, j) whose coherence <x_j^dag x_i> the heat current needs (the engines
        record them after the couplings' pairs, :attr:`CompiledModel.pairs`)."""
        return []

    def heat_current(self, frequencies: NDArray[np.float64], kinds: Sequence[ModeKind],
                     occupation: NDArray[np.float64], pair: NDArray[np.complex128]
                     ) -> NDArray[np.float64]:
        """Heat current into the environment over time, given every mode's <x^dag x>
        (modes, times) and the coherences of :meth:`pairs` (pairs, times); by default
        :meth:`heat` of its one mode."""
        return self.heat(float(frequencies[self.mode]), kinds[self.mode],
                         occupation[self.mode])

    def heat(self, frequency: float, kind: ModeKind, occupation: NDArray[np.float64]
             ) -> NDArray[np.float64]:
        """Heat current into the environment, given the mode's <x^dag x> over time."""
        raise NotImplementedError(f"{self.describe()} does not report its heat")

    def temperature(self, frequencies: NDArray[np.float64]) -> float | None:
        """The bath temperature T > 0 of a thermal dissipator (for the entropy
        production), else None."""
        return None

    def alone_occupation(self, initial: float, times: NDArray[np.float64]
                         ) -> NDArray[np.float64] | None:
        """The occupation of its mode under this dissipator alone (for cutoff estimates)."""
        return None
