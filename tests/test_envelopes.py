"""Drives and couplings that change in time (envelopes; issue 14, engines part).

Closed forms (rotating frame at resonance, one damped oscillator, a' = -gamma a/2 - i F f(t)):
- square pulse on [T0, T1]: a = -(2iF/gamma)(1 - e^{-gamma (t - T0)/2}) inside, then
  free decay from its value at T1;
- Gaussian pulse exp(-(t - c)^2 / (2 w^2)): a(t) = -i F e^{-kt} int_0^t e^{ks} f(s) ds,
  k = gamma/2, an error-function integral (completing the square).
- A coupling switched off at T (no damping): afterwards every mode's energy is frozen.
Independent methods: Gaussian vs Fock vs QuTiP mesolve with time-dependent coefficients.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from scipy.special import erf

import qbattery as qb
from qbattery.config import loads_toml
from qbattery.envelopes import GaussianPulse, Table, Window

F, GAMMA = 0.3, 0.2


def _single(envelope: object) -> qb.Model:
    return qb.Model((qb.Mode("a"),), drives=(qb.Drive("a", F, envelope=envelope),),
                    baths=(qb.Bath("a", GAMMA),))


def _square(t: np.ndarray, t0: float, t1: float) -> np.ndarray:
    inside = -2j * F / GAMMA * (1 - np.exp(-GAMMA * (t - t0) / 2))
    end = -2j * F / GAMMA * (1 - np.exp(-GAMMA * (t1 - t0) / 2))
    return np.where(t < t0, 0, np.where(t <= t1, inside, end * np.exp(-GAMMA * (t - t1) / 2)))


def _gaussian(t: np.ndarray, c: float, w: float) -> np.ndarray:
    k = GAMMA / 2
    mu = c + k * w**2
    integral = np.exp(k * c + k**2 * w**2 / 2) * w * np.sqrt(np.pi / 2) * (
        erf((t - mu) / (np.sqrt(2) * w)) - erf(-mu / (np.sqrt(2) * w)))
    return -1j * F * np.exp(-k * t) * integral


@pytest.mark.parametrize("method", ["gaussian", "fock"])
def test_square_pulse_closed_form(method: str) -> None:
    t = np.linspace(0.0, 20.0, 41)
    r = qb.solve(_single(Window(2.0, 12.0)), t, method=method,
                 options=qb.SolverOptions(rtol=1e-10, atol=1e-12))
    tol = 1e-12 if method == "gaussian" else 1e-6
    np.testing.assert_allclose(r.amplitude[0], _square(t, 2.0, 12.0), atol=tol * 3)


@pytest.mark.parametrize("method", ["gaussian", "fock"])
def test_gaussian_pulse_closed_form(method: str) -> None:
    t = np.linspace(0.0, 20.0, 41)
    r = qb.solve(_single(GaussianPulse(8.0, 1.5)), t, method=method,
                 options=qb.SolverOptions(rtol=1e-10, atol=1e-12))
    tol = 1e-9 if method == "gaussian" else 1e-6
    np.testing.assert_allclose(r.amplitude[0], _gaussian(t, 8.0, 1.5), atol=tol)


def test_a_short_pulse_late_in_a_long_run_is_not_stepped_over() -> None:
    t = np.array([0.0, 200.0])
    r = qb.solve(_single(GaussianPulse(150.0, 0.5)), t, method="fock")
    np.testing.assert_allclose(r.amplitude[0, -1], _gaussian(t, 150.0, 0.5)[-1], atol=1e-6)
    assert abs(r.amplitude[0, -1]) > 1e-3


@pytest.mark.parametrize("method", ["gaussian", "fock"])
def test_switched_off_coupling_freezes_the_energies(method: str) -> None:
    base = qb.bare_model(0.2, 0.1)  # no damping
    model = dataclasses.replace(base, couplings=(dataclasses.replace(
        base.couplings[0], envelope=Window(0.0, 7.0)),), drives=(dataclasses.replace(
            base.drives[0], envelope=Window(0.0, 7.0)),))
    t = np.linspace(0.0, 15.0, 31)
    r = qb.solve(model, t, method=method, options=qb.SolverOptions(rtol=1e-10, atol=1e-12))
    after = t >= 7.0
    assert np.ptp(r.energy[:, after], axis=1).max() < 1e-8
    assert r.energy[1, after][0] > 1e-2  # the battery was charged before the switch
    # before the switch: the closed form <b> = -(F/g)(1 - cos g t) of the constant model
    before = t < 7.0
    b = -(0.1 / 0.2) * (1 - np.cos(0.2 * t[before]))
    np.testing.assert_allclose(r.amplitude[1, before], b, atol=1e-6)


def _windowed_catalyst(catalyst: str) -> qb.Model:
    m = qb.catalytic_model(0.2, 0.2, 0.06, 0.05, catalyst=catalyst)
    return dataclasses.replace(
        m, drives=(dataclasses.replace(m.drives[0], envelope=Window(1.0, 7.0, 2.0)),),
        couplings=(m.couplings[0],
                   dataclasses.replace(m.couplings[1], envelope=Window(0.0, 9.0))))


def test_gaussian_equals_fock_with_windowed_drive_and_coupling() -> None:
    model = _windowed_catalyst("oscillator")
    t = np.linspace(0.0, 12.0, 25)
    g = qb.solve(model, t, method="gaussian")
    f = qb.solve(model, t, method="fock", options=qb.SolverOptions(rtol=1e-10, atol=1e-12,
                                                                    truncation_tol=1e-8))
    np.testing.assert_allclose(f.energy, g.energy, atol=1e-7)
    np.testing.assert_allclose(f.ergotropy, g.ergotropy, atol=1e-6)
    np.testing.assert_allclose(f.drive_power, g.drive_power, atol=1e-7)


def test_fock_equals_qutip_with_time_dependent_coefficients() -> None:
    qutip = pytest.importorskip("qutip")
    from qbattery.interop import to_qutip

    model = _windowed_catalyst("qubit")
    t = np.linspace(0.0, 12.0, 25)
    cut = {"charger": 8, "battery": 8}
    f = qb.solve(model, t, method="fock", options=qb.SolverOptions(
        cutoff=cut, rtol=1e-10, atol=1e-12))
    p = to_qutip(model, cutoffs=cut)
    out = qutip.mesolve(p.hamiltonian, p.initial_state, t, p.collapse_operators,
                        e_ops=[p.number("battery"), p.number("catalyst")],
                        options={"rtol": 1e-10, "atol": 1e-12, "max_step": 0.05})
    np.testing.assert_allclose(f.occupation[2], np.real(out.expect[0]), atol=1e-6)
    np.testing.assert_allclose(f.occupation[1], np.real(out.expect[1]), atol=1e-6)
    assert f.occupation[2, -1] > 5e-3  # the battery holds something


@pytest.mark.parametrize(("method", "catalyst"), [("gaussian", "oscillator"), ("fock", "qubit")])
def test_sharp_switch_equals_two_runs_joined(method: str, catalyst: str) -> None:
    base = qb.catalytic_model(0.2, 0.2, 0.06, 0.05, catalyst=catalyst)
    switched = dataclasses.replace(base, drives=(dataclasses.replace(
        base.drives[0], envelope=Window(0.0, 13.7)),))
    off = dataclasses.replace(base, drives=(dataclasses.replace(base.drives[0],
                                                                amplitude=0.0),))
    opts = qb.SolverOptions(method=method, rtol=1e-10, atol=1e-12, cutoff=10)
    t = np.linspace(0.0, 30.0, 31)
    whole = qb.solve(switched, t, options=opts)
    first = qb.solve(base, np.append(t[t < 13.7], 13.7), options=opts)
    second = qb.solve(off, np.append(13.7, t[t > 13.7]), options=opts,
                      initial_state=first.final_state)
    np.testing.assert_allclose(whole.energy[:, t > 13.7], second.energy[:, 1:], atol=1e-7)


def test_energy_balance_with_envelopes() -> None:
    model = _windowed_catalyst("qubit")
    t = np.linspace(0.0, 12.0, 1201)
    r = qb.solve(model, t, method="fock", options=qb.SolverOptions(rtol=1e-10, atol=1e-12))
    dE = np.gradient(r.energy.sum(0), t)
    inner = slice(5, -5)
    np.testing.assert_allclose(dE[inner], r.power_balance()[inner], atol=2e-4)


def test_envelopes_in_model_files_round_trip() -> None:
    text = """
