r"""Truncated Fock spaces of a network and its operators in the rotating frame.

Every mode i gets ``dims[i]`` levels: an oscillator truncated at its cutoff,
a qubit two levels. The truncated lowering operator
x = sum_{m>=1} sqrt(m) |m-1><m| is, for two levels, exactly sigma_- (|g> = |0>,
|e> = |1>), so qubits and oscillators share one code path. Basis states are
ordered as ``numpy.kron`` orders them (mode 0 most significant), the same order
as :func:`qbattery.observables.partial_trace` and QuTiP's ``tensor``.

In the frame rotating at omega_r = ``model.frame_frequency`` the Hamiltonian is

    H(t) = sum_i (omega_i - omega_r) x_i^dag x_i + sum_(i,j) g_ij (x_i x_j^dag + x_i^dag x_j)
         + sum_k F_k (exp(-i delta_k t) x_k + exp(i delta_k t) x_k^dag),

delta_k = omega_k - omega_r: drives at the frame frequency are static, others
oscillate. All operators are real sparse matrices; only the phases are complex.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as sla
from numpy.typing import NDArray

from ..errors import ModelError
from ..model import Drive, Model

__all__ = ["FockSpace", "Jump", "RotatingHamiltonian", "jumps", "rotating_hamiltonian"]


def ladder(dim: int) -> sp.csr_matrix:
    """Truncated lowering operator sum_{m=1}^{dim-1} sqrt(m) |m-1><m| (real, sparse)."""
    return sp.diags(np.sqrt(np.arange(1.0, dim)), 1, shape=(dim, dim), format="csr")


@dataclass(frozen=True)
class FockSpace:
    """The product space of a network's modes, each truncated to ``dims[i]`` levels.

    Args:
        names: mode names, in model order.
        kinds: ``"oscillator"`` or ``"qubit"`` per mode.
        dims: levels per mode (2 for a qubit).
    """

    names: tuple[str, ...]
    kinds: tuple[str, ...]
    dims: tuple[int, ...]

    def __post_init__(self) -> None:
        if not len(self.names) == len(self.kinds) == len(self.dims):
            raise ValueError("names, kinds and dims must have the same length")
        for name, kind, d in zip(self.names, self.kinds, self.dims, strict=True):
            if kind == "qubit" and d != 2:
                raise ModelError(f"cutoff.{name}", f"a qubit has 2 levels, got {d}")
            if d < 2:
                raise ModelError(f"cutoff.{name}", f"expected >= 2 levels, got {d}")

    @classmethod
    def of(cls, model: Model, cutoffs: Mapping[str, int]) -> FockSpace:
        """The space of ``model`` with oscillator ``cutoffs`` {name: levels} (qubits: 2)."""
        dims = []
        for m in model.modes:
            if m.kind == "qubit":
                dims.append(2)
            elif m.name not in cutoffs:
                raise ModelError(f"cutoff.{m.name}", "no cutoff for this oscillator")
            else:
                dims.append(int(cutoffs[m.name]))
        return cls(model.names, tuple(m.kind for m in model.modes), tuple(dims))

    @property
    def size(self) -> int:
        """Dimension D of the product space."""
        return int(np.prod(self.dims))

    @property
    def oscillators(self) -> tuple[int, ...]:
        """Indices of the oscillator modes (the truncated ones)."""
        return tuple(i for i, k in enumerate(self.kinds) if k == "oscillator")

    def embed(self, op: sp.spmatrix, i: int) -> sp.csr_matrix:
        """The local operator ``op`` acting on mode ``i`` of the product space."""
        before = int(np.prod(self.dims[:i]))
        after = int(np.prod(self.dims[i + 1:]))
        return sp.kron(sp.kron(sp.identity(before, format="csr"), op),
                       sp.identity(after, format="csr"), format="csr")

    def lowering(self, i: int) -> sp.csr_matrix:
        """x_i in the product space (a_i or sigma_-), real and sparse."""
        return self.lowering_operators[i]

    @cached_property
    def lowering_operators(self) -> tuple[sp.csr_matrix, ...]:
        """x_i for every mode."""
        return tuple(self.embed(ladder(d), i) for i, d in enumerate(self.dims))

    @cached_property
    def levels(self) -> NDArray[np.int64]:
        """(modes, D): the Fock number m_i of every basis state."""
        grids = np.indices(self.dims).reshape(len(self.dims), -1)
        return np.asarray(grids, dtype=np.int64)


@dataclass(frozen=True)
class Jump:
    """A collapse operator sqrt(rate) x_mode (or sqrt(rate) x_mode^dag when ``raising``)."""

    mode: int
    rate: float
    raising: bool = False


def jumps(model: Model) -> list[Jump]:
    """Collapse operators of the baths: gamma (N + 1) D[x] + gamma N D[x^dag] per bath."""
    out = []
    for i, rate, occ in model.bath_terms():
        out.append(Jump(i, rate * (occ + 1.0)))
        if occ > 0:
            out.append(Jump(i, rate * occ, raising=True))
    return out


def jump_operator(space: FockSpace, jump: Jump) -> sp.csr_matrix:
    """The sparse matrix sqrt(rate) x (or x^dag) of ``jump``."""
    x = space.lowering(jump.mode)
    return (np.sqrt(jump.rate) * (x.T if jump.raising else x)).tocsr()


@dataclass(frozen=True)
class RotatingHamiltonian:
    """H(t) = static + sum_(delta, V) (exp(i delta t) V + exp(-i delta t) V^T), V real.

    V = F x for a drive detuned by delta from the frame (the convention of
    :mod:`qbattery.model`: F (exp(i delta t) x + exp(-i delta t) x^dag)).

    Args:
        static: the time-independent part (real, sparse).
        oscillating: ``(delta, V)`` for drives detuned from the frame by delta.
    """

    static: sp.csr_matrix
    oscillating: tuple[tuple[float, sp.csr_matrix], ...] = ()

    def spread(self) -> float:
        """An upper bound on E_max - E_min of H(t) over all t.

        Exact extreme eigenvalues of the static part (Lanczos) plus
        2 ||V + V^T|| <= 4 sqrt(||V||_1 ||V||_inf) for each oscillating part.
        """
        h = self.static
        if h.shape[0] <= 64:
            ev = np.linalg.eigvalsh(h.toarray())
            out = float(ev[-1] - ev[0])
        else:
            hi = sla.eigsh(h, k=1, which="LA", return_eigenvectors=False)[0]
            lo = sla.eigsh(h, k=1, which="SA", return_eigenvectors=False)[0]
            out = float(hi - lo)
        for _, v in self.oscillating:
            a = abs(v)
            out += 4.0 * float(np.sqrt(a.sum(axis=0).max() * a.sum(axis=1).max()))
        return out

    def at(self, t: float) -> sp.csr_matrix:
        """H(t) as a sparse matrix (real when nothing oscillates)."""
        if not self.oscillating:
            return self.static
        h = self.static.astype(complex)
        for delta, v in self.oscillating:
            phase = np.exp(1j * delta * t)
            h = h + phase * v + np.conj(phase) * v.T
        return h.tocsr()


def rotating_hamiltonian(model: Model, space: FockSpace, *,
                         drives: Sequence[Drive] | None = None) -> RotatingHamiltonian:
    """The network Hamiltonian in the frame rotating at ``model.frame_frequency``.

    Args:
        model: the network.
        space: its truncated space.
        drives: the drives to include (default: all of the model's; the frame
            stays ``model.frame_frequency`` either way).
    """
    wr = model.frame_frequency
    xs = space.lowering_operators
    h = sp.csr_matrix((space.size, space.size))
    for i, m in enumerate(model.modes):
        if m.frequency != wr:
            h = h + (m.frequency - wr) * (xs[i].T @ xs[i])
    for c in model.couplings:
        i, j = model.index(c.between[0]), model.index(c.between[1])
        hop = xs[i] @ xs[j].T
        h = h + c.strength * (hop + hop.T)
    groups: dict[float, sp.csr_matrix] = {}
    for d in model.drives if drives is None else drives:
        v = d.amplitude * xs[model.index(d.mode)]
        delta = d.frequency - wr
        if delta == 0.0:
            h = h + v + v.T
        else:
            groups[delta] = groups[delta] + v if delta in groups else v
    return RotatingHamiltonian(sp.csr_matrix(h, dtype=float),
                               tuple((k, sp.csr_matrix(v)) for k, v in groups.items()))
