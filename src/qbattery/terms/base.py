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
  the frame that follows the oscillators' mean amplitudes (``method = "displaced"``):
  its exact first-moment blocks in the rotating frame are ``drift_entries``,
  ``forcing``, and beyond the RWA ``anomalous_entries`` and ``counter_forcing``;
- ``"global"``: a dissipator the global master equation can move onto the normal
  modes (:mod:`qbattery.terms.dressed`; local thermal baths);
- ``"quadrature"``: the term provides its lab-frame blocks in quadratures
  (:meth:`Term.quadrature_blocks`, :mod:`qbattery.terms.quadrature`), so the
  Gaussian engine solves it exactly beyond the rotating-wave approximation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..envelopes import Envelope

if TYPE_CHECKING:
    from .dissipators import Jump
    from .modes import ModeKind

__all__ = ["CouplingTerm", "DissipatorTerm", "DriveTerm", "QuadratureBlocks", "Term"]

#: One entry (row, column, value) of the Gaussian drift matrix.
Entry = tuple[int, int, complex]


def dense_block(entries: Sequence[Entry], n: int) -> NDArray[np.complex128]:
    """The n x n matrix of (row, column, value) entries (repeats add)."""
    out = np.zeros((n, n), dtype=complex)
    for i, j, v in entries:
        out[i, j] += v
    return out

#: One counter-rotating entry (row, column, value w, frequency nu): d<x_row>/dt gains
#: w exp(i nu t) <x_column^dag>.
AnomalousEntry = tuple[int, int, complex, float]


@dataclass(frozen=True)
class QuadratureBlocks:
    """A term's part of the lab-frame quadrature equations (r = (x_1..x_n, p_1..p_n),
    x = (a + a^dag)/sqrt2, p = i(a^dag - a)/sqrt2; see :mod:`qbattery.terms.quadrature`).

    Attributes:
        hamiltonian: entries (k, l, h) of the symmetric matrix H_q of H = r^T H_q r / 2
            (each entry once; the assembly adds its transpose off the diagonal).
        forcing: (nu, h_nu) pairs: H gains h(t)^T r, h(t) = sum_nu exp(-i nu t) h_nu
            (real in total: h_{-nu} = conj(h_nu)).
        drift: (row, column, value) complex entries of the non-Hamiltonian drift of the
            mean amplitudes <a> (e.g. damping -gamma/2).
        noise: (row, column, value) entries of the normally ordered diffusion D_C.
    """

    hamiltonian: tuple[tuple[int, int, float], ...] = ()
    forcing: tuple[tuple[float, NDArray[np.complex128]], ...] = ()
    drift: tuple[Entry, ...] = ()
    noise: tuple[Entry, ...] = ()


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

    # -- counter-rotating first-moment blocks (with the above: capability "displaced") -----
    def anomalous_entries(self, frame: float) -> list[AnomalousEntry]:
        """(i, j, w, nu): d<x_i>/dt gains w exp(i nu t) <x_j^dag> (rotating frame of
        ``frame``; exact for oscillators; none by default)."""
        return []

    def counter_forcing(self, n: int, frame: float) -> list[tuple[float, NDArray[np.complex128]]]:
        """(detuning, b) pairs of the counter-rotating forcing: d<x>/dt gains
        exp(-i detuning t) b (the rotating part is :meth:`forcing`; none by default)."""
        return []

    def noise_entries(self) -> list[Entry]:
        """(row, column, value) entries of the diffusion matrix D (Hermitian; repeats add)."""
        return []

    # -- lab-frame quadrature blocks (capability "quadrature") -----------------------------
    def quadrature_blocks(self, n: int) -> QuadratureBlocks:
        """The term's blocks of the quadrature equations (``n`` modes; none by default)."""
        return QuadratureBlocks()

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


def _smooth(envelope: Envelope | None) -> bool:
    """Whether ``envelope`` varies between its breakpoints (the quadrature path's exact
    propagators need constant segments)."""
    return envelope is not None and not envelope.piecewise_constant


_SMOOTH = "its envelope varies smoothly; the exact quadrature propagators need constant segments"


