r"""Matrix-form right-hand side of the Lindblad master equation on a Fock space.

    d rho/dt = -i (K rho - rho K^dag) + sum_c c rho c^dag,   K = H - (i/2) sum_c c^dag c,

for Hermitian rho. With Y = -i K rho this is Y + Y^dag + sum_c c rho c^dag, so one
sparse product (K rho) and two transpositions (one to take the Hermitian part of
rho, see :meth:`Lindblad.apply`) are needed. The jumps
c = sqrt(rate) x_i or sqrt(rate) x_i^dag act on one mode, so c rho c^dag is a
shifted, weighted copy of rho (no matrix product) and sum_c c^dag c is diagonal
(folded into K). The cost per evaluation is O(nnz(H) D) memory-bound work, with
no D^2 x D^2 superoperator.

Packed real storage (:meth:`Lindblad.apply_packed`): a Hermitian rho is stored as
the real matrix M = Re rho + Im rho (Re rho symmetric, Im rho antisymmetric, so
rho = (M + M^T)/2 + i (M - M^T)/2). Half the numbers of the complex matrix, and
every state an integrator builds from packed derivatives is Hermitian exactly,
so no projection is needed. The jumps map symmetric to symmetric and
antisymmetric to antisymmetric matrices with real weights, so they act on M
as they act on rho.

Other jumps (a linear combination of several modes' lowering operators, possibly
with complex weights, or a number operator x^dag x) are applied as whole
dissipators c rho c^dag - {c^dag c, rho}/2 with sparse products (two per jump and
term), after the local ones; they are not folded into the generator, so
:meth:`Lindblad.generator` and ``half_decay`` hold the local jumps only.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..observables import pack_hermitian, unpack_hermitian
from ._compiled import kernels as _kernels
from .space import FockSpace, Jump, jump_operator

if TYPE_CHECKING:
    from . import kernels

try:  # SciPy's kernel of csr @ dense, Y += A X (accumulates: no temporaries)
    from scipy.sparse._sparsetools import csr_matvecs as _matvecs
except ImportError:  # pragma: no cover - a SciPy without it: the public products
    _matvecs = None

__all__ = ["Lindblad", "add_adjoint", "pack_hermitian", "unpack_hermitian"]

#: The packed right-hand side's kernel: "numba" (:mod:`.kernels`, one compiled pass by
#: diagonals) or "numpy" (SciPy's CSR products; kept as the kernel's test oracle and for
#: generators whose diagonals are mostly empty).
KERNEL = "numba"

#: Row-block size of the cache-friendly Y + Y^dag and jumps (32 was fastest at D ~ 1700).
_BLOCK = 32


#: Below this dimension a matrix fits in cache and blocking only adds overhead.
_SMALL = 256


def add_adjoint(y: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Y + Y^dag of a square matrix, by row blocks (a plain transpose is cache-hostile)."""
    n = y.shape[0]
    if n <= _SMALL:
        return y + y.conj().T
    out = np.empty_like(y)
    buf = np.empty((_BLOCK, n), dtype=y.dtype)
    for start in range(0, n, _BLOCK):
        _add_adjoint_rows(y, out, slice(start, min(start + _BLOCK, n)), buf)
    return out


def _add_adjoint_rows(y: NDArray[np.complex128], out: NDArray[np.complex128], rows: slice,
                      buf: NDArray[np.complex128]) -> None:
    """out[rows] = (Y + Y^dag)[rows], conjugating the column block into ``buf`` (no
    temporaries: 1.6x faster than ``y[:, rows].conj().T`` at D = 1682)."""
    b = buf[: rows.stop - rows.start]
    np.conjugate(y[:, rows].T, out=b)
    np.add(y[rows], b, out=out[rows])


#: Tile size of :func:`transpose` (128: 1.4 vs 2.2 ms for numpy's copy at D = 1152).
_TILE = 128


