r"""The global (dressed) master equation of an oscillator network.

The local equation lets each bath act on its own mode, gamma_j (N_j + 1) D[a_j]
+ gamma_j N_j D[a_j^dag]. At strong coupling this is known to be thermodynamically
inconsistent in places (its undriven steady state is the product of local thermal
states, not the Gibbs state of the coupled network; Levy & Kosloff, EPL 107, 20004
(2014); Hofer et al., New J. Phys. 19, 123037 (2017)). The global equation lets
each bath act on the network's normal modes.

Derivation. The undriven network Hamiltonian is H = sum_ij M_ij a_i^dag a_j
(lab frame; M Hermitian, read from the terms' drift blocks: the drift of the
undriven, undamped model is -i (M - omega_r)). With M = U Omega U^dag and
c = U^dag a, H = sum_k Omega_k c_k^dag c_k. The system operator of bath j splits
into its Bohr-frequency parts a_j = sum_Omega A_j(Omega), A_j(Omega) =
sum_i (P_Omega)_ji a_i with P_Omega = sum_(k: Omega_k = Omega) u_k u_k^dag the
projector on the eigenspace (degenerate normal modes, e.g. the catalyst models'
dark modes, form one Bohr frequency). In the Born-Markov and secular
approximations the bath contributes

    sum_Omega gamma_j(Omega) [(N_j(Omega) + 1) D[A_j(Omega)] + N_j(Omega) D[A_j(Omega)^dag]],

gamma_j(Omega) = gamma_j (flat spectral density) or gamma_j Omega / omega_j
(ohmic), N_j(Omega) = 1 / (exp(Omega / T_j) - 1) from the bath temperature (a
bath given by its occupation N_j at omega_j has T_j = omega_j / ln(1 + 1/N_j)).
Each term is a correlated linear jump (:class:`~qbattery.terms.correlated.CorrelatedBath`),
so every engine solves it, the Gaussian one exactly. The undriven steady state
is the Gibbs state of H at one bath temperature: the normally ordered covariance
U diag(N(Omega_k)) U^dag (tested). Drives are added to the undriven dissipator
as they are (valid for drives weak against the normal-mode spacing).

The secular approximation drops cross terms between different Bohr frequencies;
it needs their spacings to exceed the rates. A spacing below the largest rate
is refused; the ratio (smallest spacing / largest rate) is reported as
``stats["secular_ratio"]`` (at the paper's g = 0.2 and gamma = 0.05: 8 for the
bare model, 5.7 for the oscillator catalyst).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..errors import ModelError
from .base import DissipatorTerm, Entry
from .correlated import CorrelatedBath
from .dissipators import Jump, ThermalBath

__all__ = ["DressedBath", "dress", "hamiltonian_matrix", "normal_modes"]

#: Normal-mode frequencies closer than this (relative) form one Bohr frequency.
DEGENERATE = 1e-9

#: Weights below this (relative to the largest) are dropped from a dressed jump.
SMALL_WEIGHT = 1e-13

SPECTRAL = {"flat": lambda omega, omega_j: 1.0, "ohmic": lambda omega, omega_j: omega / omega_j}


@dataclass(frozen=True)
class DressedBath(DissipatorTerm):
    """A thermal bath of the global equation: one correlated jump per Bohr frequency
    (``parts``), reported as one dissipator under the bath's label (its heat is the
    sum of its parts')."""

    parts: tuple[CorrelatedBath, ...]
    bath_temperature: float = 0.0

    capabilities = frozenset({"gaussian", "density", "displaced"})

    def provides(self, capability: str) -> bool:
        """What every part provides."""
        return all(p.provides(capability) for p in self.parts)

    def jumps(self) -> list[Jump]:
        return [j for p in self.parts for j in p.jumps()]

    def temperature(self, frequencies: NDArray[np.float64]) -> float | None:
        """The bath's temperature (None at T = 0)."""
        return self.bath_temperature or None

    def drift_entries(self, frame: float) -> list[Entry]:
        return [e for p in self.parts for e in p.drift_entries(frame)]

    def noise_entries(self) -> list[Entry]:
        return [e for p in self.parts for e in p.noise_entries()]

    def pairs(self) -> list[tuple[int, int]]:
        return [q for p in self.parts for q in p.pairs()]

    def heat_current(self, frequencies: NDArray[np.float64], kinds: Any,
                     occupation: NDArray[np.float64], pair: NDArray[np.complex128]
                     ) -> NDArray[np.float64]:
        """The sum of the parts' heat currents (local energies)."""
        out, start = np.zeros(occupation.shape[1]), 0
        for p in self.parts:
            stop = start + len(p.pairs())
            out = out + p.heat_current(frequencies, kinds, occupation, pair[start:stop])
            start = stop
        return out