class _Enveloped(Term):
    """A term that may carry an envelope (a dataclass field of its subclasses): no
    ``quadrature`` when it varies smoothly."""

    envelope: Envelope | None

    def provides(self, capability: str) -> bool:
        """As the class says; not ``quadrature`` with a smoothly varying envelope."""
        return capability in self.capabilities and not (capability == "quadrature"
                                                        and _smooth(self.envelope))

    def refusal(self, capability: str) -> str:
        """The term, and why (a smooth envelope for ``quadrature``)."""
        if capability == "quadrature" and _smooth(self.envelope):
            return f"{self.label} ({type(self).__name__}; {_SMOOTH})"
        return self.describe()


@dataclass(frozen=True)
class CouplingTerm(_Enveloped):
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

    def anomalous_pairs(self) -> list[tuple[int, int]]:
        """Pairs (i, j) whose anomalous moment <x_i x_j> (rotating frame) the power needs
        (engines record them, :attr:`CompiledModel.anomalous_pairs`); none by default."""
        return []

    def factor(self, times: NDArray[np.float64]) -> NDArray[np.float64] | float:
        """The envelope f(t) at ``times`` (1 without one)."""
        return 1.0 if self.envelope is None else self.envelope(times)

    def power(self, frequencies: NDArray[np.float64], pair: NDArray[np.complex128],
              times: NDArray[np.float64], *, anomalous: NDArray[np.complex128] | None = None,
              frame: float = 0.0) -> NDArray[np.float64]:
        """Power into the local energies, given the pair coherence at ``times`` (and the
        anomalous moment of :meth:`anomalous_pairs`, rotating frame of ``frame``)."""
        raise NotImplementedError(f"{self.describe()} does not report its power")

    def interaction_energy(self, pair: NDArray[np.complex128], times: NDArray[np.float64], *,
                           anomalous: NDArray[np.complex128] | None = None,
                           frame: float = 0.0) -> NDArray[np.float64]:
        """<H_c>(t), the energy held in the coupling (not in the local energies)."""
        raise NotImplementedError(f"{self.describe()} does not report its energy")

    @classmethod
    def powers(cls, terms: Sequence[CouplingTerm], frequencies: NDArray[np.float64],
               pairs: NDArray[np.complex128], times: NDArray[np.float64], *,
               anomalous: NDArray[np.complex128] | None = None, frame: float = 0.0
               ) -> NDArray[np.float64]:
        """(terms, times) powers of several couplings of this class (a loop by default;
        ``anomalous`` (terms, times): each term's anomalous moment, where it has one)."""
        rows = [None] * len(terms) if anomalous is None else list(anomalous)
        return np.array([t.power(frequencies, p, times, anomalous=a, frame=frame)
                         for t, p, a in zip(terms, pairs, rows, strict=True)])


@dataclass(frozen=True)
class DriveTerm(_Enveloped):
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

    #: Whether :meth:`heat_current` follows from moments (False: the engine measures it
    #: on the state and hands it on, ``EngineOutput.heat``; the Bloch-Redfield bath).
    moment_heat: ClassVar[bool] = True

    def eigenbasis_spectrum(self) -> Callable[[NDArray[np.float64]], NDArray[np.float64]] | None:
        """S(w) of a dissipator that acts in the eigenbasis of the undriven Hamiltonian
        (Bloch-Redfield; the density engines build its operators from it,
        :mod:`qbattery.hilbert.redfield`); None for one given by its :meth:`jumps`."""
        return None

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

    def amplitude_decay(self, kind: ModeKind) -> float | None:
        """kappa in D^dag(x) = -kappa x for the mode it acts on alone (a density engine's
        system heat, :func:`qbattery.terms.entropy.moment_system_heat`); None for a
        dissipator on several modes or one that does not damp x linearly."""
        return None

    def quadrature_blocks(self, n: int) -> QuadratureBlocks:
        """Its normally ordered drift and diffusion (``drift_entries``, ``noise_entries``):
        a phase-covariant dissipator has the same blocks in the quadrature picture."""
        return QuadratureBlocks(drift=tuple(self.drift_entries(0.0)),
                                noise=tuple(self.noise_entries()))

    def alone_occupation(self, initial: float, times: NDArray[np.float64]
                         ) -> NDArray[np.float64] | None:
        """The occupation of its mode under this dissipator alone (for cutoff estimates)."""
        return None
