"""Shared machinery of the density-matrix engines (Fock, displaced frame).

- :mod:`.space`: truncated product spaces, ladder operators, the rotating-frame
  Hamiltonian and the baths' collapse operators of a :class:`~qbattery.Model`;
- :mod:`.lindblad`: the matrix-form Lindblad right-hand side;
- :mod:`.states`: initial product states, reduced states, per-mode observables,
  catalyst fidelity, purity and correlations;
- :mod:`.truncation`: cutoff estimation from the Gaussian twin of a model and
  the truncation monitor (tails, errors, warnings);
- :mod:`.integrate`: SciPy's adaptive Runge-Kutta stepping with callbacks.
"""

from __future__ import annotations

from .integrate import integrate, integrate_piecewise, stable_step
from .lindblad import Lindblad, add_adjoint, pack_hermitian, unpack_hermitian
from .space import (
    FockSpace,
    Jump,
    RotatingHamiltonian,
    jump_operator,
    jumps,
    ladder,
    rotating_hamiltonian,
)
from .states import (
    CatalystRecorder,
    EntropyRecorder,
    anomalous_operators,
    catalyst_observables,
    coherent_vector,
    displaced_thermal,
    expectations,
    initial_state,
    marginals,
    mode_observables,
    pair_operators,
    reduced_state,
    resize,
    tails,
)
from .truncation import (
    CutoffPlan,
    NeedsLargerCutoff,
    TruncationMonitor,
    estimate_cutoffs,
    extrapolate_levels,
    levels_needed,
    number_distribution,
    plan_cutoffs,
)

__all__ = [
    "CatalystRecorder",
    "CutoffPlan",
    "EntropyRecorder",
    "FockSpace",
    "Jump",
    "Lindblad",
    "NeedsLargerCutoff",
    "RotatingHamiltonian",
    "TruncationMonitor",
    "add_adjoint",
    "anomalous_operators",
    "catalyst_observables",
    "coherent_vector",
    "displaced_thermal",
    "estimate_cutoffs",
    "expectations",
    "extrapolate_levels",
    "initial_state",
    "integrate",
    "integrate_piecewise",
    "jump_operator",
    "jumps",
    "ladder",
    "levels_needed",
    "marginals",
    "mode_observables",
    "number_distribution",
    "pack_hermitian",
    "pair_operators",
    "plan_cutoffs",
    "reduced_state",
    "resize",
    "rotating_hamiltonian",
    "stable_step",
    "tails",
    "unpack_hermitian",
]
