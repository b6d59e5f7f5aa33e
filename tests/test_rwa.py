"""Beyond the rotating-wave approximation (issue 15): dipole couplings and linear drives.

Closed forms (tests/README.md, 14-16), Gaussian (quadrature path) vs Fock vs QuTiP
mesolve in the lab frame, the RWA limit, refusals and the model file."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from cli_helpers import run_process

import qbattery as qb
from qbattery.config import dumps_toml, loads_toml
from qbattery.envelopes import GaussianPulse, Window
from qbattery.errors import ModelError, UnsupportedMethodError
from qbattery.merit_data import derivative
from qbattery.model import Bath, Coupling, Drive, Mode, Model
from qbattery.supermodes import supermodes
from qbattery.terms import compile_model
from qbattery.terms.quadrature import ground_covariance, quadrature_matrices

qutip = pytest.importorskip("qutip")


def _pair(g: float, *, form: str = "dipole", **kw: object) -> Model:
    return Model((Mode("a", **kw), Mode("b")), (Coupling(("a", "b"), g, form=form),))  # type: ignore[arg-type]


# -- closed forms -----------------------------------------------------------------------------
def test_normal_modes_of_dipole_coupled_oscillators() -> None:
    s = supermodes(_pair(0.2))
    assert s.stable and s.beyond_rwa
    np.testing.assert_allclose(s.frequencies, [np.sqrt(1 - 0.4), np.sqrt(1 + 0.4)], atol=1e-12)
    assert s.frequencies == pytest.approx([0.77460, 1.18322], abs=5e-6)
    rwa = supermodes(_pair(0.2, form="exchange"))
    np.testing.assert_allclose(rwa.frequencies, [0.8, 1.2], atol=1e-12)


def test_unstable_network_is_reported_as_such() -> None:
    s = supermodes(_pair(0.6))
    assert not s.stable and np.all(np.isnan(s.frequencies))
    assert "not bounded below" in s.instability
    assert s.table().startswith("Unstable network:")


def _ground_occupation(g: float, w: float = 1.0) -> float:
    """<a^dag a> of the coupled ground state of two equal modes (README 15)."""
    s = np.sqrt(1 + 2 * g / w), np.sqrt(1 - 2 * g / w)
    return float(sum(x + 1 / x for x in s) / 8 - 0.5)


def test_coupled_ground_state_occupation() -> None:
    g = 0.2
    model = _pair(g)
    v = ground_covariance(quadrature_matrices(compile_model(model))[0])
    n_gauss = (v[0, 0] + v[2, 2] - 1) / 2
    # exact diagonalisation of H on a truncated space (Fock)
    d = 14
    a = qutip.tensor(qutip.destroy(d), qutip.qeye(d))
    b = qutip.tensor(qutip.qeye(d), qutip.destroy(d))
    h = a.dag() * a + b.dag() * b + g * (a + a.dag()) * (b + b.dag())
    ground = h.groundstate()[1]
    n_fock = qutip.expect(a.dag() * a, ground)
    closed = _ground_occupation(g)
    assert closed == pytest.approx(0.011745166, abs=1e-9)  # virtual excitations
    assert abs(n_gauss - closed) < 1e-14
    assert abs(n_fock - closed) < 1e-9


def test_linearly_driven_damped_oscillator_steady_state() -> None:
    w, wf, F, gamma = 1.0, 0.9, 0.1, 0.5
    model = Model((Mode("a", frequency=w),), drives=(Drive("a", F, wf, form="linear"),),
                  baths=(Bath("a", gamma),))
    t = np.linspace(130.0, 140.0, 41)
    plus = -F / (w - wf - 0.5j * gamma)
    minus = -F / (w + wf - 0.5j * gamma)
    expected = plus + minus * np.exp(2j * wf * t)  # rotating frame: oscillates at 2 omega_f
    r = qb.solve(model, t, method="gaussian")
    assert np.max(np.abs(r.amplitude[0] - expected)) < 1e-12
    assert np.max(np.abs(r.occupation[0] - np.abs(expected) ** 2)) < 1e-12
    assert np.max(np.abs(minus)) > 1e-2  # the counter-rotating part is visible
    f = qb.solve(model, t[:1], method="fock", options=qb.SolverOptions(rtol=1e-10, atol=1e-12))
    assert abs(f.amplitude[0, 0] - expected[0]) < 1e-6


# -- cross-checks with QuTiP in the lab frame --------------------------------------------------
def _qutip_lab(model: Model, t: np.ndarray, dims: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Lab-frame <a_i^dag a_i> and <a_i> from a QuTiP model written by hand."""
    n = len(model.modes)
    ops = []
    for i, d in enumerate(dims):
        parts = [qutip.qeye(k) for k in dims]
        parts[i] = qutip.destroy(d)
        ops.append(qutip.tensor(parts))
    h0 = sum(m.frequency * x.dag() * x for m, x in zip(model.modes, ops, strict=True))
    for c in model.couplings:
        x, y = ops[model.index(c.between[0])], ops[model.index(c.between[1])]
        h0 = h0 + c.strength * ((x + x.dag()) * (y + y.dag()) if c.form == "dipole"
                                else x * y.dag() + x.dag() * y)
    h: list = [h0]
    for d in model.drives:
        x = ops[model.index(d.mode)]
        assert d.form == "linear"
        h.append([x + x.dag(), (lambda tt, d=d: 2 * d.amplitude
                                * np.cos(d.frequency * tt + d.phase))])
    c_ops = []
    for bath in model.baths:
        x = ops[model.index(bath.mode)]
        nb = bath.occupation or 0.0
        c_ops += [np.sqrt(bath.rate * (nb + 1)) * x]
        if nb:
            c_ops.append(np.sqrt(bath.rate * nb) * x.dag())
    states = []
    for m, d in zip(model.modes, dims, strict=True):
        states.append(qutip.coherent_dm(d, m.initial_amplitude) if m.initial_amplitude
                      else qutip.thermal_dm(d, m.initial_occupation))
    res = qutip.mesolve(qutip.QobjEvo(h), qutip.tensor(states), t, c_ops,
                        e_ops=[x.dag() * x for x in ops] + list(ops),
                        options={"atol": 1e-11, "rtol": 1e-9, "nsteps": 100000})
    e = np.array(res.expect)
    return np.real(e[:n]), e[n:]


