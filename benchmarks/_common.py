"""Helpers shared by the benchmark scripts (run them from the repository root:
``python benchmarks/NAME.py``, which puts this folder on ``sys.path``)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import numpy as np

import qbattery as qb
from qbattery.interop import QutipProblem
from qbattery.observables import ergotropy

T = TypeVar("T")


def best_of(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Smallest wall time of ``repeat`` calls, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    assert out is not None
    return best, out


def mesolve_battery(model: qb.Model, problem: QutipProblem, times: np.ndarray, *,
                    rtol: float, atol: float) -> tuple[float, np.ndarray, np.ndarray]:
    """QuTiP mesolve of an exported problem: (wall seconds, battery energy, ergotropy)."""
    import qutip

    battery = model.index("battery")

    def energy(t: float, state: qutip.Qobj) -> float:
        return float(qutip.expect(problem.number("battery"), state))

    def work(t: float, state: qutip.Qobj) -> float:
        return ergotropy(state.ptrace(battery).full(), 1.0)

    start = time.perf_counter()
    out = qutip.mesolve(problem.hamiltonian, problem.initial_state, times,
                        problem.collapse_operators, e_ops=[energy, work],
                        options={"rtol": rtol, "atol": atol, "nsteps": 10**7})
    seconds = time.perf_counter() - start
    e_q, w_q = (np.real(np.array(x)) for x in out.expect)
    return seconds, e_q, w_q
