r"""Drive forms.

:class:`RotatingDrive`: F (exp(i omega_f t) x + exp(-i omega_f t) x^dag) on one mode,
resonant with a mode of frequency omega_f. In the frame rotating at omega_r it
is F (exp(i delta t) x + exp(-i delta t) x^dag), delta = omega_f - omega_r, and
its Gaussian block is the forcing d<x>/dt += -i F exp(-i delta t). The power it
injects into the local energy omega_x x^dag x is P = -2 omega_x F Im(e^{i delta t} <x>).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .base import DriveTerm

__all__ = ["RotatingDrive"]


@dataclass(frozen=True)
class RotatingDrive(DriveTerm):
    """F (exp(i omega_f t) x + h.c.) on mode ``mode``."""

    capabilities = frozenset({"gaussian", "density", "displaced"})

    def detuning(self, frame: float) -> float:
        """delta = omega_f - omega_r."""
        return self.frequency - frame

    def oscillating_hamiltonian(self, xs: Sequence[sp.spmatrix], frame: float
                                ) -> list[tuple[float, sp.spmatrix]]:
        """V = F x: the drive is exp(i delta t) V + exp(-i delta t) V^dag in the frame
        (static when delta = 0; the Hamiltonian builder folds those in)."""
        return [(self.detuning(frame), self.amplitude * xs[self.mode])]

    def forcing(self, n: int, frame: float) -> list[tuple[float, NDArray[np.complex128]]]:
        """d<x>/dt gains exp(-i delta t) b with b = -i F on the driven mode."""
        b = np.zeros(n, dtype=complex)
        b[self.mode] = -1j * self.amplitude
        return [(self.detuning(frame), b)]

    def power(self, frequency: float, amplitude: NDArray[np.complex128],
              times: NDArray[np.float64], frame: float) -> NDArray[np.float64]:
        """P(t) = -2 omega_x f(t) F Im(e^{i delta t} <x>), <x> in the rotating frame."""
        phase = np.exp(1j * self.detuning(frame) * times)
        f = 1.0 if self.envelope is None else self.envelope(times)
        return np.asarray(-2.0 * frequency * self.amplitude * f * np.imag(phase * amplitude))