def _network(*, damped: bool, drive: bool, phase: float = 0.0) -> Model:
    modes = (Mode("a", initial_amplitude=0.3), Mode("b", frequency=1.1, initial_occupation=0.1))
    baths = (Bath("a", 0.05, occupation=0.2), Bath("b", 0.03)) if damped else ()
    drives = (Drive("a", 0.05, 0.95, form="linear", phase=phase),) if drive else ()
    return Model(modes, (Coupling(("a", "b"), 0.15, form="dipole"),), drives, baths)


@pytest.mark.parametrize(("damped", "drive", "phase"), [
    (False, False, 0.0), (True, False, 0.0), (True, True, 0.7)])
def test_dipole_network_gaussian_fock_qutip(damped: bool, drive: bool, phase: float) -> None:
    model = _network(damped=damped, drive=drive, phase=phase)
    t = np.linspace(0.0, 8.0, 17)
    gauss = qb.solve(model, t, method="gaussian")
    fock = qb.solve(model, t, method="fock", options=qb.SolverOptions(
        cutoff=12, rtol=1e-10, atol=1e-12))
    occ, amp = _qutip_lab(model, t, [12, 12])
    lab = np.exp(-1j * model.frame_frequency * t) * gauss.amplitude
    assert np.max(np.abs(gauss.occupation - occ)) < 1e-7
    assert np.max(np.abs(lab - amp)) < 1e-7
    assert np.max(np.abs(gauss.occupation - fock.occupation)) < 1e-7
    assert np.max(np.abs(gauss.amplitude - fock.amplitude)) < 1e-7
    assert np.max(np.abs(gauss.ergotropy - fock.ergotropy)) < 1e-7
    np.testing.assert_allclose(gauss.extra["interaction_energy"][1],
                               fock.extra["interaction_energy"][1], atol=1e-7)