def hamiltonian_matrix(problem: Any) -> NDArray[np.complex128]:
    """M of the undriven lab-frame H = sum_ij M_ij a_i^dag a_j, from the terms' drift
    blocks (the undamped, undriven drift is -i (M - omega_r))."""
    bare = replace(problem, drives=(), dissipators=(), couplings=problem.unmodulated().couplings)
    M = 1j * bare.drift_dense() + problem.frame_frequency * np.eye(len(problem.modes))
    return np.asarray(0.5 * (M + M.conj().T))


def normal_modes(problem: Any) -> tuple[NDArray[np.float64], NDArray[np.complex128]]:
    """(Omega, U): the lab-frame normal-mode frequencies and vectors of the undriven
    network, M = U diag(Omega) U^dag (:func:`hamiltonian_matrix`)."""
    omega, U = np.linalg.eigh(hamiltonian_matrix(problem))
    return omega, U


def _groups(omega: NDArray[np.float64]) -> list[NDArray[np.int_]]:
    """Indices of (numerically) equal normal-mode frequencies (omega sorted)."""
    scale = max(1.0, float(np.abs(omega).max()))
    cuts = np.flatnonzero(np.diff(omega) > DEGENERATE * scale) + 1
    return np.split(np.arange(omega.size), cuts)


def _refuse_reasons(problem: Any) -> list[str]:
    reasons = [m.describe() + " (a qubit network's dressed Bohr frequencies are closer than "
               "the rates at strong coupling: use master_equation = \"redfield\")"
               for m in problem.modes if not m.kind.gaussian]
    reasons += [c.describe() + " (its envelope changes the normal modes)"
                for c in problem.couplings if c.envelope is not None]
    reasons += [c.describe() + " (counter-rotating: the normal modes mix a and a^dag)"
                for c in problem.couplings if not c.provides("gaussian")]
    return reasons + [d.refusal("global") for d in problem.dissipators
                      if not d.provides("global")]


def dress(problem: Any) -> tuple[Any, dict[str, float]]:
    """The compiled model with every thermal bath acting on the normal modes (see the
    module doc), and ``{"secular_ratio": ...}``. Refused (naming the field
    ``master_equation`` and the parts) for qubits, couplings with envelopes and
    dissipators without the capability ``"global"`` (only local thermal baths have it)."""
    reasons = _refuse_reasons(problem)
    if reasons:
        raise ModelError("master_equation", "the global master equation is built for "
                         "oscillator networks with constant couplings and local thermal "
                         "baths; not: " + ", ".join(reasons))
    omega, U = normal_modes(problem)
    if omega.size and omega[0] <= 0:
        raise ModelError("master_equation", f"the network has a normal mode at frequency "
                         f"{omega[0]:.6g} <= 0; a thermal bath has no state there")
    groups = _groups(omega)
    freqs = [float(omega[g].mean()) for g in groups]
    projectors = [U[:, g] @ U[:, g].conj().T for g in groups]
    baths, largest = [], 0.0
    for b in problem.dissipators:
        temperature = b.temperature(problem.frequencies) or 0.0
        parts = _dressed_parts(b, problem.modes[b.mode].frequency, temperature, freqs,
                               projectors)
        largest = max([largest, *(p.rate for p in parts)])
        baths.append(DressedBath(b.label, b.mode, tuple(parts), temperature))
    spacing = float(np.min(np.diff(freqs))) if len(freqs) > 1 else float("inf")
    ratio = spacing / largest if largest > 0 else float("inf")
    if ratio < 1.0:
        raise ModelError("master_equation", f"normal modes {spacing:.3g} apart are closer "
                         f"than the largest rate {largest:.3g}: the secular approximation "
                         "of the global equation does not hold (use the local equation)")
    return replace(problem, dissipators=tuple(baths)), {"secular_ratio": ratio}


def _dressed_parts(bath: ThermalBath, omega_j: float, temperature: float, freqs: list[float],
                   projectors: list[NDArray[np.complex128]]) -> list[CorrelatedBath]:
    """One correlated jump A_j(Omega) = sum_i (P_Omega)_ji a_i per Bohr frequency
    (temperature 0: zero occupations)."""
    parts = []
    for omega, P in zip(freqs, projectors, strict=True):
        row = P[bath.mode]
        big = np.abs(row).max()
        if big <= SMALL_WEIGHT:
            continue
        weights = tuple((int(i), complex(row[i])) for i in np.flatnonzero(
            np.abs(row) > SMALL_WEIGHT * max(big, 1.0)))
        occupation = 1.0 / np.expm1(omega / temperature) if temperature > 0 else 0.0
        rate = bath.rate * SPECTRAL[bath.spectral_density](omega, omega_j)
        parts.append(CorrelatedBath(bath.label, weights[0][0], weights, float(rate),
                                    float(occupation)))
    return parts