def transpose(m: NDArray[Any], out: NDArray[Any] | None = None) -> NDArray[Any]:
    """A C-contiguous copy of the square m^T (into ``out`` if given), by square tiles
    above ``_SMALL`` (numpy's strided copy suffers cache-set conflicts at row strides
    near powers of two)."""
    n = m.shape[0]
    if out is None:
        out = np.empty_like(m)
    if n <= _SMALL:
        np.copyto(out, m.T)
        return out
    for i in range(0, n, _TILE):
        for j in range(0, n, _TILE):
            out[i:i + _TILE, j:j + _TILE] = m[j:j + _TILE, i:i + _TILE].T
    return out


class Lindblad:
    """The dissipative part of a model on a Fock space, and the full right-hand side.

    Args:
        space: the truncated product space.
        jumps: the collapse operators (see :func:`qbattery.hilbert.jumps`).
    """

    def __init__(self, space: FockSpace, jumps: Sequence[Jump],
                 extra: Sequence[Any] = (), *, threads: int = 1) -> None:
        self.space = space
        #: Threads of the compiled right-hand side (:meth:`.kernels.Diagonals.apply`).
        self.threads = threads
        self.jumps = tuple(jumps)
        #: Further dissipators, each with ``apply(rho) -> D rho`` on the complex Hermitian
        #: rho and a ``decay_bound`` (the Bloch-Redfield baths, :mod:`.redfield`).
        self.extra = tuple(extra)
        levels = space.levels
        half_decay = np.zeros(space.size)
        self._shifts: list[tuple[int, NDArray[np.float64], bool]] = []
        self._general: list[tuple[sp.csr_matrix, sp.csr_matrix]] = []
        for jump in self.jumps:
            if not jump.local:
                c = jump_operator(space, jump)
                self._general.append((c, sp.csr_matrix(c.conj().T @ c)))
                continue
            d = space.dims[jump.mode]
            m = levels[jump.mode]
            # c^dag c = rate n (lowering) or rate (n + 1) below the top level (raising)
            half_decay += 0.5 * jump.rate * (np.where(m < d - 1, m + 1.0, 0.0)
                                             if jump.raising else m)
            # In the flat index, x_i shifts by the stride R of mode i:
            # (x rho x^dag)[r, k] = s_r s_k rho[r + R, k + R], with s_r = sqrt(m_i(r) + 1)
            # (0 at the top level); (x^dag rho x)[r + R, k + R] = s_r s_k rho[r, k].
            stride = int(np.prod(space.dims[jump.mode + 1:]))
            s = np.where(m < d - 1, np.sqrt(jump.rate * (m + 1.0)), 0.0)
            self._shifts.append((stride, s[: space.size - stride], jump.raising))
        self.half_decay = half_decay
        self._cache: tuple[sp.spmatrix, sp.csr_matrix] | None = None
        self._work: tuple[NDArray[np.float64], NDArray[np.float64]] | None = None
        self._diagonals: kernels.Diagonals | None = None

    @property
    def max_decay(self) -> float:
        """Largest diagonal element of sum_c c^dag c (the fastest decay rate; with
        jumps that are not local, a bound: the largest absolute row sum)."""
        bound = sum(d.decay_bound for d in self.extra)
        if not self.jumps:
            return float(bound)
        rows = 2.0 * self.half_decay
        for _, cdc in self._general:
            rows = rows + np.asarray(abs(cdc).sum(axis=1)).ravel()
        return float(rows.max()) + bound

    def general_dissipator(self, rho: NDArray[np.complex128]) -> NDArray[np.complex128]:
        """sum_c (c rho c^dag - {c^dag c, rho}/2) over the jumps that are not local, for a
        Hermitian ``rho`` (c rho c^dag = c (c rho)^dag), plus the ``extra`` dissipators."""
        out = np.zeros(rho.shape, dtype=complex)
        for c, cdc in self._general:
            out += c @ np.asarray(c @ rho).conj().T
            y = np.asarray(cdc @ rho)
            out -= 0.5 * (y + y.conj().T)
        for d in self.extra:
            out += d.apply(rho)
        return out

    def generator(self, hamiltonian: sp.spmatrix) -> sp.csr_matrix:
        """-i K = -i H - (1/2) sum_c c^dag c, the left-acting part (cached for a static H)."""
        if self._cache is not None and self._cache[0] is hamiltonian:
            return self._cache[1]
        gen = (-1j * hamiltonian - sp.diags(self.half_decay)).tocsr()
        self._cache = (hamiltonian, gen)
        return gen

    def add_jumps(self, rho: NDArray[Any], out: NDArray[Any],
                  rows: slice = slice(None)) -> None:
        """out[rows] += (sum_c c rho c^dag)[rows]: a weighted, shifted copy of rho per jump.

        Working on a block of rows keeps the temporaries in cache.
        """
        start, stop, _ = rows.indices(rho.shape[0])
        for stride, s, raising in self._shifts:
            n = s.size
            if raising:  # target rows r + R for source rows r
                a, b = max(start - stride, 0), min(stop - stride, n)
                src, dst, cols, dcols = slice(a, b), slice(a + stride, b + stride), \
                    slice(0, n), slice(stride, None)
            else:  # target rows r for source rows r + R
                a, b = start, min(stop, n)
                src, dst, cols, dcols = slice(a + stride, b + stride), slice(a, b), \
                    slice(stride, None), slice(0, n)
            if a >= b:
                continue
            part = rho[src, cols] * s[None, :]
            part *= s[a:b, None]
            out[dst, dcols] += part

    def rhs(self, rho: NDArray[np.complex128], hamiltonian: sp.spmatrix
            ) -> NDArray[np.complex128]:
        """d rho/dt for the (D, D) Hermitian matrix ``rho`` and the Hamiltonian matrix.

        Computes Y = -i K rho (one sparse product), then Y + Y^dag + sum_c c rho c^dag
        by blocks of rows, so that the transposition and the jumps stay in cache.

        Args:
            rho: density matrix (C-contiguous).
            hamiltonian: H at the current time (sparse; real or complex).

        Returns:
            -i [H, rho] + sum_c D[c] rho, a new (D, D) array.
        """
        return self.apply(rho, self.generator(hamiltonian))

    def apply_packed(self, m: NDArray[np.float64], stacked: sp.csr_matrix, *,
                     out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """:meth:`apply` in packed storage: packed d rho/dt of the packed state ``m``.

        With G = -i K = G_r + i G_i (``stacked`` is the real 2D x D matrix [G_r; G_i])
        and rho = (M + M^T)/2 + i (M - M^T)/2, the packed G rho + rho G^dag is

            G_r M + G_i M^T + (G_r M^T - G_i M)^T,

        no complex arithmetic; the jumps act on M directly. rho is Hermitian by
        construction, so no projection is made. Used by the displaced frame and the
        Fock engine. One compiled pass by diagonals (:mod:`.kernels`, on ``threads``
        threads; faster than SciPy's CSR products at every dimension measured, 8 to
        2100: 5.1 vs 9.5 us at D = 8, 151 vs 225 us at 176); for a generator whose
        diagonals are mostly empty, or without numba, two real sparse products with
        SciPy's CSR kernel accumulating in place (:meth:`_apply_packed_kernel`).

        Args:
            m: the packed state M (D x D, C-contiguous).
            stacked: [Re G; Im G] for the current generator G = -i H - (1/2) sum c^dag c.
            out: where to write the result (a new array if None).
        """
        dim = m.shape[0]
        if out is None:
            out = np.empty_like(m)
        diagonals = self._diagonals_of(stacked) if KERNEL == "numba" else None
        if diagonals is not None:
            diagonals.apply(m, stacked.data, self._work_matrices(m)[0], out, self.threads)
        elif _matvecs is not None:
            self._apply_packed_kernel(m, stacked, out)
        else:
            z1 = stacked @ m
            z2 = stacked @ transpose(m)
            np.add(z1[:dim], z2[dim:], out=out)
            part = z2[:dim]
            part -= z1[dim:]
            out += part.T
            if self._shifts:
                self.add_jumps(m, out)
        if self._general or self.extra:
            out += pack_hermitian(self.general_dissipator(unpack_hermitian(m)))
        return out

    def _diagonals_of(self, stacked: sp.csr_matrix) -> kernels.Diagonals | None:
        """The compiled kernel's layout of ``stacked`` (built once per sparsity pattern),
        or None where its diagonals are mostly empty (the CSR path is then faster)."""
        k = _kernels()
        if k is None:
            return None
        if self._diagonals is None or not self._diagonals.matches(stacked):
            self._diagonals = k.Diagonals(stacked, self._shifts)
        return self._diagonals if self._diagonals.fill_ratio >= k.MIN_FILL else None

    def _work_matrices(self, m: NDArray[np.float64]
                       ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        if self._work is None or self._work[0].shape != m.shape:
            self._work = (np.empty_like(m), np.empty_like(m))
        return self._work

    def _apply_packed_kernel(self, m: NDArray[np.float64], stacked: sp.csr_matrix,
                            out: NDArray[np.float64]) -> None:
        """:meth:`apply_packed` without temporaries: SciPy's kernel accumulates
        A = G_r M + G_i M^T into ``out`` and B = G_r M^T - G_i M into a work matrix
        (no 2D x D products, no separate additions); then out += B^T and the jumps
        by blocks of rows, so that the transposed column block and the jumps'
        temporaries stay in cache (whole-matrix operations at D <= ``_SMALL``)."""
        dim = m.shape[0]
        mt, b = self._work_matrices(m)
        transpose(m, out=mt)
        ip, ix, data = stacked.indptr, stacked.indices, stacked.data
        top, bottom = ip[:dim + 1], ip[dim:]
        out.fill(0.0)
        b.fill(0.0)
        assert _matvecs is not None
        _matvecs(dim, dim, dim, top, ix, data, m.ravel(), out.ravel())
        _matvecs(dim, dim, dim, bottom, ix, data, mt.ravel(), out.ravel())
        _matvecs(dim, dim, dim, top, ix, data, mt.ravel(), b.ravel())
        _matvecs(dim, dim, dim, bottom, ix, -data, m.ravel(), b.ravel())
        if dim <= _SMALL:
            out += b.T
            if self._shifts:
                self.add_jumps(m, out)
            return
        for start in range(0, dim, _BLOCK):
            rows = slice(start, min(start + _BLOCK, dim))
            out[rows] += b[:, rows].T
            if self._shifts:
                self.add_jumps(m, out, rows)

    def apply(self, rho: NDArray[np.complex128], generator: sp.spmatrix
              ) -> NDArray[np.complex128]:
        """Y + Y^dag + sum_c c rho c^dag with Y = ``generator`` @ rho.

        ``generator`` must be -i K = -i H - (1/2) sum_c c^dag c (see :meth:`generator`);
        an engine with a time-dependent generator may pass its own.

        ``rho`` is replaced by its Hermitian part first. Y + Y^dag equals
        -i [H, rho] + dissipation only for Hermitian rho: on an anti-Hermitian
        error A it acts as -i (H A + A H) - (Gamma A - A Gamma) / 2, Gamma =
        sum_c c^dag c, which grows at rates up to max(Gamma) / 2. Integrator
        round-off there grew 10x per time unit with thermal baths (trace off
        by 2e-6 at t = 23 on Fig. 6b) before this projection; with it the
        anti-Hermitian part is left constant.
        """
        herm = add_adjoint(rho)
        herm *= 0.5
        y = np.asarray(generator @ herm)
        dim = y.shape[0]
        if dim <= _SMALL:  # fits in cache: whole-matrix operations, less Python overhead
            out = y + y.conj().T
            if self._shifts:
                self.add_jumps(herm, out)
            if self._general or self.extra:
                out += self.general_dissipator(herm)
            return out
        out = np.empty_like(y)
        buf = np.empty((_BLOCK, dim), dtype=y.dtype)
        for start in range(0, dim, _BLOCK):
            rows = slice(start, min(start + _BLOCK, dim))
            _add_adjoint_rows(y, out, rows, buf)
            if self._shifts:
                self.add_jumps(herm, out, rows)
        if self._general or self.extra:
            out += self.general_dissipator(herm)
        return out
