r"""States on a Fock space: the initial product state, reduced states, observables.

Functions here take a full density matrix rho (D x D, basis ordered as in
:class:`~qbattery.hilbert.space.FockSpace`) and return physical numbers; they
do not care how rho was obtained, so every Fock-space engine shares them.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray

from ..model import Mode, Model
from ..observables import ergotropy, logarithmic_negativity, partial_trace, von_neumann_entropy
from .space import FockSpace, ladder

__all__ = [
    "catalyst_observables",
    "coherent_vector",
    "displaced_thermal",
    "initial_state",
    "marginals",
    "mode_observables",
    "reduced_state",
    "tails",
]

#: Extra levels used to build a displaced state before truncating it.
_PAD = 40


def displaced_thermal(occupation: float, amplitude: complex, dim: int) -> NDArray[np.complex128]:
    """D(alpha) rho_th(n) D(alpha)^dag on ``dim`` levels, renormalised to trace 1.

    Built exactly on a larger space (padded so that the first ``dim`` levels are
    converged) and truncated; the population lost at the top is what the
    truncation check reports at t = 0.
    """
    alpha = complex(amplitude)
    big = dim + _PAD + math.ceil(abs(alpha) ** 2 + 10 * abs(alpha))
    if occupation > 0:
        ratio = occupation / (1.0 + occupation)
        p = (1.0 - ratio) * ratio ** np.arange(big)
    else:
        p = np.zeros(big)
        p[0] = 1.0
    rho = np.diag(p).astype(complex)
    if alpha != 0:
        a = ladder(big).toarray()
        disp = sla.expm(alpha * a.T - np.conj(alpha) * a)
        rho = disp @ rho @ disp.conj().T
    out = rho[:dim, :dim]
    return np.asarray(out / np.trace(out).real)


def coherent_vector(amplitude: complex, dim: int) -> NDArray[np.complex128]:
    """|alpha> = exp(-|alpha|^2/2) sum_m alpha^m / sqrt(m!) |m>, truncated (not renormalised)."""
    m = np.arange(dim)
    log_norm = -0.5 * abs(amplitude) ** 2 - 0.5 * np.array([math.lgamma(k + 1) for k in m])
    if amplitude == 0:
        out = np.zeros(dim, dtype=complex)
        out[0] = 1.0
        return out
    return np.asarray(np.exp(log_norm + m * np.log(complex(amplitude))), dtype=complex)


def _mode_state(mode: Mode, dim: int, shift: complex) -> NDArray[np.complex128]:
    if mode.kind == "qubit":
        return np.diag([1.0 - mode.initial_occupation, mode.initial_occupation]).astype(complex)
    return displaced_thermal(mode.initial_occupation, mode.initial_amplitude - shift, dim)


def initial_state(model: Model, space: FockSpace, *,
                  displacements: Sequence[complex] | None = None) -> NDArray[np.complex128]:
    """The product initial state of ``model`` on ``space`` (a D x D matrix).

    Oscillators start in D(alpha0) rho_th(n0) D(alpha0)^dag, qubits in
    diag(1 - p0, p0). With ``displacements`` beta_i (for a displaced-frame
    engine) each oscillator starts in D(alpha0 - beta_i) rho_th(n0) D(...)^dag.
    """
    shifts = [0j] * len(model.modes) if displacements is None else list(displacements)
    rho = np.ones((1, 1), dtype=complex)
    for mode, dim, shift in zip(model.modes, space.dims, shifts, strict=True):
        rho = np.kron(rho, _mode_state(mode, dim, shift))
    return rho


def marginals(rho: NDArray[Any], space: FockSpace) -> list[NDArray[np.float64]]:
    """Fock-number distribution p_i(m) of every mode (from the diagonal of rho, or of its
    packed form, whose diagonal is the same)."""
    p = np.real(np.diagonal(rho)).reshape(space.dims)
    n = len(space.dims)
    return [p.sum(axis=tuple(k for k in range(n) if k != i)) for i in range(n)]


def tails(populations: Sequence[NDArray[np.float64]], space: FockSpace) -> NDArray[np.float64]:
    """Population of each oscillator's top Fock level (0 for qubits, which are not truncated)."""
    return np.array([p[-1] if kind == "oscillator" else 0.0
                     for p, kind in zip(populations, space.kinds, strict=True)])


