"""The in-place Runge-Kutta driver (qbattery.hilbert.rk, integrate.DRIVER = "own") against
closed forms and against SciPy's DOP853: order of convergence, error control, the
stability cap, dense output, restarts from on_step, in-place right-hand sides."""

from __future__ import annotations

import importlib

import numpy as np
import pytest
from scipy.linalg import expm

from qbattery.errors import IntegrationError
from qbattery.hilbert import integrate, pack_hermitian
from qbattery.hilbert.integrate import STABILITY_RADIUS, STABILITY_RECTANGLE, stable_step
from qbattery.hilbert.rk import _TS_A, STEPPERS

integrate_module = importlib.import_module("qbattery.hilbert.integrate")

#: A damped oscillator y' = M y: y(t) = exp(M t) y0.
M = np.array([[-0.1, 1.0], [-1.0, -0.1]])
Y0 = np.array([1.0, 0.5])


def _exact(times: np.ndarray) -> np.ndarray:
    return np.array([expm(M * t) @ Y0 for t in times])


def _solve(method: str, times: np.ndarray, **kw: object) -> tuple[np.ndarray, dict[str, int]]:
    out = np.zeros((times.size, 2))

    def on_output(k: int, t: float, y: np.ndarray) -> None:
        out[k] = y

    stats = integrate(lambda t, y: M @ y, Y0, times, on_output=on_output, method=method,
                      **{"rtol": 1e-8, "atol": 1e-10, **kw})  # type: ignore[arg-type]
    return out, stats


@pytest.mark.parametrize("method", ["DOP853", "Tsit5"])
def test_error_control_is_honoured(method: str) -> None:
    """Global error against the closed form within a small multiple of the tolerance,
    and tighter tolerances give smaller errors."""
    times = np.linspace(0.0, 20.0, 41)
    exact = _exact(times)
    errors = []
    for rtol in (1e-6, 1e-9):
        y, stats = _solve(method, times, rtol=rtol, atol=rtol * 1e-2)
        errors.append(np.abs(y - exact).max())
        assert errors[-1] < 100 * rtol
        assert stats["steps"] > 0 and stats["nfev"] > stats["steps"]
    assert errors[1] < errors[0] / 30


@pytest.mark.parametrize(("method", "order", "h0"), [("DOP853", 8, 0.25), ("Tsit5", 5, 0.125)])
def test_order_of_convergence(method: str, order: int, h0: float) -> None:
    """With fixed steps (first_step = max_step = h, tolerances loose enough to accept
    every step), halving h divides the error by at least ~2^order: y' = -y^2, y(0) = 1,
    y = 1 / (1 + t) (nonlinear: on linear problems Tsit5 is of order 6; measured slopes
    7.7 for DOP853 at h = 0.25, 6.0 for Tsit5 at h = 0.125, still above its asymptotic 5)."""
    times = np.array([0.0, 4.0])
    errs = []
    for h in (h0, h0 / 2):
        got: list[float] = []
        stats = integrate(lambda t, y: -y * y, np.array([1.0]), times, rtol=1.0, atol=1.0,
                          first_step=h, max_step=h, method=method,
                          on_output=lambda k, t, y, got=got: got.append(float(y[0])))
        assert stats["steps"] == round(4.0 / h)
        errs.append(abs(got[-1] - 0.2))
    assert order - 0.5 <= np.log2(errs[0] / errs[1]) <= order + 1.5


def test_own_dop853_takes_scipys_steps(monkeypatch: pytest.MonkeyPatch) -> None:
    """Same tableau, error norm and step policy: the same accepted steps as SciPy's
    DOP853 and the same outputs to rounding (dense output included)."""
    times = np.linspace(0.0, 30.0, 37)
    own, s_own = _solve("DOP853", times)
    monkeypatch.setattr(integrate_module, "DRIVER", "scipy")
    ref, s_ref = _solve("DOP853", times)
    assert s_own["steps"] == s_ref["steps"]
    assert s_own["nfev"] <= s_ref["nfev"]  # no last stage for rejected steps
    np.testing.assert_allclose(own, ref, atol=1e-13)


def test_stability_cap_is_respected() -> None:
    """max_step bounds every step, also when given as a function of the state."""
    times = np.linspace(0.0, 10.0, 3)
    seen: list[float] = []
    last = [0.0]

    def on_step(t: float, y: np.ndarray) -> None:
        seen.append(t - last[0])
        last[0] = t

    calls = []

    def cap(y: np.ndarray) -> float:
        calls.append(1)
        return 0.25

    integrate(lambda t, y: M @ y, Y0, times, rtol=1e-6, atol=1e-8, on_output=lambda *a: None,
              on_step=on_step, max_step=cap)
    assert max(seen) <= 0.25 + 1e-12 and len(calls) == len(seen) + 1