def test_rabi_qubit_fock_and_displaced_vs_qutip() -> None:
    g, wq = 0.2, 1.05
    model = Model((Mode("q", "qubit", wq, initial_occupation=1.0), Mode("a")),
                  (Coupling(("q", "a"), g, form="dipole"),))
    t = np.linspace(0.0, 10.0, 21)
    sm = qutip.tensor(qutip.destroy(2), qutip.qeye(12))
    a = qutip.tensor(qutip.qeye(2), qutip.destroy(12))
    h = wq * sm.dag() * sm + a.dag() * a + g * (sm + sm.dag()) * (a + a.dag())
    psi = qutip.tensor(qutip.basis(2, 1), qutip.basis(12, 0))
    res = qutip.mesolve(h, psi, t, [], e_ops=[sm.dag() * sm, a.dag() * a],
                        options={"atol": 1e-12, "rtol": 1e-10})
    options = qb.SolverOptions(rtol=1e-10, atol=1e-12, truncation_tol=1e-9)
    for method in ("fock", "displaced"):
        r = qb.solve(model, t, method=method, options=options)
        assert r.method == method
        assert np.max(np.abs(r.occupation - np.array(res.expect))) < 1e-6
    assert qb.choose_method(model, stop=10.0) == "displaced"


def test_power_balance_closes_with_dipole_and_linear_drive() -> None:
    model = _network(damped=True, drive=True, phase=0.3)
    t = np.linspace(0.0, 10.0, 801)
    for method in ("gaussian", "fock"):
        r = qb.solve(model, t, method=method, options=qb.SolverOptions(rtol=1e-10, atol=1e-12))
        de = derivative(r.energy.sum(0), t)
        assert np.max(np.abs(de - r.power_balance())[2:-2]) < 1e-7, method
        assert np.max(np.abs(r.coupling_power)) > 1e-2  # resonant, yet energy moves
        ds = r.to_xarray()
        assert "interaction_energy" in ds and "drive_power" in ds


# -- the RWA limit --------------------------------------------------------------------------------
def _rwa_error(g: float) -> float:
    t = np.linspace(0.0, 1.0 / g, 201)
    out = []
    for form in ("dipole", "exchange"):
        r = qb.solve(_pair(g, form=form, initial_amplitude=1.0), t, method="gaussian")
        out.append(r.occupation)
    return float(np.max(np.abs(out[0] - out[1])))


def test_rwa_limit_error_scales_like_g() -> None:
    e1, e2 = _rwa_error(1e-3), _rwa_error(2e-3)
    assert e1 < 2e-3
    assert 1.5 < e2 / e1 < 2.5


# -- envelopes, segments, model file ---------------------------------------------------------------
def test_window_envelope_on_dipole_gaussian_vs_fock() -> None:
    model = Model((Mode("a", initial_amplitude=0.5), Mode("b")),
                  (Coupling(("a", "b"), 0.2, Window(2.0, 5.0), form="dipole"),),
                  (Drive("b", 0.05, 1.0, Window(1.0, 4.0), form="linear"),))
    t = np.linspace(0.0, 7.0, 15)
    gauss = qb.solve(model, t, method="gaussian")
    fock = qb.solve(model, t, method="fock", options=qb.SolverOptions(cutoff=10, rtol=1e-10,
                                                                         atol=1e-12))
    assert np.max(np.abs(gauss.occupation - fock.occupation)) < 1e-6
    # continued in two runs from the handed-on state (anomalous moments included)
    first = qb.solve(model, t[:8], method="gaussian")
    second = qb.solve(model, t[7:], method="gaussian", initial_state=first.final_state)
    assert np.max(np.abs(second.occupation - gauss.occupation[:, 7:])) < 1e-12


def test_smooth_envelope_is_refused_by_the_quadrature_path() -> None:
    model = Model((Mode("a"), Mode("b")),
                  (Coupling(("a", "b"), 0.2, GaussianPulse(3.0, 1.0), form="dipole"),))
    with pytest.raises(UnsupportedMethodError, match=r"couplings\[0\] \(Dipole; its envelope "
                                                     r"varies smoothly"):
        qb.solve(model, [0.0, 1.0], method="gaussian")
    assert qb.choose_method(model, stop=1.0) == "fock"


