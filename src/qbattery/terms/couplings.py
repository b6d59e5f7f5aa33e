r"""Coupling forms between two modes.

:class:`Exchange`: g (x_i x_j^dag + x_i^dag x_j), the rotating-wave (beam-splitter
or Jaynes-Cummings) coupling. Gaussian block: d<x_i>/dt gains -i g <x_j> and vice
versa, i.e. A_ij = A_ji = -i g in the drift matrix. The energy it moves between
the local energies is P = -2 g (omega_i - omega_j) Im <x_j^dag x_i> (zero between
resonant modes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .base import CouplingTerm, Entry

__all__ = ["Exchange"]


@dataclass(frozen=True)
class Exchange(CouplingTerm):
    """g (x_i x_j^dag + x_i^dag x_j) between modes ``i`` and ``j``."""

    capabilities = frozenset({"gaussian", "density", "displaced"})

    def static_hamiltonian(self, xs: Sequence[sp.spmatrix], frame: float) -> sp.spmatrix:
        """The term's Hamiltonian on a product space with lowering operators ``xs``."""
        hop = xs[self.i] @ xs[self.j].T
        return self.strength * (hop + hop.T)

    def drift_entries(self, frame: float) -> list[Entry]:
        """A_ij = A_ji = -i g."""
        return [(self.i, self.j, -1j * self.strength), (self.j, self.i, -1j * self.strength)]

    def power(self, frequencies: NDArray[np.float64], pair: NDArray[np.complex128],
              times: NDArray[np.float64]) -> NDArray[np.float64]:
        """P = -2 f(t) g (omega_i - omega_j) Im <x_j^dag x_i> over time."""
        f = 1.0 if self.envelope is None else self.envelope(times)
        return np.asarray(-2.0 * f * self.strength * (frequencies[self.i] - frequencies[self.j])
                          * np.imag(pair))

    @classmethod
    def powers(cls, terms: Sequence[CouplingTerm], frequencies: NDArray[np.float64],
               pairs: NDArray[np.complex128], times: NDArray[np.float64]
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
