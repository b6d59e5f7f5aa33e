"""Explicit Runge-Kutta steps for large states, with preallocated in-place stage arithmetic.

SciPy's ``DOP853``/``RK45`` build every stage as ``y + h * K[:s].T @ a`` (three new
arrays of the state's size per stage) and their dense output as seven more rows; for a
density matrix of ~10^6 numbers each such pass is a trip through memory. Here the state
and the stages share one preallocated block ``W = [y; K_0; K_1; ...]`` (rows), so that a
stage input is a single matrix-vector product ``[1, h a_s] @ W[:s + 1]`` into one buffer,
the new state and both error estimates of DOP853 are one (3 x 14) @ (14 x n) product, and
an output inside a step is one product ``[1, h w(theta)] @ W`` with the interpolant's
weights w(theta) computed on scalars. For real states each product is the compiled
:func:`qbattery.hilbert.kernels.combine`, which reads only the rows with a nonzero
weight (optionally on several threads, ``threads``).

Two methods: ``DOP853`` (Hairer's 8(5,3) pair with its 7th-order interpolant, SciPy's
tableau from ``scipy.integrate._ivp.dop853_coefficients``, SciPy's error norm) and
``Tsit5`` (Tsitouras' 5(4) pair with its free 4th-order interpolant, the method of
dynamiqs/diffrax and OrdinaryDiffEq). The step-size policy is SciPy's (see
:func:`qbattery.hilbert.integrate.integrate`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate._ivp import dop853_coefficients as _dop

from ._compiled import kernels as _kernels

__all__ = ["DOP853", "STEPPERS", "Stepper", "Tsit5"]

State = NDArray[Any]
Rhs = Callable[[float, State, State], None]


def _sq_norm(v: State) -> float:
    return float(np.vdot(v, v).real)


class Stepper:
    """One explicit Runge-Kutta method on a fixed state size.

    ``W[0]`` holds y (the state at ``t``), ``W[1 + j]`` the stage derivative K_j
    (K_0 = f(t, y)); :meth:`attempt` fills the stages and ``y_new`` for a step h and
    returns the error norm; :meth:`accept` makes y_new the state; :meth:`interpolate`
    evaluates the dense output inside the last attempted step.
    """

    name = ""
    #: SciPy's error exponent: -1 / (order of the error estimate + 1).
    error_exponent = 0.0
    #: Stages per step (K rows written by :meth:`attempt`, the FSAL row included).
    rows = 0
    #: Error estimator order (for the initial step guess).
    order = 0

    def __init__(self, fun: Rhs, y0: State, rows: int, threads: int = 1) -> None:
        self.fun = fun
        self.n = y0.size
        self.W = np.empty((1 + rows, self.n), dtype=y0.dtype)
        self.W[0] = y0
        self.y_new = np.empty(self.n, dtype=y0.dtype)
        self.tmp = np.empty(self.n, dtype=y0.dtype)
        self.abs_y = np.empty(self.n)
        self.abs_new = np.empty(self.n)
        self.nfev = 0
        self.t = 0.0
        self.t_new = 0.0
        self.h = 0.0
        #: Real states use the compiled :meth:`combine`, on ``threads`` threads.
        self.compiled = y0.dtype == np.float64
        self.threads = threads
        #: Rows of W each stage reads (y and the K_j with a nonzero tableau weight).
        self._stage_rows: dict[int, NDArray[np.intp]] = {}
        #: Rows of W the dense output reads (None: all).
        self.dense_rows: NDArray[np.intp] | None = None

    def combine(self, coef: NDArray[np.float64], out: State,
                used: NDArray[np.intp] | None = None) -> None:
        """out (p x n) = coef (p x q) @ W[:q], reading only the rows ``used`` of W (the
        rows the tableau gives a weight: DOP853's leaves 38 of its 120 stage weights
        zero, K_1 .. K_4 drop out of the later stages; None: every row), with the
        compiled :func:`~qbattery.hilbert.kernels.combine` for real states."""
        compiled = _kernels() if self.compiled else None
        if compiled is None:
            np.dot(coef, self.W[: coef.shape[1]], out=out)
            return
        if used is None:
            used = np.arange(coef.shape[1])
        compiled.combine(coef[:, used], self.W, used, out, self.threads)

    @property
    def y(self) -> State:
        return self.W[0]

    def start(self, t: float) -> None:
        """Evaluate K_0 = f(t, y) for the state in W[0]."""
        self.t = t
        self.call(t, self.W[0], 1)

    def call(self, t: float, y: State, row: int) -> None:
        self.fun(t, y, self.W[row])
        self.nfev += 1

    def stage(self, t: float, h: float, a: NDArray[np.float64], c: float, row: int) -> None:
        """K_{row-1} = f(t + c h, y + h sum_j a_j K_j), a over K_0 .. K_{len(a)-1}."""
        coef = np.empty((1, a.size + 1))
        coef[0, 0] = 1.0
        np.multiply(a, h, out=coef[0, 1:])
        used = self._stage_rows.get(row)
        if used is None:  # the tableau row's pattern (h only scales it)
            used = self._stage_rows[row] = np.flatnonzero(coef[0] != 0.0)
        self.combine(coef, self.tmp[None, :], used)
        self.call(t + c * h, self.tmp, row)

    def scale(self, rtol: float, atol: float) -> NDArray[np.float64]:
        """atol + rtol max(|y|, |y_new|) (SciPy's error scale)."""
        a = np.abs(self.W[0], out=self.abs_y)
        np.maximum(a, np.abs(self.y_new, out=self.abs_new), out=a)
        a *= rtol
        a += atol
        return a

    def attempt(self, h: float, rtol: float, atol: float) -> float:
        raise NotImplementedError

    def accept(self) -> None:
        """y <- y_new, t <- t + h; K_0 <- f(t + h, y_new) (first same as last)."""
        self.W[0] = self.y_new
        self.W[1] = self.W[self.rows]
        self.t = self.t_new

    def weights(self, theta: float) -> NDArray[np.float64]:
        raise NotImplementedError

    def interpolate(self, t: float, out: State) -> State:
        """The dense output at t inside the last attempted step (before :meth:`accept`)."""
        w = self.weights((t - self.t) / self.h)
        coef = np.empty((1, w.size + 1))
        coef[0, 0] = 1.0
        np.multiply(w, self.h, out=coef[0, 1:])
        self.combine(coef, out[None, :], self.dense_rows)
        return out


class DOP853(Stepper):
    """Hairer's DOP853 with SciPy's tableau, error norm and interpolant."""

    name = "DOP853"
    error_exponent = -1.0 / 8.0
    order = 7
    rows = _dop.N_STAGES + 1  # K_0 .. K_12 (K_12 = f(t + h, y_new))

    def __init__(self, fun: Rhs, y0: State, threads: int = 1) -> None:
        super().__init__(fun, y0, _dop.N_STAGES_EXTENDED, threads)
        ns = _dop.N_STAGES
        self.A = [np.array(_dop.A[s, :s]) for s in range(_dop.N_STAGES_EXTENDED)]
        self.C = np.array(_dop.C)
        # [y_new; err5; err3] = final @ W[:ns + 1] (y, K_0 .. K_11: E5 and E3 vanish on
        # K_12, which is computed only for an accepted step)
        final = np.zeros((3, ns + 1))
        final[0, 0] = 1.0
        final[0, 1:] = _dop.B
        final[1, 1:] = _dop.E5[:ns]
        final[2, 1:] = _dop.E3[:ns]
        self.final = final
        self.out3 = np.empty((3, self.n), dtype=y0.dtype)
        # the interpolant's 7 coefficient rows as combinations of K_0 .. K_15 (times h)
        k = _dop.N_STAGES_EXTENDED
        b = np.zeros(k)
        b[:ns] = _dop.B
        f0, f12 = np.eye(k)[0], np.eye(k)[ns]
        self.F = np.vstack([b, f0 - b, 2 * b - f12 - f0, _dop.D])
        # y and the K_j some interpolant row weighs; of [y_new; err5; err3], y and K_j
        # with a weight in B, E5 or E3
        self.dense_rows = np.concatenate([[0], 1 + np.flatnonzero(np.any(self.F != 0, axis=0))])
        self.final_rows = np.flatnonzero(np.any(final != 0, axis=0))
        self.extended = False

    def attempt(self, h: float, rtol: float, atol: float) -> float:
        self.h, self.extended = h, False
        t, ns = self.t, _dop.N_STAGES
        for s in range(1, ns):
            self.stage(t, h, self.A[s], self.C[s], s + 1)
        coef = self.final.copy()
        coef[0, 1:] *= h
        self.combine(coef, self.out3, self.final_rows)
        self.y_new[:] = self.out3[0]
        scale = self.scale(rtol, atol)
        err5, err3 = self.out3[1], self.out3[2]
        err5 /= scale
        err3 /= scale
        e5, e3 = _sq_norm(err5), _sq_norm(err3)
        if e5 == 0 and e3 == 0:
            return 0.0
        return abs(h) * e5 / np.sqrt((e5 + 0.01 * e3) * self.n)

    def _extend(self) -> None:
        """The three extra stages of the interpolant (needs K_12 = f(t + h, y_new))."""
        for s in range(_dop.N_STAGES + 1, _dop.N_STAGES_EXTENDED):
            self.stage(self.t, self.h, self.A[s], self.C[s], s + 1)
        self.extended = True

    def weights(self, theta: float) -> NDArray[np.float64]:
        """SciPy's Dop853DenseOutput on coefficient rows: y = y_old + h w @ K."""
        if not self.extended:
            self._extend()
        w = np.zeros(self.F.shape[1])
        for i, f in enumerate(self.F[::-1]):
            w += f
            w *= theta if i % 2 == 0 else 1.0 - theta
        return w

    def finish_step(self) -> None:
        """K_12 = f(t + h, y_new), the last stage (the error estimate does not need it)."""
        self.call(self.t + self.h, self.y_new, _dop.N_STAGES + 1)


# Tsitouras (2011), as in diffrax's tsit5.py: a (lower triangle), b, b - b_hat, c.
_TS_A = [
    [0.161],
    [-0.008480655492356988544, 0.3354806554923569885],
    [2.897153057105493432, -6.359448489975074843, 4.362295432869581411],
    [5.325864828439256604, -11.74888356406282788, 7.495539342889836208,
     -0.09249506636175524926],
    [5.861455442946420029, -12.92096931784710929, 8.159367898576158643,
     -0.07158497328140099722, -0.02826905039406838291],
    [0.09646076681806522952, 0.01, 0.4798896504144995748, 1.379008574103741893,
     -3.290069515436080680, 2.324710524099773982],
]
_TS_C = [0.0, 0.161, 0.327, 0.9, 0.9800255409045096857, 1.0, 1.0]
_TS_E = [0.09646076681806522952 - 0.09468075576583945807,
         0.01 - 0.009183565540343253097,
         0.4798896504144995748 - 0.4877705284247615708,
         1.379008574103741893 - 1.234297566930478986,
         -3.290069515436080680 + 2.707712349983525455,
         2.324710524099773982 - 1.866628418170587036,
         -1.0 / 66.0]


class Tsit5(Stepper):
    """Tsitouras' 5(4) pair (first same as last) with its free interpolant."""

    name = "Tsit5"
    error_exponent = -1.0 / 5.0
    order = 4
    rows = 7

    def __init__(self, fun: Rhs, y0: State, threads: int = 1) -> None:
        super().__init__(fun, y0, 7, threads)
        self.A = [np.zeros(0)] + [np.array(a) for a in _TS_A]
        self.E = np.array(_TS_E)
        self.err = np.empty(self.n, dtype=y0.dtype)

    def attempt(self, h: float, rtol: float, atol: float) -> float:
        self.h = h
        for s in range(1, 6):
            self.stage(self.t, h, self.A[s], _TS_C[s], s + 1)
        coef = np.empty(7)
        coef[0] = 1.0
        np.multiply(self.A[6], h, out=coef[1:])
        self.combine(coef[None, :], self.y_new[None, :])
        self.call(self.t + h, self.y_new, 7)
        np.dot(self.E * h, self.W[1:8], out=self.err)
        self.err /= self.scale(rtol, atol)
        return float(np.sqrt(_sq_norm(self.err) / self.n))

    def finish_step(self) -> None:
        """Nothing: the last stage f(t + h, y_new) is part of the error estimate."""

    def weights(self, theta: float) -> NDArray[np.float64]:
        t = theta
        return np.array([
            -1.0530884977290216 * t * (t - 1.3299890189751412)
            * (t * t - 1.4364028541716351 * t + 0.7139816917074209),
            0.1017 * t * t * (t * t - 2.1966568338249754 * t + 1.2949852507374631),
            2.490627285651252793 * t * t * (t * t - 2.38535645472061657 * t
                                            + 1.57803468208092486),
            -16.54810288924490272 * (t - 1.21712927295533244) * (t - 0.61620406037800089) * t * t,
            47.37952196281928122 * (t - 1.203071208372362603) * (t - 0.658047292653547382) * t * t,
            -34.87065786149660974 * (t - 1.2) * (t - 0.666666666666666667) * t * t,
            2.5 * (t - 1) * (t - 0.6) * t * t,
        ])


STEPPERS: dict[str, type[DOP853] | type[Tsit5]] = {"DOP853": DOP853, "Tsit5": Tsit5}
