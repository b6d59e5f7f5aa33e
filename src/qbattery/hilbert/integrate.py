"""Adaptive explicit Runge-Kutta stepping that never stores the trajectory.

``scipy.integrate.solve_ivp`` keeps the state at every output time; a density
matrix of a few thousand levels is tens of megabytes, so this steps an explicit
Runge-Kutta method itself, hands every accepted step to a callback (truncation
checks) and evaluates the output times with the method's dense output through
another callback.

The steppers are our own (:mod:`qbattery.hilbert.rk`: DOP853 with SciPy's
tableau, error norm and step-size policy, and Tsit5), with preallocated stages
and in-place arithmetic: SciPy's ``DOP853`` builds several new state-sized arrays
per stage and seven per dense output, which for a density matrix of 10^6 numbers
cost as much as the right-hand side. ``DRIVER = "scipy"`` drives SciPy's DOP853
instead (same steps, for comparison: ``benchmarks/rk_driver.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from scipy.integrate import DOP853, RK45, OdeSolver

from ..errors import IntegrationError
from ._compiled import kernels
from .rk import STEPPERS

__all__ = ["INTEGRATORS", "STABILITY_RADIUS", "STABILITY_RECTANGLE", "integrate",
           "integrate_piecewise", "stable_step"]

INTEGRATORS: dict[str, type[OdeSolver]] = {"DOP853": DOP853, "RK45": RK45}

#: "own": DOP853 and Tsit5 in place (:mod:`.rk`); "scipy": SciPy's DOP853 (for comparison).
DRIVER = "own"

# SciPy's step-size controller (scipy.integrate._ivp.rk)
_SAFETY, _MIN_FACTOR, _MAX_FACTOR = 0.9, 0.2, 10.0

#: Radius of a half-disc {|z| <= r, Re z <= 0} inside each method's stability region
#: (computed from the tableaux: |R(z)| <= 1 + 1e-9 up to r = 5.75 for DOP853,
#: r = 1.0 for RK45, whose region barely contains the imaginary axis, and r = 0.45
#: for Tsit5, whose region leaves the imaginary axis at 0.48: |R(iy)| - 1 is 1.3e-4
#: at y = 1 and 0.28 at y = 3), with a margin.
STABILITY_RADIUS: dict[str, float] = {"DOP853": 5.5, "RK45": 0.9, "Tsit5": 0.42}

#: A rectangle {-X <= Re z <= 0, |Im z| <= Y} inside the stability region, as (X, Y):
#: for DOP853, |R(z)| <= 1 (to 2e-16) on a 301 x 1201 grid of [-3, 0] x [0, 5.8]
#: (the imaginary axis is stable up to 5.96). Lightly damped Lindbladians have their
#: eigenvalues in a thin rectangle, which fits here with a ~15 % longer step than
#: in the half-disc.
#: For Tsit5, [-3, 0] x [0, 0.45] (same check): its rectangle is no taller than its
#: half-disc.
STABILITY_RECTANGLE: dict[str, tuple[float, float]] = {"DOP853": (3.0, 5.8),
                                                       "Tsit5": (3.0, 0.42)}

State = NDArray[Any]


def stable_step(spread: float, decay: float, method: str = "DOP853") -> float:
    """Largest step for which explicit Runge-Kutta stays stable on a Lindbladian.

    The eigenvalues of -i[H, .] + D lie (up to the non-normality of D) in the
    rectangle -decay <= Re <= 0, |Im| <= spread, with ``spread`` >= E_max - E_min
    and ``decay`` the largest eigenvalue of sum_c c^dag c; they are kept inside
    the method's stable half-disc by h <= r / (spread + decay), or inside its
    stable rectangle by h <= min(Y / spread, X / decay); the longer step is used.

    Caveat (measured, :mod:`qbattery.hilbert.stability`): with raising jumps (N > 0)
    the truncated top levels put eigenvalues of D beyond -max(sum c^dag c), by up to
    1.91x for one thermal oscillator (any N, up to 120 levels; 1.72x at 20 levels and
    N = 1). DOP853 stays stable there because X = 3 is under half its real interval
    [-6.39, 0] (3 x 1.91 = 5.73), and those eigenvalues (top levels of both ket and
    bra) have small imaginary parts. Capping with the exact extent and the best
    inscribed rectangle (``stability.rectangle_step``) was measured: Fig. 6b at N = 1
    took 72 s instead of 41 s (more steps, and the cutoffs then grew further), so it
    is not used.

    Why it matters: the error estimate of an adaptive step sees the state as a
    whole (an RMS over D^2 entries), so a high-frequency mode that lives at the
    rounding level in the top Fock levels can grow exponentially, unseen, when
    h exceeds the stability limit; at g t = 20 on Fig. 6a with 34 levels it
    reached 1e-3 in the battery's ergotropy before this cap was added.
    """
    rate = spread + decay
    if rate <= 0:
        return float("inf")
    step = STABILITY_RADIUS[method] / rate
    if method in STABILITY_RECTANGLE:
        x, y = STABILITY_RECTANGLE[method]
        step = max(step, min(y / spread if spread > 0 else float("inf"),
                             x / decay if decay > 0 else float("inf")))
    return float(step)


def integrate(fun: Callable[..., Any], y0: State, times: NDArray[np.float64], *,
              rtol: float, atol: float, on_output: Callable[[int, float, State], None],
              on_step: Callable[[float, State], None] | None = None,
              method: str = "DOP853",
              max_step: float | Callable[[State], float] = float("inf"),
              first_step: float | None = None, t0: float = 0.0,
              inplace: bool = False, threads: int = 1) -> dict[str, int]:
    """Integrate dy/dt = fun(t, y) from ``t0`` and report y at each of ``times``.

    Args:
        fun: right-hand side (1-D arrays, real or complex): ``fun(t, y)`` returning
            dy/dt, or with ``inplace`` ``fun(t, y, out)`` writing it into ``out``.
        y0: state at ``t0``.
        times: increasing output times >= ``t0``.
        rtol: relative tolerance of the adaptive integrator.
        atol: absolute tolerance.
        on_output: called as ``on_output(k, times[k], y)``, in order (y is a work
            buffer of the integrator: copy what is kept).
        on_step: called after every accepted step as ``on_step(t, y)``, once the
            outputs up to t are made; it may raise to stop the run (a caller
            can then resume from this step's state with the outputs after t).
        method: ``"DOP853"`` or ``"Tsit5"`` (:mod:`qbattery.hilbert.rk`, in place),
            or SciPy's ``"RK45"``; with ``DRIVER = "scipy"`` DOP853 is SciPy's own.
        max_step: largest step (see :func:`stable_step`), or a function of the
            current state giving it (re-evaluated after every step, for a
            generator that changes with the state).
        first_step: the first step to try (e.g. the last step of an interrupted
            run that resumes); by default SciPy's estimate.
        t0: the start time.
        inplace: ``fun`` writes into its third argument.
        threads: threads of the in-place steppers' stage arithmetic (real states).

    Returns:
        Statistics: accepted ``steps`` and right-hand side evaluations ``nfev``.
    """
    k = 0
    while k < times.size and times[k] == t0:
        on_output(k, t0, y0)
        k += 1
    if k == times.size:
        return {"steps": 0, "nfev": 0}
    cap: Callable[[State], float] | None = None
    if callable(max_step):
        cap, largest = max_step, max_step(y0)
    else:
        largest = float(max_step)
    if first_step is not None:
        first_step = min(first_step, largest, float(times[-1]) - t0)
    if method in STEPPERS and (DRIVER == "own" or method not in INTEGRATORS):
        with _kernel_threads(threads):  # numba's count set once, for all the steps
            return _own(fun, y0, times[k:], k, rtol=rtol, atol=atol, on_output=on_output,
                        on_step=on_step, method=method, largest=largest, cap=cap,
                        first_step=first_step, t0=t0, inplace=inplace, threads=threads)
    if inplace:
        fun = _returning(fun)
    return _scipy(fun, y0, times, k, rtol=rtol, atol=atol, on_output=on_output,
                  on_step=on_step, method=method, largest=largest, cap=cap,
                  first_step=first_step, t0=t0)


def _scipy(fun: Callable[[float, State], State], y0: State, times: NDArray[np.float64],
           k: int, *, rtol: float, atol: float, on_output: Callable[[int, float, State], None],
           on_step: Callable[[float, State], None] | None, method: str, largest: float,
           cap: Callable[[State], float] | None, first_step: float | None, t0: float
           ) -> dict[str, int]:
    """:func:`integrate` with a SciPy solver (outputs from ``times[k]`` on)."""
    solver = INTEGRATORS[method](fun, t0, y0, float(times[-1]), rtol=rtol, atol=atol,
                                 max_step=largest, first_step=first_step)
    steps = 0
    while k < times.size:
        message = solver.step()
        if solver.status == "failed":
            _fail(solver.t, str(message))
        steps += 1
        dense = None
        while k < times.size and times[k] <= solver.t:
            if times[k] == solver.t:
                y = solver.y
            else:
                if dense is None:
                    dense = solver.dense_output()
                y = dense(times[k])
            on_output(k, float(times[k]), y)
            k += 1
        if on_step is not None:  # after the step's outputs: every output <= t is made
            on_step(solver.t, solver.y)
        if cap is not None:
            solver.max_step = cap(solver.y)
    return {"steps": steps, "nfev": int(solver.nfev)}


def _returning(fun: Callable[[float, State, State], None]) -> Callable[[float, State], State]:
    def wrapped(t: float, y: State) -> State:
        out = np.empty_like(y)
        fun(t, y, out)
        return out
    return wrapped


def _fail(t: float, message: str) -> None:
    raise IntegrationError(
        f"the integrator cannot make progress at t = {t:.6g} ({message}): the "
        "step size collapsed; the problem is too stiff or its scales too far apart "
        "for this method (check rates and couplings, or loosen rtol/atol)")


def _kernel_threads(threads: int) -> contextlib.AbstractContextManager[Any]:
    """numba's thread count for the compiled kernels, set once for a whole integration
    (:func:`qbattery.hilbert.kernels.using_threads`; nothing without numba)."""
    compiled = kernels() if threads > 1 else None
    return contextlib.nullcontext() if compiled is None else compiled.using_threads(threads)


def _own(fun: Callable[..., Any], y0: State, times: NDArray[np.float64], k: int, *,
         rtol: float, atol: float, on_output: Callable[[int, float, State], None],
         on_step: Callable[[float, State], None] | None, method: str, largest: float,
         cap: Callable[[State], float] | None, first_step: float | None, t0: float,
         inplace: bool, threads: int) -> dict[str, int]:
    """:func:`integrate` with an in-place stepper of :mod:`.rk` (outputs ``times``,
    numbered from ``k``). Step-size policy and error norm as SciPy's."""
    y0 = np.ascontiguousarray(y0).ravel()
    into = fun if inplace else _writing(fun)
    stepper = STEPPERS[method](into, y0, threads=threads)
    stepper.start(t0)
    t_end = float(times[-1])
    if first_step is None:
        f0 = stepper.W[1].copy()
        h_abs = _initial_step(lambda t, y: _call(into, t, y), t0, y0, f0, t_end - t0,
                              largest, stepper.order, rtol, atol)
        stepper.nfev += 1
    else:
        h_abs = first_step
    out = np.empty_like(stepper.y)
    steps, j = 0, 0
    while j < times.size:
        h_abs = _step(stepper, h_abs, largest, t_end, rtol, atol)
        steps += 1
        t_new = stepper.t_new
        stepper.finish_step()
        while j < times.size and times[j] <= t_new:
            if times[j] == t_new:
                y = stepper.y_new
            else:
                y = stepper.interpolate(float(times[j]), out)
            on_output(k + j, float(times[j]), y)
            j += 1
        stepper.accept()
        if on_step is not None:
            on_step(stepper.t, stepper.y)
        if cap is not None:
            largest = cap(stepper.y)
    return {"steps": steps, "nfev": stepper.nfev}


def _writing(fun: Callable[[float, State], State]) -> Callable[[float, State, State], None]:
    def into(t: float, y: State, out: State) -> None:
        out[...] = fun(t, y)
    return into


def _call(fun: Callable[[float, State, State], None], t: float, y: State) -> State:
    out = np.empty_like(y)
    fun(t, y, out)
    return out


def _initial_step(fun: Callable[[float, State], State], t0: float, y0: State, f0: State,
                  length: float, max_step: float, order: int, rtol: float, atol: float
                  ) -> float:
    """Hairer's initial step guess, as SciPy's ``select_initial_step`` (whose signature
    changed across SciPy versions): one extra right-hand side."""
    def norm(x: State) -> float:
        return float(np.linalg.norm(x) / np.sqrt(x.size))

    scale = atol + np.abs(y0) * rtol
    d0, d1 = norm(y0 / scale), norm(f0 / scale)
    h0 = 1e-6 if d0 < 1e-5 or d1 < 1e-5 else 0.01 * d0 / d1
    h0 = min(h0, length)
    d2 = norm((fun(t0 + h0, y0 + h0 * f0) - f0) / scale) / h0
    if d1 <= 1e-15 and d2 <= 1e-15:
        h1 = max(1e-6, h0 * 1e-3)
    else:
        h1 = (0.01 / max(d1, d2)) ** (1 / (order + 1))
    return min(100 * h0, h1, length, max_step)


def _step(stepper: Any, h_abs: float, max_step: float, t_bound: float, rtol: float,
          atol: float) -> float:
    """One accepted step of ``stepper`` from its t (SciPy's ``RungeKutta._step_impl``):
    the step attempted is ``h_abs`` clipped to [min_step, max_step] and to the end;
    returns the next step's size. The stepper holds the step (not yet accepted)."""
    t = stepper.t
    min_step = 10 * np.abs(np.nextafter(t, np.inf) - t)
    h_abs = min(max(h_abs, min_step), max_step)
    rejected = False
    while True:
        if h_abs < min_step:
            _fail(t, "Required step size is less than spacing between numbers.")
        t_new = min(t + h_abs, t_bound)
        h = t_new - t
        stepper.t_new = t_new
        error = stepper.attempt(h, rtol, atol)
        if error < 1:
            factor = _MAX_FACTOR if error == 0 else min(
                _MAX_FACTOR, _SAFETY * error ** stepper.error_exponent)
            if rejected:
                factor = min(1.0, factor)
            return abs(h) * factor
        h_abs = abs(h) * max(_MIN_FACTOR, _SAFETY * error ** stepper.error_exponent)
        rejected = True


def integrate_piecewise(fun: Callable[..., Any], y0: State,
                        times: NDArray[np.float64], *, edges: list[float], t0: float = 0.0,
                        on_output: Callable[[int, float, State], None],
                        **kwargs: Any) -> dict[str, int]:
    """:func:`integrate`, stopped and restarted at each of ``edges`` (sorted, inside
    (t0, times[-1])): no step crosses a point where the right-hand side jumps (an
    envelope switched on or off). Outputs and statistics as :func:`integrate`."""
    if not edges:
        return integrate(fun, y0, times, t0=t0, on_output=on_output, **kwargs)
    stats = {"steps": 0, "nfev": 0}
    y, start = y0, t0
    for stop in [*edges, float(times[-1])]:
        first = start == t0
        idx = np.flatnonzero(((times >= start) if first else (times > start)) & (times <= stop))
        ev = times[idx]
        if not (ev.size and ev[-1] == stop):
            ev = np.append(ev, stop)
        end: dict[str, State] = {}

        def out(k: int, t: float, yk: State, idx: NDArray[np.int_] = idx,
                last: int = ev.size - 1, end: dict[str, State] = end) -> None:
            if k < idx.size:
                on_output(int(idx[k]), t, yk)
            if k == last:
                end["y"] = np.array(yk, copy=True)

        part = integrate(fun, y, ev, t0=start, on_output=out, **kwargs)
        stats = {key: stats[key] + part[key] for key in stats}
        y, start = end["y"], stop
    return stats
