r"""Coupling forms between two modes.

:class:`Exchange`: g (x_i x_j^dag + x_i^dag x_j), the rotating-wave (beam-splitter
or Jaynes-Cummings) coupling. Gaussian block: d<x_i>/dt gains -i g <x_j> and vice
versa, i.e. A_ij = A_ji = -i g in the drift matrix. The energy it moves between
the local energies is P = -2 g (omega_i - omega_j) Im <x_j^dag x_i> (zero between
resonant modes).

:class:`Dipole`: g (x_i + x_i^dag)(x_j + x_j^dag) = exchange + g (x_i x_j + x_i^dag x_j^dag),
beyond the rotating-wave approximation (for a qubit x = sigma_-: the Rabi coupling
g sigma_x (a + a^dag)). In the frame rotating at omega_r (x -> x e^{-i omega_r t}) the
counter-rotating part is exp(i delta t) V + h.c. with V = g x_i^dag x_j^dag,
delta = 2 omega_r. Its power into the local energies (lab frame, <x_i x_j>_lab =
e^{-2 i omega_r t} <x_i x_j>_rot):

    P = -2 g [(omega_i + omega_j) Im <x_i x_j>_lab + (omega_i - omega_j) Im <x_j^dag x_i>],

and the energy in the coupling is <H_c> = 2 g Re(<x_i x_j>_lab + <x_j^dag x_i>).
Quadrature blocks (x = (a + a^dag)/sqrt2): exchange g (x_i x_j + p_i p_j), dipole
2 g x_i x_j. The phase-covariant Gaussian blocks of a dipole coupling are its exchange
part (``drift_entries``, used by the Gaussian twin that plans the density
engines' cutoffs; the class does not declare ``"gaussian"``); the displaced frame adds
the counter-rotating first-moment block (``anomalous_entries``): d<x_i>/dt gains
-i g e^{2 i omega_r t} <x_j^dag>.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .base import AnomalousEntry, CouplingTerm, Entry, QuadratureBlocks

__all__ = ["Dipole", "Exchange"]


@dataclass(frozen=True)
class Exchange(CouplingTerm):
    """g (x_i x_j^dag + x_i^dag x_j) between modes ``i`` and ``j``."""

    capabilities = frozenset({"gaussian", "density", "displaced", "quadrature"})

    def static_hamiltonian(self, xs: Sequence[sp.spmatrix], frame: float) -> sp.spmatrix:
        """The term's Hamiltonian on a product space with lowering operators ``xs``."""
        hop = xs[self.i] @ xs[self.j].T
        return self.strength * (hop + hop.T)

    def drift_entries(self, frame: float) -> list[Entry]:
        """A_ij = A_ji = -i g."""
        return [(self.i, self.j, -1j * self.strength), (self.j, self.i, -1j * self.strength)]

    def quadrature_blocks(self, n: int) -> QuadratureBlocks:
        """H_q gains g on (x_i, x_j) and on (p_i, p_j)."""
        g = self.strength
        return QuadratureBlocks(hamiltonian=((self.i, self.j, g), (n + self.i, n + self.j, g)))

    def power(self, frequencies: NDArray[np.float64], pair: NDArray[np.complex128],
              times: NDArray[np.float64], *, anomalous: NDArray[np.complex128] | None = None,
              frame: float = 0.0) -> NDArray[np.float64]:
        """P = -2 f(t) g (omega_i - omega_j) Im <x_j^dag x_i> over time."""
        f = 1.0 if self.envelope is None else self.envelope(times)
        return np.asarray(-2.0 * f * self.strength * (frequencies[self.i] - frequencies[self.j])
                          * np.imag(pair))

    def interaction_energy(self, pair: NDArray[np.complex128], times: NDArray[np.float64], *,
                           anomalous: NDArray[np.complex128] | None = None,
                           frame: float = 0.0) -> NDArray[np.float64]:
        """<H_c> = 2 f(t) g Re <x_j^dag x_i>."""
        return np.asarray(2.0 * self.factor(times) * self.strength * np.real(pair))

    @classmethod
    def powers(cls, terms: Sequence[CouplingTerm], frequencies: NDArray[np.float64],
               pairs: NDArray[np.complex128], times: NDArray[np.float64], *,
               anomalous: NDArray[np.complex128] | None = None, frame: float = 0.0
               ) -> NDArray[np.float64]:
        """All constant exchange couplings at once (those with envelopes one by one)."""
        plain = [k for k, t in enumerate(terms) if t.envelope is None]
        if len(plain) == len(terms):  # the common case: no envelopes, no index copies
            g = np.array([t.strength for t in terms])
            i, j = np.array([t.i for t in terms]), np.array([t.j for t in terms])
            return np.asarray((-2.0 * g * (frequencies[i] - frequencies[j]))[:, None]
                              * pairs.imag)
        out = np.zeros(pairs.shape)
        if plain:
            g = np.array([terms[k].strength for k in plain])
            i = np.array([terms[k].i for k in plain])
            j = np.array([terms[k].j for k in plain])
            out[plain] = (-2.0 * g * (frequencies[i] - frequencies[j]))[:, None] \
                * np.imag(pairs[plain])
        for k, t in enumerate(terms):
            if t.envelope is not None:
                out[k] = t.power(frequencies, pairs[k], times)
        return out


