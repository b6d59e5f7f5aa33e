r"""Matrix-form right-hand side of the Lindblad master equation on a Fock space.

    d rho/dt = -i (K rho - rho K^dag) + sum_c c rho c^dag,   K = H - (i/2) sum_c c^dag c,

for Hermitian rho. With Y = -i K rho + (1/2) sum_c c rho c^dag this is Y + Y^dag,
so only one sparse product (K rho) and one transposition are needed. The jumps
c = sqrt(rate) x_i or sqrt(rate) x_i^dag act on one mode, so c rho c^dag is a
shifted, weighted copy of rho (no matrix product) and sum_c c^dag c is diagonal.
The cost per evaluation is O(nnz(H) D) with no D^2 x D^2 superoperator.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from .space import FockSpace, Jump

__all__ = ["Lindblad", "add_adjoint"]

#: Row-block size of the cache-friendly Y + Y^dag.
_BLOCK = 64


def add_adjoint(y: NDArray[np.complex128]) -> NDArray[np.complex128]:
    """Y + Y^dag of a square matrix, by row blocks (a plain transpose is cache-hostile)."""
    out = np.empty_like(y)
    n = y.shape[0]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        np.add(y[start:stop], y[:, start:stop].conj().T, out=out[start:stop])
    return out


class Lindblad:
    """The dissipative part of a model on a Fock space, and the full right-hand side.

    Args:
        space: the truncated product space.
        jumps: the collapse operators (see :func:`qbattery.hilbert.jumps`).
    """

    def __init__(self, space: FockSpace, jumps: Sequence[Jump]) -> None:
        self.space = space
        self.jumps = tuple(jumps)
        levels = space.levels
        half_decay = np.zeros(space.size)
        self._shifts: list[tuple[int, NDArray[np.float64]]] = []
        for jump in self.jumps:
            d = space.dims[jump.mode]
            m = levels[jump.mode]
            # c^dag c = rate n (lowering) or rate (n + 1) below the top level (raising)
            half_decay += 0.5 * jump.rate * (np.where(m < d - 1, m + 1.0, 0.0)
                                             if jump.raising else m)
            # In the flat index, x_i shifts by the stride of mode i:
            # (x rho x^dag)[r, k] = s_r s_k rho[r + R, k + R], with s_r = sqrt(m_i(r) + 1)
            # (0 at the top level);
            # (x^dag rho x)[r + R, k + R] = s_r s_k rho[r, k].
            stride = int(np.prod(space.dims[jump.mode + 1:]))
            s = np.where(m < d - 1, np.sqrt(0.5 * jump.rate * (m + 1.0)), 0.0)
            self._shifts.append((stride, s[: space.size - stride]))
        self.half_decay = half_decay
        self._cache: tuple[sp.spmatrix, sp.csr_matrix] | None = None

    def generator(self, hamiltonian: sp.spmatrix) -> sp.csr_matrix:
        """-i K = -i H - (1/2) sum_c c^dag c, the left-acting part (cached for a static H)."""
        if self._cache is not None and self._cache[0] is hamiltonian:
            return self._cache[1]
        gen = (-1j * hamiltonian - sp.diags(self.half_decay)).tocsr()
        self._cache = (hamiltonian, gen)
        return gen

    def add_jumps(self, rho: NDArray[np.complex128], y: NDArray[np.complex128]) -> None:
        """y += (1/2) sum_c c rho c^dag (a weighted, shifted copy of rho per jump)."""
        for (stride, s), jump in zip(self._shifts, self.jumps, strict=True):
            n = s.size
            src, dst = (slice(0, n), slice(stride, None)) if jump.raising \
                else (slice(stride, None), slice(0, n))
            part = rho[src, src] * s[None, :]
            part *= s[:, None]
            y[dst, dst] += part

    def rhs(self, rho: NDArray[np.complex128], hamiltonian: sp.spmatrix
            ) -> NDArray[np.complex128]:
        """d rho/dt for the (D, D) Hermitian matrix ``rho`` and the Hamiltonian matrix.

        Args:
            rho: density matrix (C-contiguous).
            hamiltonian: H at the current time (sparse; real or complex).

        Returns:
            -i [H, rho] + sum_c D[c] rho, a new (D, D) array.
        """
        y = np.asarray(self.generator(hamiltonian) @ rho)
        self.add_jumps(rho, y)
        return add_adjoint(y)