def test_on_step_may_raise_and_the_run_resumes() -> None:
    """A caller stops the run from on_step and resumes from that step's state with the
    outputs after it (first_step carried over): the outputs equal an uninterrupted run's."""
    times = np.linspace(0.0, 12.0, 25)
    whole, _ = _solve("DOP853", times)
    out = np.zeros((times.size, 2))
    saved: dict[str, object] = {}

    class Stop(Exception):
        pass

    def on_step(t: float, y: np.ndarray) -> None:
        if t > 5.0 and not saved:
            saved.update(t=t, y=y.copy())
            raise Stop

    def on_output(k: int, t: float, y: np.ndarray) -> None:
        out[k] = y

    with pytest.raises(Stop):
        integrate(lambda t, y: M @ y, Y0, times, rtol=1e-8, atol=1e-10, on_output=on_output,
                  on_step=on_step)
    t_stop = float(saved["t"])  # type: ignore[arg-type]
    rest = np.flatnonzero(times > t_stop)
    integrate(lambda t, y: M @ y, saved["y"], times[rest], t0=t_stop, rtol=1e-8, atol=1e-10,
              on_output=lambda k, t, y: out.__setitem__(rest[k], y), first_step=0.5)
    np.testing.assert_allclose(out, whole, atol=1e-8)
    np.testing.assert_allclose(out, _exact(times), atol=1e-7)


def test_inplace_right_hand_side_and_complex_states() -> None:
    """An in-place rhs (fun(t, y, out)) and a complex state: y' = i y."""
    times = np.linspace(0.0, 10.0, 23)
    values = np.zeros(times.size, dtype=complex)

    def fun(t: float, y: np.ndarray, out: np.ndarray) -> None:
        np.multiply(y, 1j, out=out)

    stats = integrate(fun, np.array([1.0 + 0j]), times, rtol=1e-10, atol=1e-12, inplace=True,
                      on_output=lambda k, t, y: values.__setitem__(k, y[0]))
    np.testing.assert_allclose(values, np.exp(1j * times), atol=1e-8)
    assert stats["steps"] > 1


def test_a_blow_up_is_an_integration_error() -> None:
    with pytest.raises(IntegrationError, match="step size collapsed"):
        integrate(lambda t, y: y**2, np.array([1.0]), np.array([0.0, 2.0]),
                  rtol=1e-8, atol=1e-10, on_output=lambda *a: None)


def test_tsit5_stability_constants() -> None:
    """The Tsit5 half-disc and rectangle lie in its stability region (from the tableau),
    whose imaginary axis ends near 0.48 (so its caps are an order below DOP853's)."""
    a = np.zeros((7, 7))
    for s, row in enumerate(_TS_A[:5], start=1):
        a[s, :s] = row
    b = np.zeros(7)
    b[:6] = _TS_A[5]

    def growth(z: complex) -> float:
        return float(abs(1 + z * b @ np.linalg.solve(np.eye(7) - z * a, np.ones(7))))

    r = STABILITY_RADIUS["Tsit5"]
    x, y = STABILITY_RECTANGLE["Tsit5"]
    disc = [r * s * np.exp(1j * phi) for phi in np.linspace(np.pi / 2, 3 * np.pi / 2, 61)
            for s in (0.5, 1.0)]
    box = [complex(-u, v) for u in np.linspace(0, x, 31) for v in np.linspace(-y, y, 41)]
    assert max(growth(z) for z in disc + box) <= 1 + 1e-9
    assert growth(1.0j) > 1 + 1e-5
    assert stable_step(2.0, 0.1, "Tsit5") < stable_step(2.0, 0.1, "DOP853") / 10
    assert set(STEPPERS) == {"DOP853", "Tsit5"}


def test_packed_states_integrate_like_complex_ones() -> None:
    """A packed Hermitian state stays real through the driver (no complex work arrays)."""
    rho = np.array([[0.7, 0.1 + 0.2j], [0.1 - 0.2j, 0.3]])
    m = pack_hermitian(rho).ravel()
    got: list[np.ndarray] = []
    integrate(lambda t, y: -0.1 * y, m, np.array([0.0, 1.0]), rtol=1e-10, atol=1e-12,
              on_output=lambda k, t, y: got.append(y.copy()))
    assert got[-1].dtype == np.float64
    np.testing.assert_allclose(got[-1], m * np.exp(-0.1), atol=1e-10)
