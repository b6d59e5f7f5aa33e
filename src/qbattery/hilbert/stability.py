r"""Where an explicit Runge-Kutta step stays stable on a Lindbladian.

An explicit method with stability polynomial R is stable on the linear problem
dy/dt = L y when h lambda lies in {|R(z)| <= 1} for every eigenvalue lambda of L.
For -i [H, .] + D the eigenvalues lie (up to the non-normality of D) in the
rectangle -decay <= Re <= 0, |Im| <= spread, with ``spread`` >= E_max - E_min of H
and ``decay`` the real extent of D's spectrum. The longest safe step is then

    h = max_k min(X_k / decay, Y_k / spread)

over the rectangles [-X_k, 0] x [-Y_k, Y_k] inscribed in the stability region
(:func:`stability_rectangles`, computed from the method's tableau). The engines do not
use this yet (see :func:`qbattery.hilbert.integrate.stable_step` for why and what it
measured); it documents and tests the margin of the cap they use.

The real extent of D (:func:`dissipator_extent`) is not max(sum_c c^dag c): that
bounds the anticommutator part alone. With a raising jump (a thermal bath at N > 0)
the truncated top levels reach further: one oscillator on 20 levels at N = 1,
gamma = 0.05, has eigenvalues down to -4.72, while max(sum_c c^dag c) = 2.75. A mode's
local jumps (x, x^dag) keep the difference n - m of a matrix element |n><m|, so its
dissipator is block diagonal in n - m and its spectrum costs 2d - 1 small
eigenvalue problems; the dissipators of different modes commute (they act on
different factors), so their extents add. Jumps on several modes, or x^dag x, are
bounded by the largest absolute row sum of c^dag c, as before.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from functools import cache

import numpy as np
from numpy.typing import NDArray
from scipy.integrate._ivp import dop853_coefficients, rk
from scipy.linalg import eigvalsh_tridiagonal

from .space import FockSpace, Jump, jump_operator

__all__ = ["TABLEAUX", "dissipator_extent", "rectangle_step", "stability_rectangles"]

#: (A, b) of the explicit methods the engines use (SciPy's tableaux).
TABLEAUX: dict[str, tuple[NDArray[np.float64], NDArray[np.float64]]] = {
    "DOP853": (dop853_coefficients.A[:dop853_coefficients.N_STAGES,
                                     :dop853_coefficients.N_STAGES],
               dop853_coefficients.B),
    "RK45": (rk.RK45.A, rk.RK45.B),
}


@cache
def stability_rectangles(method: str, *, margin: float = 0.99) -> NDArray[np.float64]:
    """(k, 2) rows (X, Y): [-X, 0] x [-Y, Y] lies in ``method``'s stability region
    (checked on a grid of spacing 0.02, then shrunk by ``margin``)."""
    a, b = TABLEAUX[method]
    A = np.zeros((b.size, b.size))
    A[:a.shape[0], :a.shape[1]] = a
    ones = np.ones(b.size)
    coef = [1.0] + [float(b @ np.linalg.matrix_power(A, k - 1) @ ones)
                    for k in range(1, b.size + 1)]
    poly = np.polynomial.Polynomial(coef)
    xs = -np.arange(0.0, 8.0, 0.02)
    ys = np.arange(0.0, 8.0, 0.02)
    stable = np.abs(poly(xs[None, :] + 1j * ys[:, None])) <= 1.0 + 1e-12
    # height of the stable column at each x (from the real axis up), 0 if x is unstable
    height = np.where(stable.all(axis=0), ys[-1], ys[np.argmin(stable, axis=0) - 1])
    height[~stable[0]] = 0.0
    reach = int(np.argmax(height <= 0.0)) if np.any(height <= 0.0) else xs.size
    low = np.minimum.accumulate(height[:reach])  # Y(X): the lowest column in [-X, 0]
    rows = np.column_stack([-xs[:reach], low]) * margin
    return rows[rows[:, 1] > 0]


def rectangle_step(method: str, spread: float, decay: float) -> float:
    """The longest step that keeps h x (the spectrum's rectangle) inside the region."""
    if spread <= 0 and decay <= 0:
        return float("inf")
    rect = stability_rectangles(method)
    with np.errstate(divide="ignore"):
        x = rect[:, 0] / decay if decay > 0 else np.full(len(rect), np.inf)
        y = rect[:, 1] / spread if spread > 0 else np.full(len(rect), np.inf)
    return float(np.max(np.minimum(x, y)))


def dissipator_extent(space: FockSpace, jumps: Sequence[Jump]) -> float:
    """-min Re of the spectrum of sum_c D[c] on ``space`` (see the module doc)."""
    local: dict[int, list[Jump]] = defaultdict(list)
    bound = np.zeros(space.size)
    for jump in jumps:
        if jump.local:
            local[jump.mode].append(jump)
        else:
            c = jump_operator(space, jump)
            bound = bound + np.asarray(abs(c.conj().T @ c).sum(axis=1)).ravel()
    extent = float(bound.max()) if bound.size else 0.0
    for mode, js in local.items():
        extent += _mode_extent(space, mode, js)
    return extent


def _mode_extent(space: FockSpace, mode: int, jumps: list[Jump]) -> float:
    """-min Re of one mode's local dissipator, block by block in l = n - m.

    With x = sum_k s_k |k><k+1|, the block of the elements |m + l><m| is tridiagonal:
    a lowering jump (rate r) moves m + 1 -> m with weight r s_(m+l) s_m, a raising one
    m -> m + 1 with r s_(m+l) s_m, and both damp by (Gamma_(m+l) + Gamma_m) / 2. The
    products of the two off-diagonals are >= 0, so the block is similar to a symmetric
    one with off-diagonals sqrt(up * down) and its spectrum is real."""
    d = space.dims[mode]
    s = np.asarray(space.kinds[mode].lowering(d).diagonal(1), dtype=float)
    down_rate = sum(j.rate for j in jumps if not j.raising)
    up_rate = sum(j.rate for j in jumps if j.raising)
    s_below = np.concatenate([[0.0], s])  # s_(k-1): x^dag x = s_(k-1)^2
    s_above = np.concatenate([s, [0.0]])  # s_k: x x^dag = s_k^2 (0 at the top)
    gamma = down_rate * s_below ** 2 + up_rate * s_above ** 2
    lowest = 0.0
    for shift in range(d):
        m = np.arange(d - shift)
        diag = -0.5 * (gamma[m + shift] + gamma[m])
        if m.size > 1:
            w = s[m[:-1] + shift] * s[m[:-1]]
            off = np.sqrt(down_rate * up_rate) * w
            values = eigvalsh_tridiagonal(diag, off)
        else:
            values = diag
        lowest = min(lowest, float(values.min()))
    return -lowest
