r"""Correlated baths and dephasing.

:class:`CorrelatedBath`: gamma (N + 1) D[L] + gamma N D[L^dag] with a correlated jump
L = sum_i c_i x_i (an engineered reservoir shared by several modes). For linear
x_i it keeps Gaussian states Gaussian. With D^dag[L] O = L^dag O L - {L^dag L, O}/2:

- first moments: D^dag[L] x_k = -c_k^* L / 2 and D^dag[L^dag] x_k = +c_k^* L / 2, so
  d<x_k>/dt gains -(gamma (N + 1) - gamma N) c_k^* <L> / 2: the drift is
  A_kj -= (gamma/2) c_k^* c_j, independent of N (as for a local bath, c = e_k);
- normally ordered covariance C_ij = <dx_j^dag dx_i>: D[L^dag] adds the diffusion
  D_ij = gamma N c_i^* c_j (a Hermitian, rank-one, in general non-diagonal matrix);
- heat: D^dag[L](x_i^dag x_i) = -(c_i^* x_i^dag L + h.c.)/2 and
  D^dag[L^dag](x_i^dag x_i) = (c_i^* L x_i^dag + h.c.)/2, so with
  c_i^* <L x_i^dag> = c_i^* <x_i^dag L> + |c_i|^2 <[x_i, x_i^dag]> (other modes commute),

      J = -sum_i omega_i Tr(x_i^dag x_i D(rho))
        = gamma sum_i omega_i (Re(c_i^* sum_j c_j <x_i^dag x_j>) - N |c_i|^2 <[x_i, x_i^dag]>),

  which needs the cross moments <x_i^dag x_j> of the modes in L (:meth:`pairs`).

:class:`Dephasing`: gamma_phi D[x^dag x] on one mode (a qubit: sigma_+ sigma_-).
Coherences decay, d<x>/dt = -(gamma_phi/2) <x> (and <x_j^dag x> likewise), and
populations are kept; x^dag x commutes with every local energy, so its heat
current is zero (it still changes the coupling energy g <x y^dag + h.c.>, which
the local energies do not count). It is not Gaussian for an oscillator: the second
moments gain gamma_phi |<x>|^2 (the coherent part turns incoherent), which no drift
and diffusion of the Gaussian form hold, and the state leaves the Gaussian family.
Its drift entry (exact for the first moments) is given for the Gaussian twin that
plans the density engines' cutoffs; the Gaussian engine refuses it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .base import DissipatorTerm, Entry
from .dissipators import Jump
from .modes import ModeKind

__all__ = ["CorrelatedBath", "Dephasing"]


@dataclass(frozen=True)
class CorrelatedBath(DissipatorTerm):
    """gamma (N + 1) D[L] + gamma N D[L^dag], L = sum_i c_i x_i (``weights`` ((i, c_i), ...)).

    ``mixed``: L holds both displaced (Gaussian) modes and modes the displaced frame
    does not move (qubits); the frame's equations do not cover that case.
    """

    weights: tuple[tuple[int, complex], ...]
    rate: float
    occupation: float
    mixed: bool = False

    capabilities = frozenset({"gaussian", "density", "displaced", "quadrature"})

    def provides(self, capability: str) -> bool:
        """As the class says, but not ``displaced`` when L mixes oscillators and qubits."""
        return capability in self.capabilities and not (capability == "displaced"
                                                        and self.mixed)

    def refusal(self, capability: str) -> str:
        """The term, and why the displaced frame cannot move it."""
        if capability == "displaced" and self.mixed:
            return (f"{self.label} ({type(self).__name__}; its jump mixes displaced "
                    "oscillators and qubits)")
        return self.describe()

    def jumps(self) -> list[Jump]:
        """L (rate gamma (N + 1)) and L^dag (rate gamma N); a one-mode L as a local jump."""
        if self.rate <= 0:
            return []
        if len(self.weights) == 1:  # D[c x] = |c|^2 D[x]
            (i, c), = self.weights
            out = [Jump(i, self.rate * abs(c) ** 2 * (self.occupation + 1.0))]
            if self.occupation > 0:
                out.append(Jump(i, self.rate * abs(c) ** 2 * self.occupation, raising=True))
            return out
        out = [Jump(self.mode, self.rate * (self.occupation + 1.0), weights=self.weights)]
        if self.occupation > 0:
            out.append(Jump(self.mode, self.rate * self.occupation, raising=True,
                            weights=self.weights))
        return out

    def drift_entries(self, frame: float) -> list[Entry]:
        """A_kj -= (gamma/2) c_k^* c_j."""
        if self.rate <= 0:
            return []
        return [(k, j, -0.5 * self.rate * np.conj(ck) * cj)
                for k, ck in self.weights for j, cj in self.weights]

    def noise_entries(self) -> list[Entry]:
        """D_ij += gamma N c_i^* c_j."""
        if self.rate <= 0 or self.occupation <= 0:
            return []
        g = self.rate * self.occupation
        return [(i, j, g * np.conj(ci) * cj) for i, ci in self.weights for j, cj in self.weights]

    def pairs(self) -> list[tuple[int, int]]:
        """(i, j) for every two modes of L (i before j in L)."""
        modes = [i for i, _ in self.weights]
        return [(a, b) for k, a in enumerate(modes) for b in modes[k + 1:]]

    def heat_current(self, frequencies: NDArray[np.float64], kinds: Sequence[ModeKind],
                     occupation: NDArray[np.float64], pair: NDArray[np.complex128]
                     ) -> NDArray[np.float64]:
        """gamma sum_i omega_i (Re(c_i^* sum_j c_j <x_i^dag x_j>) - N |c_i|^2 <[x_i, x_i^dag]>)."""
        moment: dict[tuple[int, int], NDArray[np.complex128]] = {}
        for (a, b), value in zip(self.pairs(), pair, strict=True):  # value = <x_b^dag x_a>
            moment[b, a], moment[a, b] = value, np.conj(value)
        out = np.zeros(occupation.shape[1])
        for i, ci in self.weights:
            n_i = occupation[i]
            cross = sum((cj * (n_i if j == i else moment[i, j]) for j, cj in self.weights),
                        np.zeros(n_i.shape, dtype=complex))
            out += frequencies[i] * (np.real(np.conj(ci) * cross)
                                     - self.occupation * abs(ci) ** 2 * kinds[i].commutator(n_i))
        return np.asarray(self.rate * out)


@dataclass(frozen=True)
class Dephasing(DissipatorTerm):
    """gamma_phi D[x^dag x] on mode ``mode``; ``displaced``: the mode is one the
    displaced frame does not move (a qubit), so the frame keeps the term as it is."""

    rate: float
    displaced: bool = True

    capabilities = frozenset({"density", "displaced"})

    def provides(self, capability: str) -> bool:
        """``density``; ``displaced`` only on a mode the frame does not displace."""
        return capability in self.capabilities and (capability != "displaced"
                                                    or self.displaced)

    def refusal(self, capability: str) -> str:
        """The term, and why the engine cannot take it."""
        why = {"gaussian": "dephasing makes an oscillator's state non-Gaussian",
               "displaced": "D[n] of a displaced oscillator is not of the frame's form"}
        if capability in why and not self.provides(capability):
            return f"{self.label} ({type(self).__name__}; {why[capability]})"
        return self.describe()

    def jumps(self) -> list[Jump]:
        """sqrt(gamma_phi) x^dag x (none at zero rate)."""
        return [Jump(self.mode, self.rate, number=True)] if self.rate > 0 else []

    def drift_entries(self, frame: float) -> list[Entry]:
        """A_kk -= gamma_phi/2: exact for the first moments (used by the Gaussian twin)."""
        return [(self.mode, self.mode, -0.5 * self.rate)] if self.rate > 0 else []

    def heat_current(self, frequencies: NDArray[np.float64], kinds: Sequence[ModeKind],
                     occupation: NDArray[np.float64], pair: NDArray[np.complex128]
                     ) -> NDArray[np.float64]:
        """Zero: x^dag x commutes with every local energy."""
        return np.zeros(occupation.shape[1])
