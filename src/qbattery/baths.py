"""Dissipation in the model: local thermal baths, correlated jumps and dephasing.

Declarative and validated when built, like the rest of :mod:`qbattery.model` (which
re-exports these classes); the engines read their compiled terms
(:mod:`qbattery.terms.dissipators`, :mod:`qbattery.terms.correlated`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .errors import ModelError
from .validation import (
    MAX_OCCUPATION,
    MAX_RATE,
    frequency_value,
    jump_weights,
    mode_name,
    real_number,
)

__all__ = ["SPECTRAL_DENSITIES", "Bath", "Dephasing", "Dissipator", "bose"]

_name = mode_name

#: Spectral densities a bath may have (see :class:`Bath`).
SPECTRAL_DENSITIES = ("flat", "ohmic")


def bose(frequency: float, temperature: float) -> float:
    """The Bose factor 1 / (exp(w/T) - 1) (0 at T = 0)."""
    if not temperature:
        return 0.0
    x = frequency / temperature
    return math.exp(-x) / -math.expm1(-x)


@dataclass(frozen=True)
class Bath:
    """Markovian thermal bath on one mode: rate gamma and occupation N (or temperature T).

    Exactly one of ``occupation`` and ``temperature`` may be given; with
    neither the bath is at zero temperature. A temperature is converted with
    N = 1 / (exp(omega_i / T) - 1) at the mode's frequency.

    ``spectral_density`` is the rate's dependence on frequency, used by the global
    master equation (``SolverOptions(master_equation="global")``), where the bath
    acts at the network's normal-mode frequencies Omega: ``"flat"`` (gamma at every
    frequency) or ``"ohmic"`` (gamma Omega / omega_i). The local equation uses the
    rate at the mode's own frequency, gamma, either way.
    """

    mode: str
    rate: float
    occupation: float | None = None
    temperature: float | None = None
    spectral_density: str = "flat"

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", _name("mode", self.mode))
        object.__setattr__(self, "rate",
                           real_number("rate", self.rate, minimum=0.0, magnitude=MAX_RATE))
        if self.occupation is not None and self.temperature is not None:
            raise ModelError("occupation", "give occupation or temperature, not both")
        if self.occupation is not None:
            object.__setattr__(self, "occupation",
                               real_number("occupation", self.occupation, minimum=0.0,
                                           magnitude=MAX_OCCUPATION))
        if self.temperature is not None:
            object.__setattr__(self, "temperature",
                               real_number("temperature", self.temperature, minimum=0.0,
                                           magnitude=MAX_OCCUPATION))
        if self.spectral_density not in SPECTRAL_DENSITIES:
            raise ModelError("spectral_density", f"expected one of "
                             f"{', '.join(SPECTRAL_DENSITIES)}, got {self.spectral_density!r}")

    def occupation_at(self, frequency: float) -> float:
        """Bath occupation N at ``frequency``: the Bose factor 1 / (exp(w/T) - 1), written
        exp(-w/T) / (1 - exp(-w/T)) so that a cold bath (w/T of 1e3 or 1e300) gives a
        tiny N, or 0, instead of an overflow."""
        if self.occupation is not None:
            return self.occupation
        return bose(frequency, self.temperature or 0.0)


@dataclass(frozen=True)
class Dissipator:
    """A correlated jump L = sum_i c_i x_i: gamma (N + 1) D[L] + gamma N D[L^dag].

    Args:
        jump: the weights {mode: c_i} (complex as [re, im], or a real number).
        rate: gamma (>= 0).
        occupation: N; or ``temperature`` T, with N = 1 / (exp(w / T) - 1) at
            ``frequency`` (default: the frequency all modes in L share).
    """

    jump: Any
    rate: float
    occupation: float | None = None
    temperature: float | None = None
    frequency: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "jump", jump_weights("jump", self.jump,
                                                      magnitude=math.sqrt(MAX_RATE)))
        object.__setattr__(self, "rate",
                           real_number("rate", self.rate, minimum=0.0, magnitude=MAX_RATE))
        if self.occupation is not None and self.temperature is not None:
            raise ModelError("occupation", "give occupation or temperature, not both")
        for attr in ("occupation", "temperature"):
            if getattr(self, attr) is not None:
                object.__setattr__(self, attr, real_number(attr, getattr(self, attr),
                                                           minimum=0.0, magnitude=MAX_OCCUPATION))
        if self.frequency is not None:
            if self.temperature is None:
                raise ModelError("frequency", "only a temperature needs a frequency")
            object.__setattr__(self, "frequency", frequency_value("frequency", self.frequency))

    @property
    def modes(self) -> tuple[str, ...]:
        """The modes in L."""
        return tuple(name for name, _ in self.jump)

    def occupation_at(self, frequencies: Sequence[float]) -> float:
        """N: the occupation, or the Bose factor at ``frequency`` (else at the modes'
        common frequency ``frequencies``, which must then all be equal)."""
        if self.temperature is None:
            return self.occupation or 0.0
        w = self.frequency
        if w is None:
            if max(frequencies) != min(frequencies):
                raise ModelError("frequency", "the modes in the jump have different "
                                 "frequencies: give the bath's frequency for its temperature")
            w = frequencies[0]
        return bose(w, self.temperature)


@dataclass(frozen=True)
class Dephasing:
    """Pure dephasing gamma_phi D[x^dag x] of one mode (a qubit: sigma_+ sigma_-)."""

    mode: str
    rate: float

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", mode_name("mode", self.mode))
        object.__setattr__(self, "rate",
                           real_number("rate", self.rate, minimum=0.0, magnitude=MAX_RATE))
