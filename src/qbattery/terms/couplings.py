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

    def power(self, frequencies: NDArray[np.float64], pair: NDArray[np.complex128]
              ) -> NDArray[np.float64]:
        """P = -2 g (omega_i - omega_j) Im <x_j^dag x_i> over time."""
        return np.asarray(-2.0 * self.strength * (frequencies[self.i] - frequencies[self.j])
                          * np.imag(pair))
