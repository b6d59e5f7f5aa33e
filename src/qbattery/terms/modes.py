"""Mode kinds as the terms layer sees them (defined in :mod:`qbattery.kinds`)."""

from __future__ import annotations

from ..kinds import (
    MODE_KINDS,
    ModeKind,
    Oscillator,
    Qubit,
    coherent_vector,
    displaced_thermal,
    ladder,
    mode_kind,
)

__all__ = ["MODE_KINDS", "ModeKind", "Oscillator", "Qubit", "coherent_vector",
           "displaced_thermal", "ladder", "mode_kind"]
