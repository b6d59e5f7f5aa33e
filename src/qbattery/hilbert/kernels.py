r"""Compiled kernel of the packed Lindblad right-hand side (numba).

The packed right-hand side of :meth:`qbattery.hilbert.Lindblad.apply_packed` is, with
G = -i K = G_r + i G_i and the packed state M (rho = (M + M^T)/2 + i (M - M^T)/2),

    out = G_r M + M G_r^T + G_i M^T - (G_i M)^T + sum_c s_c M s_c   (shifted copies),

and the generators of these networks have few diagonals (dynamiqs' ``dia`` layout
rests on the same fact): the Fock engine's qubit catalyst has one in G_r (the damping)
and six in G_i (the couplings and the drive). With G[r, r + d] = v_d[r], row r of
the output is

    out[r, k] = sum_d v^r_d[r] M[r + d, k] + v^r_d[k] M[r, k + d]
              + sum_d v^i_d[r] M^T[r + d, k] - v^i_d[k] M^T[r, k + d] + jumps,

every term a scaled or elementwise-weighted copy of a contiguous row of M or M^T:
one pass that reads rows already in cache and writes each output row once, instead
of SciPy's four sparse products, a transposed add and the jumps (about 15 passes over
D^2 doubles; 2.3x faster at D = 800-1152, ``benchmarks/README.md``).

The inner loops index views from 0 (numba's negative-index wraparound on a loop
variable that may be negative stops LLVM from vectorising: 0.78 vs 0.10 ns per
element measured).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from numba import njit
from numpy.typing import NDArray

__all__ = ["Diagonals", "packed_rhs", "transpose_into"]

#: Tile of the compiled transpose.
_TILE = 32
#: Below this fraction of stored entries on the diagonals used, the CSR path is kept.
MIN_FILL = 0.5


@njit(cache=True, boundscheck=False, fastmath=True)
def _axpy(o: Any, a: float, x: Any) -> None:  # pragma: no cover - compiled
    for k in range(o.size):
        o[k] += a * x[k]


@njit(cache=True, boundscheck=False, fastmath=True)
def _vaxpy(o: Any, v: Any, x: Any, sign: float) -> None:  # pragma: no cover - compiled
    for k in range(o.size):
        o[k] += sign * v[k] * x[k]


@njit(cache=True, boundscheck=False, fastmath=True)
def _waxpy(o: Any, a: float, s: Any, x: Any) -> None:  # pragma: no cover - compiled
    for k in range(o.size):
        o[k] += a * s[k] * x[k]


@njit(cache=True, boundscheck=False)
def transpose_into(m: Any, out: Any) -> None:  # pragma: no cover - compiled
    """out = m^T for a square C-contiguous m, by square tiles."""
    n = m.shape[0]
    for i0 in range(0, n, _TILE):
        i1 = min(i0 + _TILE, n)
        for j0 in range(0, n, _TILE):
            j1 = min(j0 + _TILE, n)
            blk = m[i0:i1, j0:j1]
            ob = out[j0:j1, i0:i1]
            for j in range(j1 - j0):
                for i in range(i1 - i0):
                    ob[j, i] = blk[i, j]


@njit(cache=True, boundscheck=False, fastmath=True)
def _generator_part(o: Any, r: int, offs: Any, vals: Any, src: Any,
                    sign: float) -> None:  # pragma: no cover - compiled
    """o += sum_d v_d[r] src[r + d] + sign v_d * src[r, . + d] (one half of G)."""
    dim = src.shape[0]
    row = src[r]
    for q in range(offs.size):
        d = offs[q]
        v = vals[q]
        if 0 <= r + d < dim:
            _axpy(o, v[r], src[r + d])
        lo = max(0, -d)
        hi = min(dim, dim - d)
        _vaxpy(o[lo:hi], v[lo:hi], row[lo + d:hi + d], sign)


@njit(cache=True, boundscheck=False, fastmath=True)
def packed_rhs(m: Any, mt: Any, offr: Any, vr: Any, offi: Any, vi: Any, strides: Any,
               svals: Any, raising: Any, out: Any) -> None:  # pragma: no cover - compiled
    """out = packed d rho/dt (module doc); ``mt`` = M^T, (offr, vr) and (offi, vi) the
    diagonals of G_r and G_i, jump q shifts by ``strides[q]`` with weights
    ``svals[q]`` (s_r, 0 at the top level), raising or lowering."""
    dim = m.shape[0]
    for r in range(dim):
        o = out[r]
        o[:] = 0.0
        _generator_part(o, r, offr, vr, m, 1.0)
        _generator_part(o, r, offi, vi, mt, -1.0)
        for q in range(strides.size):
            st = strides[q]
            s = svals[q]
            if raising[q]:  # (x^dag M x)[r, k] = s[r - R] s[k - R] M[r - R, k - R]
                if r >= st and s[r - st] != 0.0:
                    _waxpy(o[st:], s[r - st], s[:dim - st], m[r - st, :dim - st])
            elif r + st < dim and s[r] != 0.0:  # (x M x^dag)[r, k] = s[r] s[k] M[r + R, k + R]
                _waxpy(o[:dim - st], s[r], s[:dim - st], m[r + st, st:])


class Diagonals:
    """The arguments of :func:`packed_rhs` for one :class:`~qbattery.hilbert.Lindblad`
    and one sparsity pattern of its stacked real generator [G_r; G_i] (2D x D CSR):
    the offsets d and values v[q, r] = G[r, r + d] of each half, and the local jumps
    as (stride, weights padded to D, raising).

    Built once per pattern; :meth:`arguments` scatters a matrix's values (the
    pattern's, updated in place by the engines) into the diagonals.
    """

    def __init__(self, stacked: sp.csr_matrix,
                 shifts: Sequence[tuple[int, NDArray[np.float64], bool]]) -> None:
        dim = stacked.shape[1]
        self.indptr, self.indices = stacked.indptr, stacked.indices  # the pattern's identity
        rows = np.repeat(np.arange(2 * dim), np.diff(stacked.indptr))
        off = stacked.indices - rows % dim
        self.halves: list[tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.int64],
                                slice]] = []
        stored = 0
        for h in range(2):
            sel = slice(int(stacked.indptr[h * dim]), int(stacked.indptr[(h + 1) * dim]))
            offsets, inverse = np.unique(off[sel], return_inverse=True)
            values = np.zeros((offsets.size, dim))
            position = inverse.astype(np.int64) * dim + rows[sel] % dim
            self.halves.append((offsets.astype(np.int64), values, position, sel))
            stored += offsets.size * dim
        #: Fraction of the diagonals' slots that the pattern fills.
        self.fill_ratio = stacked.nnz / stored if stored else 1.0
        svals = np.zeros((len(shifts), dim))
        for q, (_, s, _) in enumerate(shifts):
            svals[q, :s.size] = s
        self.jumps = (np.array([s for s, _, _ in shifts], dtype=np.int64), svals,
                      np.array([r for _, _, r in shifts], dtype=np.bool_))

    def matches(self, stacked: sp.csr_matrix) -> bool:
        return stacked.indptr is self.indptr and stacked.indices is self.indices

    def arguments(self, data: NDArray[np.float64]) -> tuple[NDArray[Any], ...]:
        """(offr, vr, offi, vi, strides, svals, raising) for the stacked matrix with
        values ``data``."""
        out: list[NDArray[Any]] = []
        for offsets, values, position, sel in self.halves:
            values.ravel()[position] = data[sel]
            out += [offsets, values]
        return (*out, *self.jumps)
