"""Compiled terms: the layer between the declarative model and the engines.

model (:mod:`qbattery.model`) -> terms (this package) -> engines
(:mod:`qbattery.solvers`, with :mod:`qbattery.hilbert` for Fock spaces).
Each mode kind, coupling form, drive form and dissipator is one class that
knows its operators and, when linear/quadratic, its Gaussian blocks; engines
read those and refuse, by name, what they cannot do. See ``docs/architecture.md``.
"""

from __future__ import annotations

from .base import CouplingTerm, DissipatorTerm, DriveTerm, Term
from .compiled import CompiledModel, ModeTerm, compile_model, compiled
from .correlated import CorrelatedBath, Dephasing
from .couplings import Exchange
from .dissipators import Jump, ThermalBath
from .drives import RotatingDrive
from .modes import MODE_KINDS, ModeKind, Oscillator, Qubit, ladder, mode_kind

__all__ = [
    "MODE_KINDS",
    "CompiledModel",
    "CorrelatedBath",
    "CouplingTerm",
    "Dephasing",
    "DissipatorTerm",
    "DriveTerm",
    "Exchange",
    "Jump",
    "ModeKind",
    "ModeTerm",
    "Oscillator",
    "Qubit",
    "RotatingDrive",
    "Term",
    "ThermalBath",
    "compile_model",
    "compiled",
    "ladder",
    "mode_kind",
]
