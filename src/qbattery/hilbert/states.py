r"""States on a Fock space: the initial product state, reduced states, observables.

Functions here take a full density matrix rho (D x D, basis ordered as in
:class:`~qbattery.hilbert.space.FockSpace`) and return physical numbers; they
do not care how rho was obtained, so every Fock-space engine shares them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..model import Model
from ..observables import (
    Reductions,
    ergotropy_of_levels,
    logarithmic_negativity,
    partial_trace,
    trace_with,
    von_neumann_entropy,
)
from ..terms import CompiledModel, compiled
from ..terms.modes import coherent_vector, displaced_thermal
from .space import FockSpace

__all__ = [
    "CatalystRecorder",
    "EntropyRecorder",
    "anomalous_operators",
    "catalyst_observables",
    "coherent_vector",
    "displaced_thermal",
    "expectations",
    "initial_state",
    "marginals",
    "mode_observables",
    "reduced_state",
    "resize",
    "tails",
]

def initial_state(model: Model | CompiledModel, space: FockSpace, *,
                  displacements: Sequence[complex] | None = None) -> NDArray[np.complex128]:
    """The product initial state of ``model`` on ``space`` (a D x D matrix).

    Oscillators start in D(alpha0) rho_th(n0) D(alpha0)^dag, qubits in
    diag(1 - p0, p0). With ``displacements`` beta_i (for a displaced-frame
    engine) each oscillator starts in D(alpha0 - beta_i) rho_th(n0) D(...)^dag.
    """
    problem = compiled(model)
    shifts = [0j] * len(problem.modes) if displacements is None else list(displacements)
    rho = np.ones((1, 1), dtype=complex)
    for mode, dim, shift in zip(problem.modes, space.dims, shifts, strict=True):
        amplitude = mode.initial_amplitude - shift if mode.kind.truncated else 0j
        rho = np.kron(rho, mode.kind.initial_state(mode.initial_occupation, amplitude, dim))
    return rho


def marginals(rho: NDArray[Any], space: FockSpace) -> list[NDArray[np.float64]]:
    """Fock-number distribution p_i(m) of every mode (from the diagonal of rho, or of its
    packed form, whose diagonal is the same)."""
    p = np.real(np.diagonal(rho)).reshape(space.dims)
    n = len(space.dims)
    return [p.sum(axis=tuple(k for k in range(n) if k != i)) for i in range(n)]


def tails(populations: Sequence[NDArray[np.float64]], space: FockSpace) -> NDArray[np.float64]:
    """Population of each truncated mode's top level (0 for finite-level modes)."""
    return np.array([p[-1] if kind.truncated else 0.0
                     for p, kind in zip(populations, space.kinds, strict=True)])


def reduced_state(rho: NDArray[np.complex128], space: FockSpace, keep: Sequence[int]
                  ) -> NDArray[np.complex128]:
    """Reduced density matrix of the modes ``keep`` (in that order)."""
    return partial_trace(rho, space.dims, tuple(keep))


def pair_operators(model: Model | CompiledModel, space: FockSpace) -> list[sp.coo_matrix]:
    """x_j^dag x_i for each pair (i, j) of the model (:attr:`CompiledModel.pairs`: the
    couplings', then the dissipators'), as COO matrices."""
    xs = space.lowering_operators
    problem = compiled(model)
    ops = [c.pair_operator(xs) for c in problem.couplings]
    ops += [xs[j].T @ xs[i] for i, j in problem.pairs[len(problem.couplings):]]
    return [sp.coo_matrix(op) for op in ops]


def anomalous_operators(model: Model | CompiledModel, space: FockSpace
                        ) -> list[sp.coo_matrix]:
    """x_i x_j for each pair (i, j) of :attr:`CompiledModel.anomalous_pairs` (COO)."""
    xs = space.lowering_operators
    return [sp.coo_matrix(xs[i] @ xs[j]) for i, j in compiled(model).anomalous_pairs]


def expectations(ops: Sequence[sp.coo_matrix], rho: NDArray[np.complex128] | Reductions
                 ) -> NDArray[np.complex128]:
    """tr(op rho) for each COO matrix of ``ops``."""
    if isinstance(rho, Reductions):
        return rho.expectations(ops)
    return np.array([trace_with(op, rho) for op in ops], dtype=complex)


def mode_observables(rho: NDArray[np.complex128] | Reductions, space: FockSpace,
                     model: Model | CompiledModel,
                     pairs: Sequence[sp.coo_matrix]
                     ) -> tuple[NDArray[np.float64], NDArray[np.complex128],
                                NDArray[np.complex128], NDArray[np.float64]]:
    """Occupations <x^dag x>, amplitudes <x>, pair coherences <y^dag x> and ergotropies.

    Args:
        rho: the density matrix (or its :class:`~qbattery.observables.Reductions`).
        space: its space.
        model: the model (frequencies).
        pairs: :func:`pair_operators` of the model.

    Returns:
        (occupation, amplitude, pair_coherence, ergotropy) at this instant.
    """
    red = Reductions.of(rho, space.dims)
    n = len(space.dims)
    occ = np.zeros(n)
    amp = np.zeros(n, dtype=complex)
    erg = np.zeros(n)
    for i, (mode, d) in enumerate(zip(compiled(model).modes, space.dims, strict=True)):
        r = red.state((i,))
        occ[i] = float(np.real(np.diagonal(r)) @ np.arange(d))
        # tr(x r) = sum_m sqrt(m + 1) r[m + 1, m] (r Hermitian to rounding)
        amp[i] = complex(np.sqrt(np.arange(1.0, d)) @ (0.5 * (np.diagonal(r, -1)
                                                             + np.diagonal(r, 1).conj())))
        erg[i] = ergotropy_of_levels(r, mode.kind.energies(mode.frequency, d),
                                     spectrum=red.spectrum((i,)))
    return occ, amp, red.expectations(pairs), erg