def test_bad_forms_name_the_field() -> None:
    with pytest.raises(ModelError, match=r"form: unknown form 'dipol'; known: exchange, dipole"):
        Coupling(("a", "b"), 0.1, form="dipol")
    with pytest.raises(ModelError, match=r"form: unknown form 'cos'; known: rotating, linear"):
        Drive("a", 0.1, form="cos")
    with pytest.raises(ModelError, match=r"phase: only a drive of form \"linear\""):
        Drive("a", 0.1, phase=0.5)


def test_model_file_round_trip() -> None:
    model = _network(damped=True, drive=True, phase=0.7)
    sim = qb.Simulation(model, qb.TimeGrid(5.0, 11))
    text = dumps_toml(sim)
    assert 'form = "dipole"' in text and 'form = "linear"' in text and "phase = 0.7" in text
    assert loads_toml(text).model == model
    plain = dumps_toml(qb.Simulation(_pair(0.1, form="exchange"), qb.TimeGrid(5.0, 11)))
    assert "form" not in plain  # default forms are not written: files stay as they were


def test_cli_bad_form_is_one_line_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('[[modes]]\nname = "a"\n[[modes]]\nname = "b"\n[[couplings]]\n'
                   'between = ["a", "b"]\nstrength = 0.1\nform = "dipol"\n'
                   "[time]\nstop = 1.0\npoints = 3\n")
    proc = run_process(["simulate", str(bad), "--out", str(tmp_path / "x.nc")], cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.strip() == ("qbattery: error: couplings[0].form: unknown form 'dipol'; "
                                   "known: exchange, dipole")


@pytest.mark.slow
def test_three_mode_dipole_network_gaussian_vs_qutip() -> None:
    modes = (Mode("a", initial_amplitude=0.3), Mode("b", frequency=1.1), Mode("c", frequency=0.9))
    model = Model(modes, (Coupling(("a", "b"), 0.15, form="dipole"),
                          Coupling(("b", "c"), 0.1, form="dipole")),
                  (Drive("a", 0.05, 1.0, form="linear"),),
                  (Bath("a", 0.05, occupation=0.1), Bath("c", 0.02)))
    t = np.linspace(0.0, 6.0, 13)
    gauss = qb.solve(model, t, method="gaussian")
    occ, amp = _qutip_lab(model, t, [8, 8, 8])
    assert np.max(np.abs(gauss.occupation - occ)) < 1e-5
    assert np.max(np.abs(np.exp(-1j * t) * gauss.amplitude - amp)) < 1e-5


def test_an_unstable_dipole_network_is_refused_not_overflowed() -> None:
    """Three equal modes in a chain with dipole couplings g: normal modes
    omega sqrt(1 +- 2 sqrt2 g / omega) -- unstable above g = 0.354 (here 0.4)."""
    m = qb.catalytic_model(0.4, 0.4, 0.1, 0.05, catalyst="oscillator")
    m = dataclasses.replace(m, couplings=tuple(dataclasses.replace(c, form="dipole")
                                               for c in m.couplings))
    with pytest.raises(qb.ModelError, match=r"couplings: the network is unstable"):
        qb.solve(m, [0.0, 1000.0], method="gaussian")


def test_rwa_figure_data_shows_where_the_rwa_holds() -> None:
    """The `rwa` figure: the bare battery driven at the RWA supermode omega + g loses most
    of its charge in the full model at g = 0.2; the catalyst's dark mode (an exact normal
    mode at omega with dipole couplings) keeps it; the RWA error -> 0 as g -> 0."""
    from qbattery.figures import rwa

    ds = rwa.compute()
    sat = ds.saturated.sel(coupling=0.2)
    assert float(sat.sel(protocol=rwa.PROTOCOLS[0], model="rwa")) == pytest.approx(16.0, 1e-3)
    assert float(sat.sel(protocol=rwa.PROTOCOLS[0], model="full")) < 5.0
    assert float(sat.sel(protocol=rwa.PROTOCOLS[2], model="full")) == pytest.approx(16.0, 1e-3)
    err = np.abs(ds.rwa_error.sel(protocol=rwa.PROTOCOLS[0]).values)
    assert np.all(np.diff(err) > 0) and err[0] < 0.03  # grows with g, ~2g/omega when small
