"""Explicit Runge-Kutta stability on a Lindbladian (:mod:`qbattery.hilbert.stability`).

The real extent of a dissipator's spectrum is checked against the eigenvalues of the
whole superoperator built densely; the inscribed rectangles against the method's
stability polynomial evaluated on their boundary.
"""

from __future__ import annotations

import numpy as np
import pytest

from qbattery.hilbert import FockSpace
from qbattery.hilbert.stability import (
    TABLEAUX,
    dissipator_extent,
    rectangle_step,
    stability_rectangles,
)
from qbattery.terms import Jump


def _superoperator(space: FockSpace, jumps: list[Jump]) -> np.ndarray:
    xs = [x.toarray() for x in space.lowering_operators]
    eye = np.eye(space.size)
    out = np.zeros((space.size ** 2, space.size ** 2), dtype=complex)
    for j in jumps:
        c = np.sqrt(j.rate) * (xs[j.mode].T if j.raising else xs[j.mode])
        cdc = c.conj().T @ c
        out += np.kron(c, c.conj()) - 0.5 * np.kron(cdc, eye) - 0.5 * np.kron(eye, cdc.T)
    return out


@pytest.mark.parametrize("occupation", [0.0, 0.7, 2.0])
def test_extent_is_the_lowest_real_part_of_the_whole_spectrum(occupation: float) -> None:
    space = FockSpace(("a", "q", "b"), ("oscillator", "qubit", "oscillator"), (4, 2, 3))
    jumps = [Jump(0, 0.05 * (occupation + 1)), Jump(1, 0.03 * 1.3), Jump(1, 0.03 * 0.3, True),
             Jump(2, 0.02)]
    if occupation:
        jumps.append(Jump(0, 0.05 * occupation, raising=True))
    exact = -np.linalg.eigvals(_superoperator(space, jumps)).real.min()
    assert dissipator_extent(space, jumps) == pytest.approx(exact, rel=1e-9)


def test_thermal_truncation_reaches_beyond_the_anticommutator_bound() -> None:
    """One oscillator, 20 levels, N = 1, gamma = 0.05: max(sum c^dag c) = 2.75 but the
    spectrum reaches -4.72 (the truncated top levels)."""
    space = FockSpace(("a",), ("oscillator",), (20,))
    jumps = [Jump(0, 0.1), Jump(0, 0.05, raising=True)]
    assert dissipator_extent(space, jumps) == pytest.approx(4.7212, abs=1e-4)


@pytest.mark.parametrize("method", sorted(TABLEAUX))
def test_rectangles_lie_in_the_stability_region(method: str) -> None:
    a, b = TABLEAUX[method]
    A = np.zeros((b.size, b.size))
    A[:a.shape[0], :a.shape[1]] = a

    def growth(z: np.ndarray) -> np.ndarray:
        coef = [1.0] + [b @ np.linalg.matrix_power(A, k - 1) @ np.ones(b.size)
                        for k in range(1, b.size + 1)]
        return np.abs(np.polynomial.Polynomial(coef)(z))

    rect = stability_rectangles(method)
    assert np.all(np.diff(rect[:, 0]) > 0) and np.all(np.diff(rect[:, 1]) <= 0)
    for x, y in rect[::7]:
        s = np.linspace(0.0, 1.0, 201)
        edges = np.concatenate([-x * s + 1j * y, -x + 1j * y * s, -x * s])  # top, left, axis
        assert growth(edges).max() <= 1.0 + 1e-9


def test_rectangle_step_is_at_least_the_half_disc_step() -> None:
    for spread, decay in [(3.55, 4.72), (10.0, 0.1), (0.1, 10.0), (1.0, 1.0)]:
        assert rectangle_step("DOP853", spread, decay) >= 5.5 / (spread + decay)
    assert rectangle_step("DOP853", 0.0, 0.0) == float("inf")


def test_the_step_caps_bound_stays_within_dop853s_real_interval() -> None:
    """The engines cap with decay = max(sum c^dag c) and DOP853's rectangle X = 3
    (integrate.stable_step); the true real extent of a thermal oscillator's dissipator
    is at most 1.91x that bound (any N, up to 120 levels), so h (true extent) <= 5.73 stays
    inside DOP853's real stability interval [-6.39, 0]."""
    from qbattery.hilbert import Lindblad
    from qbattery.hilbert.integrate import STABILITY_RECTANGLE

    worst = 0.0
    for n_th in (0.1, 1.0, 5.0, 100.0):
        for d in (5, 20, 60, 120):
            space = FockSpace(("a",), ("oscillator",), (d,))
            jumps = [Jump(0, 0.05 * (n_th + 1)), Jump(0, 0.05 * n_th, raising=True)]
            worst = max(worst, dissipator_extent(space, jumps) / Lindblad(space, jumps).max_decay)
    assert 1.8 < worst < 1.92
    x = STABILITY_RECTANGLE["DOP853"][0] * worst
    real_interval = stability_rectangles("DOP853", margin=1.0)[-1, 0]
    assert x < real_interval - 0.5
