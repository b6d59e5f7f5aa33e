r"""The Bloch-Redfield master equation (``master_equation = "redfield"``), model side.

The global equation of :mod:`qbattery.terms.dressed` is secular: one jump per Bohr
frequency, valid when the Bohr frequencies are further apart than the rates. A
network with a qubit has an anharmonic ladder of dressed states (the charger-qubit-
battery network at g = 0.2, N = 1: 27 thermally populated Bohr frequencies, 10
spacings below gamma = 0.05), so the secular equation does not hold there. The
Bloch-Redfield equation keeps every pair of transitions.

Equation. H0 = sum_i omega_i x_i^dag x_i + sum g (x_i^dag x_j + h.c.) is the undriven
lab-frame Hamiltonian (exchange couplings only, so it conserves the total excitation
number and is diagonalised sector by sector), H0 |n> = E_n |n>. Bath b on mode i
(x = x_i: a for an oscillator, sigma_- for a qubit) couples through x B^dag + x^dag B
(rotating-wave approximation on the bath coupling, as in the local equation), and

    Lambda_L = 1/2 sum_(E_n > E_m) S_b(E_n - E_m) <m|x|n> |m><n|        (lowering part)
    Lambda_R = 1/2 sum_(E_n < E_m) S_b(E_n - E_m) <m|x^dag|n> |m><n|    (raising part)
    D_b rho  = [Lambda_L rho, x^dag] + [Lambda_R rho, x] + h.c.,

    S_b(w) = J(w) (N_b(w) + 1) for w > 0,   J(|w|) N_b(|w|) for w < 0,

J(w) = rate (``spectral_density = "flat"``) or rate w / omega_i (``"ohmic"``), N_b(w) the
Bose factor at the bath temperature, or the bath's ``occupation`` at every frequency when
it is given as an occupation (a white bath). No Lamb shift. With X = x + x^dag this is
the Bloch-Redfield equation of the coupling X B with the terms rotating at ~2 omega
dropped (Lambda_L paired with x, Lambda_R with x^dag); its Lambda_L and Lambda_R are
the positive- and negative-frequency parts of 1/2 sum S(E_n - E_m) X_mn |m><n|
whenever every matrix element of x lowers the energy (no level of a sector lies below
one of the sector under it; counted in ``stats["redfield_crossings"]``: elements of x
that raise the energy are dropped, the bath cannot absorb them within the RWA).

Checks. With S constant on each side (flat J, an occupation N independent of w),
Lambda_L = gamma (N + 1) x / 2 and Lambda_R = gamma N x^dag / 2, and D_b is exactly the
local gamma (N + 1) D[x] + gamma N D[x^dag] (tested). Detailed balance S(-w) = exp(-w/T)
S(w) makes the Gibbs state of H0 a fixed point of the undriven equation. In the frame
rotating at omega_r every term keeps the sector difference between ket and bra
(Lambda_L lowers the total excitation number by one, x^dag raises it), so the equation
is the same there. Drives are added as they are (valid for drives weak against the
spacing of H0's levels).

This module holds the term (:class:`RedfieldBath`: capability ``"density"`` only, its
heat is measured on the state) and :func:`redfield`, which replaces every local thermal
bath by one (refusing what the equation does not cover). The Fock-space construction
of Lambda_L, Lambda_R is :mod:`qbattery.hilbert.redfield`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, ClassVar

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from .base import DissipatorTerm, Entry
from .modes import ModeKind

__all__ = ["RedfieldBath", "redfield"]


@dataclass(frozen=True)
class RedfieldBath(DissipatorTerm):
    """A thermal bath of the Bloch-Redfield equation on mode ``mode`` (see the module doc).

    Args:
        rate: gamma, the rate J(omega_i) at the mode's frequency.
        frequency: omega_i (the ohmic density's reference).
        bath_temperature: T (None: the occupation is the same at every frequency).
        occupation: N at omega_i (with a temperature: its Bose factor there).
        spectral_density: ``"flat"`` or ``"ohmic"``.
    """

    rate: float
    frequency: float
    bath_temperature: float | None
    occupation: float
    spectral_density: str = "flat"

    capabilities = frozenset({"density"})
    moment_heat: ClassVar[bool] = False

    def refusal(self, capability: str) -> str:
        """The term, and why an engine without ``"density"`` cannot take it."""
        why = {"gaussian": "its jumps in the eigenbasis of H0 are not linear in the modes",
               "displaced": "the displaced frame cannot carry its non-linear jumps in the "
                            "eigenbasis of H0 (they mix every level of the network)"}
        if capability in why:
            return f"{self.label} ({type(self).__name__}; {why[capability]})"
        return self.describe()

    def eigenbasis_spectrum(self) -> Callable[[NDArray[np.float64]], NDArray[np.float64]]:
        """:meth:`spectrum` (the density engines build the dissipator from it)."""
        return self.spectrum

    def spectrum(self, omega: NDArray[np.float64]) -> NDArray[np.float64]:
        """S_b(w) at Bohr frequencies ``omega`` (w > 0: the system gives w to the bath)."""
        w = np.abs(np.asarray(omega, dtype=float))
        density = self.rate * (w / self.frequency if self.spectral_density == "ohmic" else 1.0)
        if self.bath_temperature is None:
            n = np.full(w.shape, self.occupation)
        elif self.bath_temperature > 0:
            with np.errstate(divide="ignore", over="ignore"):
                n = 1.0 / np.expm1(w / self.bath_temperature)
        else:
            n = np.zeros(w.shape)
        with np.errstate(invalid="ignore"):
            out = np.where(np.asarray(omega) > 0, density * (n + 1.0), density * n)
        return np.asarray(out, dtype=float)

    def temperature(self, frequencies: NDArray[np.float64]) -> float | None:
        """The bath's temperature (None: at T = 0 or given as an occupation)."""
        return self.bath_temperature or None

    # -- local stand-ins, for the Gaussian twin that plans the cutoffs only --------------
    def drift_entries(self, frame: float) -> list[Entry]:
        """A_ii -= gamma/2 (the local bath's; the twin plans cutoffs with it)."""
        return [(self.mode, self.mode, -0.5 * self.rate)] if self.rate > 0 else []

    def noise_entries(self) -> list[Entry]:
        """D_ii += gamma N (the local bath's; for the twin)."""
        return [(self.mode, self.mode, self.rate * self.occupation)] if self.rate > 0 else []

    def alone_occupation(self, initial: float, times: NDArray[np.float64]
                         ) -> NDArray[np.float64] | None:
        """The local bath's N + (n0 - N) exp(-gamma t) (for cutoff estimates)."""
        if self.rate <= 0:
            return None
        return np.asarray(self.occupation + (initial - self.occupation)
                          * np.exp(-self.rate * times))

    def heat_current(self, frequencies: NDArray[np.float64], kinds: Sequence[ModeKind],
                     occupation: NDArray[np.float64], pair: NDArray[np.complex128]
                     ) -> NDArray[np.float64]:
        """Not from moments: the density engines measure it on the state."""
        raise NotImplementedError(f"{self.describe()}: its heat is measured on the state")


def _refuse_reasons(problem: Any) -> list[str]:
    reasons = [c.describe() + " (its envelope changes the eigenbasis of H0)"
               for c in problem.couplings if c.envelope is not None]
    reasons += [c.describe() + " (counter-rotating: H0 would not conserve the excitation "
                "number)" for c in problem.couplings if not c.provides("gaussian")]
    return reasons + [d.refusal("global") + " (not a local thermal bath)"
                      for d in problem.dissipators if not d.provides("global")]


def redfield(problem: Any) -> tuple[Any, dict[str, float]]:
    """The compiled model with every local thermal bath replaced by a
    :class:`RedfieldBath`; refused (naming ``master_equation`` and the parts) for
    couplings that are not constant exchange couplings and for dissipators that are not
    local thermal baths."""
    reasons = _refuse_reasons(problem)
    if reasons:
        raise ModelError("master_equation", "the Bloch-Redfield equation (\"redfield\") is "
                         "built for constant exchange couplings and local thermal baths; "
                         "not: " + ", ".join(reasons))
    baths = problem.model.baths
    out = []
    for k, term in enumerate(problem.dissipators):
        bath, mode = baths[k], problem.modes[term.mode]
        temperature = None if bath.occupation is not None else (bath.temperature or 0.0)
        out.append(RedfieldBath(term.label, term.mode, term.rate, mode.frequency,
                                temperature, term.occupation, term.spectral_density))
    return replace(problem, dissipators=tuple(out)), {}