def reduced_state(rho: NDArray[np.complex128], space: FockSpace, keep: Sequence[int]
                  ) -> NDArray[np.complex128]:
    """Reduced density matrix of the modes ``keep`` (in that order)."""
    return partial_trace(rho, space.dims, tuple(keep))


def _trace_with(op: sp.coo_matrix, rho: NDArray[np.complex128]) -> complex:
    """tr(op rho) = sum_jk op_jk rho_kj for a sparse op, in O(nnz)."""
    return complex(np.sum(op.data * rho[op.col, op.row]))


def pair_operators(model: Model, space: FockSpace) -> list[sp.coo_matrix]:
    """y^dag x for each coupling (x, y) of the model, as COO matrices."""
    ops = []
    for c in model.couplings:
        i, j = model.index(c.between[0]), model.index(c.between[1])
        ops.append(sp.coo_matrix(space.lowering(j).T @ space.lowering(i)))
    return ops


def mode_observables(rho: NDArray[np.complex128], space: FockSpace, model: Model,
                     pairs: Sequence[sp.coo_matrix]
                     ) -> tuple[NDArray[np.float64], NDArray[np.complex128],
                                NDArray[np.complex128], NDArray[np.float64]]:
    """Occupations <x^dag x>, amplitudes <x>, pair coherences <y^dag x> and ergotropies.

    Args:
        rho: the density matrix.
        space: its space.
        model: the model (frequencies).
        pairs: :func:`pair_operators` of the model.

    Returns:
        (occupation, amplitude, pair_coherence, ergotropy) at this instant.
    """
    n = len(space.dims)
    occ = np.zeros(n)
    amp = np.zeros(n, dtype=complex)
    erg = np.zeros(n)
    for i, (mode, d) in enumerate(zip(model.modes, space.dims, strict=True)):
        r = reduced_state(rho, space, (i,))
        r = 0.5 * (r + r.conj().T)
        occ[i] = float(np.real(np.diagonal(r)) @ np.arange(d))
        # tr(x r) = sum_m sqrt(m + 1) r[m + 1, m]
        amp[i] = complex(np.sqrt(np.arange(1.0, d)) @ np.diagonal(r, -1))
        erg[i] = ergotropy(r, mode.frequency, kind=mode.kind)
    coh = np.array([_trace_with(op, rho) for op in pairs], dtype=complex)
    return occ, amp, coh, erg


def catalyst_observables(rho: NDArray[np.complex128], space: FockSpace, model: Model, *,
                         catalyst: str = "catalyst", charger: str = "charger",
                         battery: str = "battery",
                         displacement: complex = 0j) -> dict[str, float]:
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
    """
    names = model.names
    q = model.index(catalyst)
    rho_q = reduced_state(rho, space, (q,))
    ground = coherent_vector(-displacement, space.dims[q])  # D(beta)^dag |0> = |-beta>
    out = {"catalyst_ground_fidelity": float(np.real(ground.conj() @ rho_q @ ground)),
           "catalyst_purity": float(np.real(np.sum(rho_q * rho_q.T)))}
    entropy = {catalyst: von_neumann_entropy(rho_q)}

    def s(name: str) -> float:
        if name not in entropy:
            entropy[name] = von_neumann_entropy(reduced_state(rho, space, (model.index(name),)))
        return entropy[name]

    for x, y, mi, ln in ((catalyst, battery, True, True), (charger, battery, True, False),
                         (catalyst, charger, False, True)):
        if x not in names or y not in names:
            continue
        i, j = model.index(x), model.index(y)
        two = reduced_state(rho, space, (i, j))
        if mi:
            out[f"mutual_information_{x}_{y}"] = s(x) + s(y) - von_neumann_entropy(two)
        if ln:
            out[f"log_negativity_{x}_{y}"] = logarithmic_negativity(
                two, (space.dims[i], space.dims[j]), 0, 1)
    return out
