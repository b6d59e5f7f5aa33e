r"""Dissipators.

:class:`ThermalBath`: the local thermal bath gamma (N + 1) D[x] + gamma N D[x^dag]
on one mode, D[c] rho = c rho c^dag - {c^dag c, rho}/2, N the bath occupation
at the mode's frequency. Gaussian blocks: damping A_ii -= gamma/2 and diffusion
D_ii += gamma N of the normally ordered covariance. Heat into the bath:
J = gamma omega (<x^dag x> - N <[x, x^dag]>) (oscillator: gamma omega (<n> - N);
qubit: gamma omega ((2N + 1) p_e - N)).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .base import DissipatorTerm, Entry
from .modes import ModeKind

__all__ = ["Jump", "ThermalBath"]


@dataclass(frozen=True)
class Jump:
    """A collapse operator sqrt(rate) x_mode (or sqrt(rate) x_mode^dag when ``raising``)."""

    mode: int
    rate: float
    raising: bool = False


@dataclass(frozen=True)
class ThermalBath(DissipatorTerm):
    """gamma (N + 1) D[x] + gamma N D[x^dag] on mode ``mode``."""

    rate: float
    occupation: float

    capabilities = frozenset({"gaussian", "density", "displaced"})

    def jumps(self) -> list[Jump]:
        """The collapse operators (none for a zero rate)."""
        if self.rate <= 0:
            return []
        out = [Jump(self.mode, self.rate * (self.occupation + 1.0))]
        if self.occupation > 0:
            out.append(Jump(self.mode, self.rate * self.occupation, raising=True))
        return out

    def drift_entries(self, frame: float) -> list[Entry]:
        """A_ii -= gamma/2."""
        return [(self.mode, self.mode, -0.5 * self.rate)] if self.rate > 0 else []

    def noise_entries(self) -> list[tuple[int, float]]:
        """D_ii += gamma N."""
        return [(self.mode, self.rate * self.occupation)] if self.rate > 0 else []

    def heat(self, frequency: float, kind: ModeKind, occupation: NDArray[np.float64]
             ) -> NDArray[np.float64]:
        """Heat current into the bath, gamma omega (<x^dag x> - N <[x, x^dag]>)."""
        comm = kind.commutator(occupation)
        return np.asarray(self.rate * frequency * (occupation - self.occupation * comm))

    def alone_occupation(self, initial: float, times: NDArray[np.float64]
                         ) -> NDArray[np.float64] | None:
        """N + (n0 - N) exp(-gamma t): the mode alone with this bath (None at zero rate)."""
        if self.rate <= 0:
            return None
        return np.asarray(self.occupation + (initial - self.occupation)
                          * np.exp(-self.rate * times))