[[modes]]
name = "a"
[[drives]]
mode = "a"
amplitude = 0.1
envelope = { kind = "table", times = [0.0, 1.0, 3.0], values = [0.0, 1.0, 0.5], outside = "hold" }
[time]
stop = 4.0
points = 5
"""
    sim = loads_toml(text)
    env = sim.model.drives[0].envelope
    assert isinstance(env, Table)
    np.testing.assert_allclose(env(np.array([-1.0, 0.5, 2.0, 9.0])), [0.0, 0.5, 0.75, 0.5])
    assert loads_toml(sim.to_toml()).model == sim.model
    zero = Table((0.0, 1.0), (1.0, 1.0))
    np.testing.assert_allclose(zero(np.array([-0.5, 0.5, 1.5])), [0.0, 1.0, 0.0])


def test_window_shape() -> None:
    w = Window(1.0, 5.0, 1.0)
    np.testing.assert_allclose(w(np.array([0.5, 1.0, 1.5, 2.0, 3.0, 4.5, 5.0, 6.0])),
                               [0, 0, 0.5, 1, 1, 0.5, 0, 0], atol=1e-15)
    assert w.breakpoints() == (1.0, 2.0, 4.0, 5.0)


@pytest.mark.parametrize(("envelope", "message"), [
    ({"kind": "window", "start": 5.0, "stop": 1.0},
     r"drives\[0\]\.envelope\.stop: must be > start"),
    ({"kind": "window", "start": 0.0, "stop": 1.0, "rise": 0.6},
     r"drives\[0\]\.envelope\.rise: two ramps"),
    ({"kind": "gaussian", "center": 1.0, "width": -1.0},
     r"drives\[0\]\.envelope\.width: must be > 0"),
    ({"kind": "table", "times": [0.0, 2.0, 1.0], "values": [0, 1, 0]},
     r"drives\[0\]\.envelope\.times: must be strictly increasing"),
    ({"kind": "table", "times": [0.0, 1.0], "values": [0.0, float("nan")]},
     r"drives\[0\]\.envelope\.values\[1\]: must be finite"),
    ({"kind": "table", "times": [0.0, 1.0], "values": [0.0, 1.0, 2.0]},
     r"drives\[0\]\.envelope\.values: expected 2 values"),
    ({"kind": "pulse"}, r"drives\[0\]\.envelope\.kind: expected one of window, gaussian, table"),
    ({"kind": "window", "start": 0.0}, r"drives\[0\]\.envelope\.stop: required field missing"),
    ({"kind": "window", "start": 0.0, "stop": 1.0, "width": 2}, r"envelope\.width: unknown"),
])
def test_bad_envelopes_are_refused_with_their_field(envelope: dict, message: str) -> None:
    from qbattery.config import simulation_from_dict

    data = {"modes": [{"name": "a"}], "drives": [{"mode": "a", "amplitude": 0.1,
                                                   "envelope": envelope}],
            "time": {"stop": 1.0}}
    with pytest.raises(qb.ModelError, match=message):
        simulation_from_dict(data)


@pytest.mark.parametrize("catalyst", ["qubit", "oscillator"])
def test_displaced_frame_follows_smooth_envelopes(catalyst: str) -> None:
    """A ramped drive and a sharply disconnected battery: the displaced frame follows the
    time-dependent first moments (alpha from A(t), F f(t)); vs Fock."""
    model = _windowed_catalyst(catalyst)
    assert qb.choose_method(model, stop=12.0) in ("displaced", "fock", "gaussian")
    t = np.linspace(0.0, 12.0, 25)
    opts = qb.SolverOptions(rtol=1e-10, atol=1e-12, truncation_tol=1e-8)
    d = qb.solve(model, t, method="displaced", options=opts)
    f = qb.solve(model, t, method="fock", options=opts)
    assert d.stats["segments"] == 6  # ramps on [1, 3] and [5, 7], switches at 1, 7 and 9
    np.testing.assert_allclose(d.energy, f.energy, atol=2e-6)
    np.testing.assert_allclose(d.ergotropy, f.ergotropy, atol=2e-6)
    np.testing.assert_allclose(d.drive_power, f.drive_power, atol=2e-6)


def test_displaced_frame_pulsed_qubit_coupling_vs_qutip() -> None:
    """A Gaussian pulse on the catalyst-charger coupling (a qubit: the frame's qubit drive
    g(t) alpha sigma^+ carries the envelope) and on the drive; displaced vs QuTiP mesolve."""
    qutip = pytest.importorskip("qutip")
    from qbattery.interop import to_qutip

    m = qb.catalytic_model(0.2, 0.2, 0.06, 0.05, catalyst="qubit")
    model = dataclasses.replace(
        m, drives=(dataclasses.replace(m.drives[0], envelope=GaussianPulse(4.0, 2.0)),),
        couplings=(dataclasses.replace(m.couplings[0], envelope=GaussianPulse(6.0, 3.0)),
                   m.couplings[1]))
    t = np.linspace(0.0, 12.0, 25)
    d = qb.solve(model, t, method="displaced", options=qb.SolverOptions(
        rtol=1e-10, atol=1e-12, truncation_tol=1e-8))
    cut = {"charger": 10, "battery": 10}
    p = to_qutip(model, cutoffs=cut)
    out = qutip.mesolve(p.hamiltonian, p.initial_state, t, p.collapse_operators,
                        e_ops=[p.number("battery"), p.number("catalyst")],
                        options={"rtol": 1e-10, "atol": 1e-12, "max_step": 0.05})
    np.testing.assert_allclose(d.occupation[2], np.real(out.expect[0]), atol=1e-6)
    np.testing.assert_allclose(d.occupation[1], np.real(out.expect[1]), atol=1e-6)
    assert d.occupation[2, -1] > 1e-2 and d.occupation[1].max() > 1e-2


def test_displaced_frame_gaussian_pulse_closed_form() -> None:
    t = np.linspace(0.0, 20.0, 41)
    r = qb.solve(_single(GaussianPulse(8.0, 1.5)), t, method="displaced",
                 options=qb.SolverOptions(rtol=1e-10, atol=1e-12))
    np.testing.assert_allclose(r.amplitude[0], _gaussian(t, 8.0, 1.5), atol=1e-8)


def test_displaced_frame_runs_sharp_switches_in_segments() -> None:
    """Charge, switch the drive off, disconnect the battery: displaced vs Fock."""
    m = qb.catalytic_model(0.2, 0.2, 0.06, 0.05)
    model = dataclasses.replace(
        m, drives=(dataclasses.replace(m.drives[0], envelope=Window(0.0, 6.0)),),
        couplings=(m.couplings[0], dataclasses.replace(m.couplings[1],
                                                       envelope=Window(0.0, 9.0))))
    t = np.linspace(0.0, 12.0, 25)
    opts = qb.SolverOptions(rtol=1e-10, atol=1e-12)
    d = qb.solve(model, t, method="displaced", options=opts)
    f = qb.solve(model, t, method="fock", options=opts)
    assert d.stats["segments"] == 3
    np.testing.assert_allclose(d.energy, f.energy, atol=2e-6)
    np.testing.assert_allclose(d.ergotropy, f.ergotropy, atol=2e-6)
    assert np.ptp(d.energy[2, t >= 9.0]) < 1e-9  # the disconnected battery keeps its energy


def test_compare_storage_phase_equals_a_switched_drive() -> None:
    """``compare --store``: the storage phase (a continued run with the drive at zero)
    equals one run with the drive switched off by a window envelope."""
    from qbattery.sweeps.protocols import ProtocolParams, compare, compare_table, protocol_named

    protocols = [protocol_named("bare_global"), protocol_named("catalyst_oscillator")]
    params = ProtocolParams()
    ds = compare(params, stop=60.0, points=61, protocols=protocols, store=60.0)
    for k, proto in enumerate(protocols):
        model = proto.model(params)
        switched = dataclasses.replace(model, drives=tuple(
            dataclasses.replace(d, envelope=Window(0.0, 60.0)) for d in model.drives))
        ref = qb.solve(switched, ds["storage_time"].values)
        np.testing.assert_allclose(ds["storage_ergotropy"].values[k],
                                   ref.ergotropy[model.index("battery")], rtol=1e-9, atol=1e-12)
    assert np.all(ds["kept_fraction"].values < 0.5)  # connected batteries discharge
    assert "kept" in compare_table(ds)


def test_modes_describes_each_constant_segment() -> None:
    """``qbattery modes``: the model on each segment (switches make it piecewise constant)."""
    from qbattery.supermodes import constant_segments, supermodes

    m = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    model = dataclasses.replace(
        m, drives=(dataclasses.replace(m.drives[0], envelope=Window(0.0, 100.0, 10.0)),),
        couplings=(m.couplings[0], dataclasses.replace(m.couplings[1],
                                                       envelope=Window(0.0, 150.0))))
    segs = constant_segments(model)
    assert [(a, b) for a, b, _ in segs] == [(0.0, 10.0), (10.0, 90.0), (90.0, 100.0),
                                            (100.0, 150.0), (150.0, float("inf"))]
    assert segs[0][2] is None and segs[2][2] is None  # ramps
    on, off, apart = segs[1][2], segs[3][2], segs[4][2]
    assert on is not None and off is not None and apart is not None
    assert on.drives[0].amplitude == 0.1 and off.drives[0].amplitude == 0.0
    assert apart.couplings[1].strength == 0.0
    s = supermodes(apart)  # battery disconnected: the dark mode is the battery alone
    assert s.dark is not None
    np.testing.assert_allclose(np.abs(s.dark[:, 0]), [0.0, 0.0, 1.0], atol=1e-12)
    assert constant_segments(m) == [(0.0, float("inf"), m)]