@dataclass(frozen=True)
class Dipole(CouplingTerm):
    """g (x_i + x_i^dag)(x_j + x_j^dag) between modes ``i`` and ``j`` (see the module doc)."""

    capabilities = frozenset({"density", "displaced", "quadrature"})

    def static_hamiltonian(self, xs: Sequence[sp.spmatrix], frame: float) -> sp.spmatrix:
        """The exchange part g (x_i x_j^dag + x_i^dag x_j), static in the rotating frame."""
        hop = xs[self.i] @ xs[self.j].T
        return self.strength * (hop + hop.T)

    def oscillating_hamiltonian(self, xs: Sequence[sp.spmatrix], frame: float
                                ) -> list[tuple[float, sp.spmatrix]]:
        """The counter-rotating part: V = g x_i^dag x_j^dag at delta = 2 omega_r."""
        return [(2.0 * frame, self.strength * (xs[self.i].T @ xs[self.j].T))]

    def drift_entries(self, frame: float) -> list[Entry]:
        """The exchange part's A_ij = A_ji = -i g (the Gaussian twin; the displaced frame
        adds :meth:`anomalous_entries`)."""
        return [(self.i, self.j, -1j * self.strength), (self.j, self.i, -1j * self.strength)]

    def anomalous_entries(self, frame: float) -> list[AnomalousEntry]:
        """The counter-rotating part g (e^{2 i omega_r t} x_i^dag x_j^dag + h.c.):
        d<x_i>/dt gains -i g e^{2 i omega_r t} <x_j^dag>, and i <-> j."""
        w = -1j * self.strength
        return [(self.i, self.j, w, 2.0 * frame), (self.j, self.i, w, 2.0 * frame)]

    def quadrature_blocks(self, n: int) -> QuadratureBlocks:
        """H_q gains 2 g on (x_i, x_j)."""
        return QuadratureBlocks(hamiltonian=((self.i, self.j, 2.0 * self.strength),))

    def anomalous_pairs(self) -> list[tuple[int, int]]:
        """(i, j): the power needs <x_i x_j>."""
        return [(self.i, self.j)]

    def _lab(self, anomalous: NDArray[np.complex128] | None, times: NDArray[np.float64],
             frame: float) -> NDArray[np.complex128]:
        if anomalous is None:
            raise ValueError(f"{self.describe()} needs the anomalous moment <x_i x_j>")
        return np.asarray(np.exp(-2j * frame * times) * anomalous)

    def power(self, frequencies: NDArray[np.float64], pair: NDArray[np.complex128],
              times: NDArray[np.float64], *, anomalous: NDArray[np.complex128] | None = None,
              frame: float = 0.0) -> NDArray[np.float64]:
        """P = -2 f g [(w_i + w_j) Im <x_i x_j>_lab + (w_i - w_j) Im <x_j^dag x_i>]."""
        wi, wj = frequencies[self.i], frequencies[self.j]
        lab = self._lab(anomalous, times, frame)
        return np.asarray(-2.0 * self.factor(times) * self.strength
                          * ((wi + wj) * lab.imag + (wi - wj) * np.imag(pair)))

    def interaction_energy(self, pair: NDArray[np.complex128], times: NDArray[np.float64], *,
                           anomalous: NDArray[np.complex128] | None = None,
                           frame: float = 0.0) -> NDArray[np.float64]:
        """<H_c> = 2 f g Re(<x_i x_j>_lab + <x_j^dag x_i>)."""
        lab = self._lab(anomalous, times, frame)
        return np.asarray(2.0 * self.factor(times) * self.strength * (lab.real + np.real(pair)))