def catalyst_observables(rho: NDArray[np.complex128] | Reductions, space: FockSpace,
                         model: Model | CompiledModel, *,
                         catalyst: str = "catalyst", charger: str = "charger",
                         battery: str = "battery",
                         displacement: complex = 0j,
                         correlations: bool = True) -> dict[str, float]:
    """How far the catalyst stays from a catalyst: energy aside, its correlations.

    - ``catalyst_ground_fidelity``: <0|rho_C|0> (fidelity with the ground state);
    - ``catalyst_purity``: tr rho_C^2;
    - ``mutual_information_X_Y`` = S_X + S_Y - S_XY (nats) for (catalyst, battery)
      and (charger, battery);
    - ``log_negativity_X_Y`` = ln ||rho_XY^{T_Y}||_1 for (catalyst, battery) and
      (catalyst, charger).

    Pairs whose modes the model lacks are left out. Entropies and negativities
    are invariant under local unitaries, so a displaced-frame engine may pass
    its displaced state; it then gives the catalyst's frame ``displacement``
    beta (rho_C = D(beta) rho'_C D(beta)^dag) for the ground fidelity.

    Args:
        rho: the full density matrix.
        space: its space.
        model: the model.
        catalyst: name of the catalyst mode (required in the model).
        charger: name of the charger mode.
        battery: name of the battery mode.
        displacement: the catalyst's frame displacement beta, if any.
        correlations: also the mutual informations and negativities (else the
            fidelity and purity only).
    """
    names = model.names
    red = Reductions.of(rho, space.dims)
    q = model.index(catalyst)
    rho_q = red.state((q,))
    ground = coherent_vector(-displacement, space.dims[q])  # D(beta)^dag |0> = |-beta>
    out = {"catalyst_ground_fidelity": float(np.real(ground.conj() @ rho_q @ ground)),
           "catalyst_purity": float(np.real(np.sum(rho_q * rho_q.T)))}
    if not correlations:
        return out
    for x, y, mi, ln in ((catalyst, battery, True, True), (charger, battery, True, False),
                         (catalyst, charger, False, True)):
        if x not in names or y not in names:
            continue
        i, j = model.index(x), model.index(y)
        if mi:
            out[f"mutual_information_{x}_{y}"] = (red.entropy((i,)) + red.entropy((j,))
                                                  - red.entropy((i, j)))
        if ln:
            out[f"log_negativity_{x}_{y}"] = logarithmic_negativity(red, space.dims, i, j)
    return out


def resize(m: NDArray[Any], old: FockSpace, new: FockSpace) -> tuple[NDArray[Any], float]:
    """A (packed) density matrix on ``old`` as one on ``new``, and the population dropped.

    Added levels are empty; removed levels are dropped and the trace restored
    (callers remove only levels whose population is negligible). Packing
    commutes with both.
    """
    t = m.reshape(old.dims + old.dims)
    t = t[tuple(slice(0, min(a, b)) for a, b in zip(old.dims, new.dims, strict=True)) * 2]
    pad = [(0, max(b - a, 0)) for a, b in zip(old.dims, new.dims, strict=True)] * 2
    out = np.pad(t, pad).reshape(new.size, new.size)
    kept = float(np.real(np.trace(out)))
    dropped = float(np.real(np.trace(m))) - kept
    if any(b < a for a, b in zip(old.dims, new.dims, strict=True)):
        out /= kept
    return out, dropped


class CatalystRecorder:
    """Collects :func:`catalyst_observables` over a run's output times, when the model
    has a mode called ``catalyst`` (otherwise it records nothing)."""

    NAME = "catalyst"

    def __init__(self, model: Model | CompiledModel, n_times: int, *,
                 correlations: bool = True) -> None:
        self.problem = compiled(model)
        self.correlations = correlations
        self.active = self.NAME in self.problem.names
        self.index = self.problem.index(self.NAME) if self.active else -1
        self.n_times = n_times
        self.values: dict[str, NDArray[np.float64]] = {}

    def record(self, k: int, rho: NDArray[np.complex128] | Reductions, space: FockSpace,
               displacements: NDArray[np.complex128] | None = None) -> None:
        """Record output ``k`` (``displacements``: the frame's, for a displaced state)."""
        if not self.active:
            return
        beta = 0j if displacements is None else complex(displacements[self.index])
        for name, value in catalyst_observables(rho, space, self.problem, catalyst=self.NAME,
                                                displacement=beta,
                                                correlations=self.correlations).items():
            self.values.setdefault(name, np.zeros(self.n_times))[k] = value

    def extra(self) -> dict[str, tuple[tuple[str, ...], NDArray[np.float64]]]:
        """The recorded series as ``extra`` entries (dimension ``time``)."""
        return {name: (("time",), values) for name, values in self.values.items()}


class EntropyRecorder:
    """S(t) = -Tr rho ln rho of the whole state at each output time, when ``active``
    (``SolverOptions.entropy``): one diagonalisation of the D x D state per output.
    Frame invariant, so the displaced frame records its rho'."""

    def __init__(self, active: bool, n_times: int) -> None:
        self.active = active
        self.values = np.zeros(n_times)

    def record(self, k: int, rho: NDArray[np.complex128] | Reductions) -> None:
        """Record output ``k``."""
        if self.active:
            full = rho.rho if isinstance(rho, Reductions) else rho
            self.values[k] = von_neumann_entropy(full)

    def extra(self) -> dict[str, tuple[tuple[str, ...], NDArray[np.float64]]]:
        """``{"entropy": ...}`` when active, else nothing."""
        return {"entropy": (("time",), self.values)} if self.active else {}
