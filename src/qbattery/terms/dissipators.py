r"""Dissipators.

:class:`ThermalBath`: the local thermal bath gamma (N + 1) D[x] + gamma N D[x^dag]
on one mode, D[c] rho = c rho c^dag - {c^dag c, rho}/2, N the bath occupation
at the mode's frequency. Gaussian blocks: damping A_ii -= gamma/2 and diffusion
D_ii += gamma N of the normally ordered covariance. Heat into the bath:
J = gamma omega (<x^dag x> - N <[x, x^dag]>) (oscillator: gamma omega (<n> - N);
qubit: gamma omega ((2N + 1) p_e - N)).

:class:`Jump`: one collapse operator sqrt(rate) X. A local jump (X = x or x^dag of
one mode) is what the Fock engine's fast path shifts; a linear combination
X = sum_i c_i x_i (or its adjoint) and the number operator X = x^dag x are built as
sparse matrices (:meth:`Jump.operator`). Correlated baths and dephasing:
:mod:`qbattery.terms.correlated`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .base import DissipatorTerm, Entry
from .modes import ModeKind

__all__ = ["Jump", "ThermalBath"]


@dataclass(frozen=True)
class Jump:
    """A collapse operator sqrt(rate) X.

    X = x_mode (x_mode^dag when ``raising``); with ``weights`` ((i, c_i), ...),
    X = sum_i c_i x_i (its adjoint when ``raising``; ``mode`` is then the first i);
    with ``number``, X = x_mode^dag x_mode.
    """

    mode: int
    rate: float
    raising: bool = False
    weights: tuple[tuple[int, complex], ...] = ()
    number: bool = False

    @property
    def local(self) -> bool:
        """Whether X is x or x^dag of one mode (a shift of the Fock basis)."""
        return not self.weights and not self.number

    def operator(self, xs: Sequence[sp.spmatrix]) -> sp.csr_matrix:
        """sqrt(rate) X on a product space with lowering operators ``xs`` (real x_i)."""
        x = xs[self.mode]
        if self.number:
            op = x.T @ x
        elif self.weights:
            op = sum((c * xs[i] for i, c in self.weights), sp.csr_matrix(x.shape))
            op = op.conj().T if self.raising else op
        else:
            op = x.T if self.raising else x
        return sp.csr_matrix(np.sqrt(self.rate) * op)


@dataclass(frozen=True)
class ThermalBath(DissipatorTerm):
    """gamma (N + 1) D[x] + gamma N D[x^dag] on mode ``mode``; ``spectral_density`` is
    used only by the global master equation (:mod:`qbattery.terms.dressed`)."""

    rate: float
    occupation: float
    spectral_density: str = "flat"

    capabilities = frozenset({"gaussian", "density", "displaced", "quadrature", "global"})

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

    def noise_entries(self) -> list[Entry]:
        """D_ii += gamma N."""
        return [(self.mode, self.mode, self.rate * self.occupation)] if self.rate > 0 else []

    def heat(self, frequency: float, kind: ModeKind, occupation: NDArray[np.float64]
             ) -> NDArray[np.float64]:
        """Heat current into the bath, gamma omega (<x^dag x> - N <[x, x^dag]>)."""
        comm = kind.commutator(occupation)
        return np.asarray(self.rate * frequency * (occupation - self.occupation * comm))

    def temperature(self, frequencies: NDArray[np.float64]) -> float | None:
        """T = omega / ln(1 + 1/N) at the mode's frequency (None at N = 0)."""
        if self.rate <= 0 or self.occupation <= 0:
            return None
        return float(frequencies[self.mode] / np.log1p(1.0 / self.occupation))

    def amplitude_decay(self, kind: ModeKind) -> float | None:
        """kappa = gamma (N + 1) / 2 - gamma N s / 2 (s = ``kind.amplitude_sign``): gamma / 2
        on an oscillator, gamma (2N + 1) / 2 on a qubit."""
        return 0.5 * self.rate * ((self.occupation + 1.0) - self.occupation * kind.amplitude_sign)

    def alone_occupation(self, initial: float, times: NDArray[np.float64]
                         ) -> NDArray[np.float64] | None:
        """N + (n0 - N) exp(-gamma t): the mode alone with this bath (None at zero rate)."""
        if self.rate <= 0:
            return None
        return np.asarray(self.occupation + (initial - self.occupation)
                          * np.exp(-self.rate * times))
