r"""Drive forms.

:class:`RotatingDrive`: F (exp(i omega_f t) x + exp(-i omega_f t) x^dag) on one mode,
resonant with a mode of frequency omega_f. In the frame rotating at omega_r it
is F (exp(i delta t) x + exp(-i delta t) x^dag), delta = omega_f - omega_r, and
its Gaussian block is the forcing d<x>/dt += -i F exp(-i delta t). The power it
injects into the local energy omega_x x^dag x is P = -2 omega_x F Im(e^{i delta t} <x>).
Lab-frame quadrature forcing (x = (a + a^dag)/sqrt2, p = i(a^dag - a)/sqrt2):
H = sqrt2 F (cos(omega_f t) x - sin(omega_f t) p).

:class:`LinearDrive`: 2 F cos(omega_f t + phi)(x + x^dag), beyond the rotating-wave
approximation. In the frame rotating at omega_r it is

    F (e^{i phi} e^{i delta t} x + h.c.) + F (e^{i phi} e^{i sigma t} x^dag + h.c.),
    delta = omega_f - omega_r,  sigma = omega_f + omega_r,

the rotating drive (with a phase) plus a counter-rotating part. Its power is
P = -4 omega_x F f(t) cos(omega_f t + phi) Im <x>_lab, <x>_lab = e^{-i omega_r t} <x>;
quadrature forcing H = 2 sqrt2 F cos(omega_f t + phi) x. Its phase-covariant forcing
(``forcing``, b = -i F e^{-i phi} at delta) is the rotating part only, used by the
Gaussian twin that plans the density engines' cutoffs (no ``"gaussian"``); the
displaced frame adds ``counter_forcing``, b = -i F e^{i phi} at detuning -sigma.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .base import DriveTerm, QuadratureBlocks

__all__ = ["LinearDrive", "RotatingDrive"]


@dataclass(frozen=True)
class RotatingDrive(DriveTerm):
    """F (exp(i omega_f t) x + h.c.) on mode ``mode``."""

    capabilities = frozenset({"gaussian", "density", "displaced", "quadrature"})

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

    def quadrature_blocks(self, n: int) -> QuadratureBlocks:
        """h_{-omega_f} = (F/sqrt2)(e_x + i e_p), h_{omega_f} its conjugate."""
        h = np.zeros(2 * n, dtype=complex)
        h[self.mode], h[n + self.mode] = 1.0, 1j
        h *= self.amplitude / np.sqrt(2.0)
        return QuadratureBlocks(forcing=((-self.frequency, h), (self.frequency, h.conj())))


@dataclass(frozen=True)
class LinearDrive(DriveTerm):
    """2 F cos(omega_f t + phase)(x + x^dag) on mode ``mode`` (see the module doc)."""

    phase: float = 0.0

    capabilities = frozenset({"density", "displaced", "quadrature"})

    def oscillating_hamiltonian(self, xs: Sequence[sp.spmatrix], frame: float
                                ) -> list[tuple[float, sp.spmatrix]]:
        """V = F e^{i phi} x at omega_f - omega_r and V = F e^{i phi} x^dag at
        omega_f + omega_r (complex V when phi != 0)."""
        c = self.amplitude * (np.exp(1j * self.phase) if self.phase else 1.0)
        x = xs[self.mode]
        return [(self.frequency - frame, c * x), (self.frequency + frame, c * x.T)]

    def forcing(self, n: int, frame: float) -> list[tuple[float, NDArray[np.complex128]]]:
        """The rotating part's b = -i F e^{-i phi} (for the Gaussian twin only)."""
        b = np.zeros(n, dtype=complex)
        b[self.mode] = -1j * self.amplitude * np.exp(-1j * self.phase)
        return [(self.frequency - frame, b)]

    def counter_forcing(self, n: int, frame: float
                        ) -> list[tuple[float, NDArray[np.complex128]]]:
        """The counter-rotating part F (e^{i phi} e^{i sigma t} x^dag + h.c.): d<x>/dt
        gains -i F e^{i phi} e^{i sigma t}, i.e. b = -i F e^{i phi} at detuning -sigma,
        sigma = omega_f + omega_r (the displaced frame adds it to :meth:`forcing`)."""
        b = np.zeros(n, dtype=complex)
        b[self.mode] = -1j * self.amplitude * np.exp(1j * self.phase)
        return [(-(self.frequency + frame), b)]

    def quadrature_blocks(self, n: int) -> QuadratureBlocks:
        """h_{-omega_f} = sqrt2 F e^{i phi} e_x, h_{omega_f} its conjugate."""
        h = np.zeros(2 * n, dtype=complex)
        h[self.mode] = np.sqrt(2.0) * self.amplitude * np.exp(1j * self.phase)
        return QuadratureBlocks(forcing=((-self.frequency, h), (self.frequency, h.conj())))

    def power(self, frequency: float, amplitude: NDArray[np.complex128],
              times: NDArray[np.float64], frame: float) -> NDArray[np.float64]:
        """P(t) = -4 omega_x f(t) F cos(omega_f t + phi) Im(e^{-i omega_r t} <x>)."""
        f = 1.0 if self.envelope is None else self.envelope(times)
        lab = np.exp(-1j * frame * times) * amplitude
        return np.asarray(-4.0 * frequency * self.amplitude * f
                          * np.cos(self.frequency * times + self.phase) * lab.imag)
