r"""Compiled kernels (numba): the packed Lindblad right-hand side and the Runge-Kutta
combinations.

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
D^2 doubles; 1.5-2.9x faster at D = 512-1152, ``benchmarks/README.md``).

The loops index M, M^T and the output directly with unsigned indices: numba's
negative-index wraparound on a signed index stops LLVM from vectorising (0.78 vs
0.10 ns per element measured), and views (the earlier way round it) cost ~15 ns
each to make, ~90 per row: at D = 176 the kernel took 212 us with views, 131 us
without; at D = 32, 32 us and 6.6 us. Only floating-point contraction (FMA) is allowed (``fastmath =
{"contract"}``): no reassociation, and NaN and infinity keep their meaning, so a
blow-up still shows in the integrator's error norm.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import numba
import numpy as np
import scipy.sparse as sp
from numba import njit, prange
from numpy.typing import NDArray

__all__ = ["Diagonals", "combine", "packed_rhs", "packed_rhs_threads",
           "transpose_into", "transpose_threads", "using_threads"]

#: Tile of the compiled transpose.
_TILE = 32
#: Below this dimension of rho the kernels run on one thread whatever is asked (a
#: parallel launch costs more than the work: the displaced frame's right-hand side on
#: 1 / 2 threads, 8.4 / 17.3 us at D = 32, 37 / 26 us at 72, 134 / 86 us at 176).
PARALLEL_MIN_DIM = 64

#: Index type of the compiled loops: numba wraps negative signed indices around, a
#: branch per element that stops LLVM from vectorising; unsigned indices have none.
_U = np.uint64

#: Below this fraction of stored entries on the diagonals used, the CSR path is kept.
MIN_FILL = 0.5


@njit(cache=True, boundscheck=False, fastmath={"contract"})
def _axpy(o: Any, a: float, x: Any) -> None:  # pragma: no cover - compiled
    for k in range(o.size):
        o[k] += a * x[k]


@njit(cache=True, boundscheck=False)
def _transpose_band(m: Any, out: Any, i0: int) -> None:  # pragma: no cover - compiled
    """out[:, i0:i0 + tile] = m[i0:i0 + tile, :]^T, by square tiles."""
    n = m.shape[0]
    i1 = min(i0 + _TILE, n)
    for j0 in range(0, n, _TILE):
        j1 = min(j0 + _TILE, n)
        blk = m[i0:i1, j0:j1]
        ob = out[j0:j1, i0:i1]
        for j in range(j1 - j0):
            for i in range(i1 - i0):
                ob[j, i] = blk[i, j]


@njit(cache=True, boundscheck=False)
def transpose_into(m: Any, out: Any) -> None:  # pragma: no cover - compiled
    """out = m^T for a square C-contiguous m."""
    for i0 in range(0, m.shape[0], _TILE):
        _transpose_band(m, out, i0)


@njit(cache=True, boundscheck=False, parallel=True)
def transpose_threads(m: Any, out: Any) -> None:  # pragma: no cover - compiled
    """:func:`transpose_into` with the bands shared among numba's threads."""
    for b in prange((m.shape[0] + _TILE - 1) // _TILE):
        _transpose_band(m, out, b * _TILE)


@njit(cache=True, boundscheck=False, fastmath={"contract"})
def _half(out: Any, r: int, offs: Any, vals: Any, src: Any,
          sign: float) -> None:  # pragma: no cover - compiled
    """out[r] += sum_d v_d[r] src[r + d] + sign v_d * src[r, . + d] (one half of G),
    two rows of src, or two diagonals over their common range, per pass over out[r]."""
    dim = src.shape[0]
    ru = _U(r)
    n = offs.size
    held, a0 = -1, 0.0  # a row of src waiting for its pair
    for q in range(n):
        d = offs[q]
        if 0 <= r + d < dim:
            a = vals[_U(q), ru]
            if held < 0:
                held, a0 = r + d, a
            else:
                s0, s1 = _U(held), _U(r + d)
                for k in range(dim):
                    ku = _U(k)
                    out[ru, ku] += a0 * src[s0, ku] + a * src[s1, ku]
                held = -1
    if held >= 0:
        s0 = _U(held)
        for k in range(dim):
            out[ru, _U(k)] += a0 * src[s0, _U(k)]
    q = 0
    while q < n:
        d0 = offs[q]
        q0 = _U(q)
        if q + 1 < n:
            d1 = offs[q + 1]
            q1 = _U(q + 1)
            lo, hi = max(0, -d0, -d1), min(dim, dim - d0, dim - d1)
            if lo >= hi:  # no common range: one at a time
                lo = hi = min(dim, dim - d0)
            # [lo, hi) within both ranges; the ends of each apart
            for k in range(max(0, -d0), lo):
                out[ru, _U(k)] += sign * vals[q0, _U(k)] * src[ru, _U(k + d0)]
            for k in range(max(0, -d1), min(lo, dim - d1)):
                out[ru, _U(k)] += sign * vals[q1, _U(k)] * src[ru, _U(k + d1)]
            for k in range(lo, hi):
                ku = _U(k)
                out[ru, ku] += sign * (vals[q0, ku] * src[ru, _U(k + d0)]
                                       + vals[q1, ku] * src[ru, _U(k + d1)])
            for k in range(hi, min(dim, dim - d0)):
                out[ru, _U(k)] += sign * vals[q0, _U(k)] * src[ru, _U(k + d0)]
            for k in range(max(hi, -d1), min(dim, dim - d1)):
                out[ru, _U(k)] += sign * vals[q1, _U(k)] * src[ru, _U(k + d1)]
            q += 2
        else:
            for k in range(max(0, -d0), min(dim, dim - d0)):
                out[ru, _U(k)] += sign * vals[q0, _U(k)] * src[ru, _U(k + d0)]
            q += 1


@njit(cache=True, boundscheck=False, fastmath={"contract"})
def _rows(r0: int, r1: int, m: Any, mt: Any, offr: Any, vr: Any, offi: Any, vi: Any,
          strides: Any, svals: Any, raising: Any, out: Any) -> None:  # pragma: no cover
    """Rows r0 to r1 - 1 of the packed right-hand side (:func:`packed_rhs`); one call
    per block of rows (a call per row cost ~100 ns: 9 vs 6 us at D = 32)."""
    dim = m.shape[0]
    for r in range(r0, r1):
        ru = _U(r)
        for k in range(dim):
            out[ru, _U(k)] = 0.0
        _half(out, r, offr, vr, m, 1.0)
        _half(out, r, offi, vi, mt, -1.0)
        for q in range(strides.size):
            st = strides[q]
            qu = _U(q)
            if raising[q]:  # (x^dag M x)[r, k] = s[r - R] s[k - R] M[r - R, k - R]
                if r >= st and svals[qu, _U(r - st)] != 0.0:
                    a, su = svals[qu, _U(r - st)], _U(r - st)
                    for k in range(dim - st):
                        out[ru, _U(k + st)] += a * svals[qu, _U(k)] * m[su, _U(k)]
            elif r + st < dim and svals[qu, ru] != 0.0:  # (x M x^dag)[r, k]
                a, su = svals[qu, ru], _U(r + st)  # = s[r] s[k] M[r + R, k + R]
                for k in range(dim - st):
                    out[ru, _U(k)] += a * svals[qu, _U(k)] * m[su, _U(k + st)]


@njit(cache=True, boundscheck=False, fastmath={"contract"})
def packed_rhs(m: Any, mt: Any, offr: Any, vr: Any, offi: Any, vi: Any, strides: Any,
               svals: Any, raising: Any, out: Any) -> None:  # pragma: no cover - compiled
    """out = packed d rho/dt (module doc); ``mt`` = M^T, (offr, vr) and (offi, vi) the
    diagonals of G_r and G_i, jump q shifts by ``strides[q]`` with weights
    ``svals[q]`` (s_r, 0 at the top level), raising or lowering."""
    _rows(0, m.shape[0], m, mt, offr, vr, offi, vi, strides, svals, raising, out)


#: Rows per task of :func:`packed_rhs_threads`.
_ROW_BLOCK = 16


@njit(cache=True, boundscheck=False, fastmath={"contract"}, parallel=True)
def packed_rhs_threads(m: Any, mt: Any, offr: Any, vr: Any, offi: Any, vi: Any,
                       strides: Any, svals: Any, raising: Any,
                       out: Any) -> None:  # pragma: no cover - compiled
    """:func:`packed_rhs` with blocks of rows shared among numba's threads (rows are
    independent: each is written once from rows of M and M^T)."""
    dim = m.shape[0]
    for b in prange((dim + _ROW_BLOCK - 1) // _ROW_BLOCK):
        _rows(b * _ROW_BLOCK, min(dim, (b + 1) * _ROW_BLOCK), m, mt, offr, vr, offi, vi,
              strides, svals, raising, out)


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

    def apply(self, m: NDArray[np.float64], data: NDArray[np.float64], mt: NDArray[np.float64],
              out: NDArray[np.float64], threads: int = 1) -> None:
        """out = packed d rho/dt of ``m`` for the stacked matrix with values ``data``
        (``mt`` a work matrix for M^T), on ``threads`` of numba's threads."""
        if m.shape[0] < PARALLEL_MIN_DIM:
            threads = 1
        transpose: Any = transpose_into if threads == 1 else transpose_threads
        rows: Any = packed_rhs if threads == 1 else packed_rhs_threads
        with _threads_for(threads):
            transpose(m, mt)
            rows(m, mt, *self.arguments(data), out)


#: Elements per chunk of :func:`combine` (a chunk of each used row stays in L2 while
#: the outputs take it).
_CHUNK = 8192


@njit(cache=True, boundscheck=False, fastmath={"contract"})
def _combine_chunk(c: Any, w: Any, n: int, rows: Any, o: Any,
                   k0: int) -> None:  # pragma: no cover - compiled
    """o = sum_j c[j] w[rows[j] * n + k0 + .] on one chunk, four rows per pass over o."""
    m = o.size
    o[:] = 0.0
    j = 0
    while j < rows.size:
        if j + 4 <= rows.size:
            c0, c1, c2, c3 = c[j], c[j + 1], c[j + 2], c[j + 3]
            x0 = w[rows[j] * n + k0:rows[j] * n + k0 + m]
            x1 = w[rows[j + 1] * n + k0:rows[j + 1] * n + k0 + m]
            x2 = w[rows[j + 2] * n + k0:rows[j + 2] * n + k0 + m]
            x3 = w[rows[j + 3] * n + k0:rows[j + 3] * n + k0 + m]
            for k in range(m):
                o[k] += c0 * x0[k] + c1 * x1[k] + c2 * x2[k] + c3 * x3[k]
            j += 4
        elif j + 2 <= rows.size:
            c0, c1 = c[j], c[j + 1]
            x0 = w[rows[j] * n + k0:rows[j] * n + k0 + m]
            x1 = w[rows[j + 1] * n + k0:rows[j + 1] * n + k0 + m]
            for k in range(m):
                o[k] += c0 * x0[k] + c1 * x1[k]
            j += 2
        else:
            _axpy(o, c[j], w[rows[j] * n + k0:rows[j] * n + k0 + m])
            j += 1


@njit(cache=True, boundscheck=False, fastmath={"contract"})
def _combine_at(coef: Any, w: Any, n: int, rows: Any, out: Any,
                chunk: int) -> None:  # pragma: no cover - compiled
    k0 = chunk * _CHUNK
    k1 = min(k0 + _CHUNK, n)
    for i in range(coef.shape[0]):
        _combine_chunk(coef[i], w, n, rows, out[i * n + k0:i * n + k1], k0)


@njit(cache=True, boundscheck=False, fastmath={"contract"})
def _combine(coef: Any, w: Any, n: int, rows: Any,
             out: Any) -> None:  # pragma: no cover - compiled
    for chunk in range((n + _CHUNK - 1) // _CHUNK):
        _combine_at(coef, w, n, rows, out, chunk)


@njit(cache=True, boundscheck=False, fastmath={"contract"}, parallel=True)
def _combine_threads(coef: Any, w: Any, n: int, rows: Any,
                     out: Any) -> None:  # pragma: no cover - compiled
    for chunk in prange((n + _CHUNK - 1) // _CHUNK):
        _combine_at(coef, w, n, rows, out, chunk)


def combine(coef: NDArray[np.float64], w: NDArray[np.float64], rows: NDArray[np.int64],
            out: NDArray[np.float64], threads: int = 1) -> None:
    """out[i] = sum_j coef[i, j] w[rows[j]] for C-contiguous real w (rows x n) and out
    (p x n): a Runge-Kutta stage, the new state with its error estimates, or a dense
    output, reading only the rows a tableau uses, by chunks (each row's chunk is read
    once for all p outputs) and four rows per pass over the output (1.4x faster than
    BLAS ``dgemv`` at 7-13 rows of 1152^2 doubles; 1.7-1.9x on 2 threads)."""
    if not (w.flags.c_contiguous and out.flags.c_contiguous):
        raise ValueError("combine needs C-contiguous w and out")
    if w.shape[1] < PARALLEL_MIN_DIM ** 2:
        threads = 1
    run: Any = _combine if threads == 1 else _combine_threads
    with _threads_for(threads):
        run(np.ascontiguousarray(coef), w.reshape(-1), w.shape[1], rows, out.reshape(-1))


class _Active(threading.local):
    """The thread count the innermost :func:`using_threads` of this Python thread has set
    (1: none). Per thread, as numba's own count is."""

    threads = 1


_active = _Active()


#: The context of a call that changes nothing (reusable).
_UNCHANGED = contextlib.nullcontext()


def _threads_for(threads: int) -> contextlib.AbstractContextManager[Any]:
    """:func:`using_threads`, or nothing to enter when the count is already set (one
    thread, or inside an integration that set it): no generator per kernel call."""
    return _UNCHANGED if threads in (1, _active.threads) else using_threads(threads)


@contextlib.contextmanager
def using_threads(threads: int) -> Iterator[None]:
    """Run the body with ``threads`` of numba's threads, restored after it. Nothing to
    do for one, or when an enclosing call has set the same count: an integration sets
    it once around all its steps (setting and restoring it around every kernel call
    cost ~10 us, 12 000 times in Fig. 6a)."""
    if threads == 1 or threads == _active.threads:
        yield
        return
    previous, outer = numba.get_num_threads(), _active.threads
    config: Any = numba.config
    numba.set_num_threads(min(threads, int(config.NUMBA_NUM_THREADS)))
    _active.threads = threads
    try:
        yield
    finally:
        numba.set_num_threads(previous)
        _active.threads = outer
