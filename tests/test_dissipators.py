"""Correlated jumps ([[dissipators]]) and dephasing ([[dephasing]]): closed forms, the
engines against each other and QuTiP, energy bookkeeping, and refusals by field.

Analytic systems (tests/README.md, 11-13): collective decay of two resonant modes, the
nonreciprocal charger-battery pair, dephased qubit and oscillator coherences.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import qbattery as qb
from qbattery import Dephasing, Dissipator, Mode, Model
from qbattery.config import dumps_toml, loads_toml
from qbattery.errors import UnsupportedMethodError
from qbattery.solvers import DensityState
from qbattery.solvers.gaussian import steady_state
from qbattery.solvers.gaussian_batch import solve_batch

TIGHT = qb.SolverOptions(rtol=1e-10, atol=1e-12)
S = 1 / np.sqrt(2)


def _fixed(cut: dict[str, int]) -> qb.SolverOptions:
    return qb.SolverOptions(cutoff=cut, truncation_tol=0.5, rtol=1e-10, atol=1e-12)


# -- closed forms ---------------------------------------------------------------------------
@pytest.mark.parametrize("method", ["gaussian", "fock"])
def test_collective_decay_bright_mode_decays_dark_mode_kept(method: str) -> None:
    """L = (a + b)/sqrt2 at rate gamma: the bright mode (a + b)/sqrt2 decays as
    exp(-gamma t/2) in amplitude, the dark mode (a - b)/sqrt2 is kept."""
    gamma, a0, b0 = 0.3, 1.0, 0.5j
    model = Model(modes=(Mode("a", initial_amplitude=a0), Mode("b", initial_amplitude=b0)),
                  dissipators=(Dissipator({"a": S, "b": S}, rate=gamma),))
    t = np.linspace(0, 10, 21)
    r = qb.solve(model, t, method=method, options=TIGHT)
    bright, dark = S * (a0 + b0) * np.exp(-gamma * t / 2), S * (a0 - b0)
    a, b = S * (bright + dark), S * (bright - dark)
    tol = 1e-12 if method == "gaussian" else 1e-7
    np.testing.assert_allclose(r.amplitude[0], a, atol=tol)
    np.testing.assert_allclose(r.amplitude[1], b, atol=tol)
    np.testing.assert_allclose(r.occupation, np.abs([a, b]) ** 2, atol=tol)
    # heat = gamma |<L>|^2 for a coherent state: the bright mode's energy loss
    np.testing.assert_allclose(r.heat[0], gamma * np.abs(bright) ** 2, atol=tol)


def _nonreciprocal(g: float, F: float, kappa: float, n_th: float = 0.0, *,
                   drive: str = "charger") -> Model:
    """Charger a and battery b with coherent coupling g and a shared reservoir
    L = a - i b at rate 2g (c = (1, -i)): A_ab = -i g - (2g/2) c_a^* c_b = -i g + i g = 0
    and A_ba = -i g - g c_b^* c_a = -2 i g, so b feels a and a does not feel b; local
    loss kappa on both."""
    return Model(
        modes=(Mode("charger"), Mode("battery")),
        couplings=(qb.Coupling(("charger", "battery"), g),),
        drives=(qb.Drive(drive, F),),
        baths=(qb.Bath("charger", kappa, occupation=n_th),
               qb.Bath("battery", kappa, occupation=n_th)),
        dissipators=(Dissipator({"charger": 1.0, "battery": [0.0, -1.0]}, rate=2 * g,
                                occupation=n_th),),
    )


def test_nonreciprocal_steady_state_from_its_linear_equations() -> None:
    """0 = A alpha + b with A = [[-(g + k/2), 0], [-2ig, -(g + k/2)]] (the shared reservoir
    cancels the back-action): alpha_a = -iF/(g + k/2), alpha_b = -2ig alpha_a/(g + k/2);
    driving the battery instead leaves the charger empty (one-way flow)."""
    g, F, k = 0.2, 0.1, 0.05
    model = _nonreciprocal(g, F, k)
    A = qb.terms.compile_model(model).drift_dense()
    assert abs(A[0, 1]) < 1e-15 and abs(A[1, 0] + 2j * g) < 1e-15
    damp = g + k / 2
    a = -1j * F / damp
    b = -2j * g * a / damp
    steady = steady_state(model)
    assert steady is not None
    np.testing.assert_allclose(steady[0], [a, b], atol=1e-14)
    np.testing.assert_allclose(steady[1], np.abs([a, b]) ** 2, atol=1e-13)
    r = qb.solve(model, np.linspace(0, 400, 5), method="gaussian")
    np.testing.assert_allclose(r.amplitude[:, -1], [a, b], atol=1e-9)
    ratio = r.energy[1, -1] / r.energy[0, -1]  # (2g/(g + k/2))^2: 4 as k -> 0
    np.testing.assert_allclose(ratio, (2 * g / damp) ** 2, rtol=1e-9)
    back = steady_state(_nonreciprocal(g, F, k, drive="battery"))
    assert back is not None and abs(back[0][0]) < 1e-14 and abs(back[0][1]) > 0.1
    # thermal shared reservoir: the fluctuations thermalise to N (every channel at N)
    hot = steady_state(_nonreciprocal(g, F, k, 0.4))
    assert hot is not None
    np.testing.assert_allclose(hot[1], np.abs([a, b]) ** 2 + 0.4, atol=1e-12)


def test_dephased_qubit_coherence_decays_populations_kept() -> None:
    """gamma_phi D[sigma_+ sigma_-] from |+>: <sigma_-> = (1/2) exp(-gamma_phi t/2), p_e = 1/2."""
    gphi = 0.4
    model = Model(modes=(Mode("q", "qubit"),), dephasing=(Dephasing("q", gphi),))
    plus = DensityState(0.0, ("q",), (2,), np.full((2, 2), 0.5, dtype=complex), np.zeros(1),
                        model.frame_frequency)
    t = np.linspace(0, 8, 17)
    for method in ("fock", "displaced"):
        r = qb.solve(model, t, method=method, options=TIGHT, initial_state=plus)
        np.testing.assert_allclose(r.amplitude[0], 0.5 * np.exp(-gphi * t / 2), atol=1e-8)
        np.testing.assert_allclose(r.occupation[0], 0.5, atol=1e-10)
        np.testing.assert_allclose(r.heat[0], 0.0, atol=1e-15)


def test_dephased_oscillator_mean_decays_number_kept() -> None:
    """gamma_phi D[a^dag a] on a coherent state: <a> = alpha exp(-gamma_phi t/2), <n> kept
    (the number distribution is untouched); Fock only (the state leaves the Gaussian
    family, the displaced frame cannot move D[n])."""
    gphi, alpha = 0.3, 1.2
    model = Model(modes=(Mode("a", initial_amplitude=alpha),), dephasing=(Dephasing("a", gphi),))
    t = np.linspace(0, 6, 13)
    r = qb.solve(model, t, method="fock", options=TIGHT)
    np.testing.assert_allclose(r.amplitude[0], alpha * np.exp(-gphi * t / 2), atol=1e-7)
    np.testing.assert_allclose(r.occupation[0], alpha**2, atol=1e-7)
    # the coherent energy turns passive: ergotropy drops below the energy
    assert r.ergotropy[0, -1] < 0.9 * r.energy[0, -1]
    for method, why in (("gaussian", "dephasing makes an oscillator's state non-Gaussian"),
                        ("displaced", "not of the frame's form")):
        with pytest.raises(UnsupportedMethodError, match=rf"dephasing\[0\] \(Dephasing; .*{why}"):
            qb.solve(model, t, method=method)
    assert qb.choose_method(model) == "fock"


# -- engines against each other and QuTiP ---------------------------------------------------
def _correlated_pair(n_th: float) -> Model:
    return Model(
        modes=(Mode("charger", initial_amplitude=0.3), Mode("battery", frequency=1.02)),
        couplings=(qb.Coupling(("charger", "battery"), 0.15),),
        drives=(qb.Drive("charger", 0.08),),
        baths=(qb.Bath("battery", 0.04, occupation=0.1),),
        dissipators=(Dissipator({"charger": 0.8, "battery": [0.3, -0.5]}, rate=0.2,
                                occupation=n_th),),
    )


def _mesolve(model: Model, cut: dict[str, int], t: np.ndarray, collapse: list) -> np.ndarray:
    """<x^dag x> of every mode from qutip.mesolve with the given collapse operators on the
    exported Hamiltonian and initial state."""
    qutip = pytest.importorskip("qutip")
    from qbattery.interop import to_qutip

    p = to_qutip(model, cutoffs=cut)
    out = qutip.mesolve(p.hamiltonian, p.initial_state, t, collapse,
                        e_ops=[p.number(n) for n in model.names],
                        options={"rtol": 1e-10, "atol": 1e-12, "nsteps": 100000})
    return np.real(np.array(out.expect))


def test_correlated_thermal_jump_gaussian_fock_qutip() -> None:
    """L = 0.8 a + (0.3 - 0.5i) b, gamma = 0.2, N = 0.3 with a coupling, a drive and a
    local bath: the Gaussian engine (non-diagonal diffusion), the Fock engine and mesolve
    with collapse operators built here from qutip.destroy agree; the balance closes."""
    qutip = pytest.importorskip("qutip")
    model = _correlated_pair(0.3)
    d = 12
    cut = {"charger": d, "battery": d}
    t = np.linspace(0, 12, 25)
    gau = qb.solve(model, t, method="gaussian")
    fock = qb.solve(model, t, method="fock", options=_fixed(cut))
    a = qutip.tensor(qutip.destroy(d), qutip.qeye(d))
    b = qutip.tensor(qutip.qeye(d), qutip.destroy(d))
    L = 0.8 * a + (0.3 - 0.5j) * b
    collapse = [np.sqrt(0.2 * 1.3) * L, np.sqrt(0.2 * 0.3) * L.dag(),
                np.sqrt(0.04 * 1.1) * b, np.sqrt(0.04 * 0.1) * b.dag()]
    ref = _mesolve(model, cut, t, collapse)
    np.testing.assert_allclose(fock.occupation, ref, atol=2e-6)
    np.testing.assert_allclose(gau.occupation, fock.occupation, atol=2e-6)
    np.testing.assert_allclose(gau.amplitude, fock.amplitude, atol=2e-6)
    np.testing.assert_allclose(gau.heat, fock.heat, atol=2e-6)
    _balance_closes(model)


def _balance_closes(model: Model, method: str = "gaussian", **kw: object) -> None:
    """dE/dt (fourth-order differences of the total local energy on a fine grid) equals
    sum P_drive - sum heat + sum P_coupling."""
    t = np.linspace(0, 6, 601)
    r = qb.solve(model, t, method=method, **kw)  # type: ignore[arg-type]
    E = r.energy.sum(0)
    h = t[1] - t[0]
    dE = (E[:-4] - 8 * E[1:-3] + 8 * E[3:-1] - E[4:]) / (12 * h)
    np.testing.assert_allclose(dE, r.power_balance()[2:-2], atol=1e-7)


def test_energy_balance_of_the_nonreciprocal_model() -> None:
    """The heat of the shared reservoir (from the cross moment <a^dag b>) closes the balance,
    and it is not the sum of two local heats."""
    model = _nonreciprocal(0.2, 0.1, 0.05, 0.2)
    _balance_closes(model)
    r = qb.solve(model, np.linspace(0, 20, 5), method="gaussian")
    local = 0.4 * (r.occupation - 0.2 * 1).sum(0)  # gamma sum omega (n_i - N) if it were local
    assert np.max(np.abs(r.heat[2] - local)) > 1e-3


def _catalyst_model(*, dephase_battery: bool = False) -> Model:
    deph = [Dephasing("catalyst", 0.05)]
    if dephase_battery:
        deph.append(Dephasing("battery", 0.03))
    return Model(
        modes=(Mode("charger"), Mode("catalyst", "qubit"), Mode("battery")),
        couplings=(qb.Coupling(("charger", "catalyst"), 0.2),
                   qb.Coupling(("battery", "catalyst"), 0.2)),
        drives=(qb.Drive("charger", 0.1),),
        baths=(qb.Bath("charger", 0.05, occupation=0.2),),
        dissipators=(Dissipator({"charger": 0.5, "battery": [0.0, 0.5]}, rate=0.1,
                                occupation=0.2),),
        dephasing=tuple(deph),
    )


def test_dephasing_and_correlated_jump_fock_against_qutip() -> None:
    """A qubit catalyst with qubit and battery dephasing and a correlated thermal jump:
    Fock against mesolve with D[n] and L built from qutip operators."""
    qutip = pytest.importorskip("qutip")
    model = _catalyst_model(dephase_battery=True)
    d = 7
    cut = {"charger": d, "battery": d}
    t = np.linspace(0, 10, 11)
    fock = qb.solve(model, t, method="fock", options=_fixed(cut))
    a = qutip.tensor(qutip.destroy(d), qutip.qeye(2), qutip.qeye(d))
    s = qutip.tensor(qutip.qeye(d), qutip.destroy(2), qutip.qeye(d))
    b = qutip.tensor(qutip.qeye(d), qutip.qeye(2), qutip.destroy(d))
    L = 0.5 * a + 0.5j * b
    collapse = [np.sqrt(0.05 * 1.2) * a, np.sqrt(0.05 * 0.2) * a.dag(),
                np.sqrt(0.1 * 1.2) * L, np.sqrt(0.1 * 0.2) * L.dag(),
                np.sqrt(0.05) * s.dag() * s, np.sqrt(0.03) * b.dag() * b]
    np.testing.assert_allclose(fock.occupation, _mesolve(model, cut, t, collapse), atol=1e-6)
    rho = fock.final_state.rho  # type: ignore[union-attr]
    assert abs(np.trace(rho) - 1) < 1e-10
    assert np.all(fock.ergotropy >= -1e-9) and np.all(fock.ergotropy <= fock.energy + 1e-9)


def test_displaced_matches_fock_with_correlated_jump_and_qubit_dephasing() -> None:
    """The displaced frame takes a correlated jump of oscillators (its alpha equation uses
    the full drift) and qubit dephasing (qubits are not displaced)."""
    model = _catalyst_model()
    t = np.linspace(0, 10, 11)
    disp = qb.solve(model, t, method="displaced", options=TIGHT)
    fock = qb.solve(model, t, method="fock", options=TIGHT)
    np.testing.assert_allclose(disp.energy, fock.energy, atol=2e-5)
    np.testing.assert_allclose(disp.amplitude, fock.amplitude, atol=2e-5)
    np.testing.assert_allclose(disp.heat, fock.heat, atol=2e-5)
    assert np.all(disp.ergotropy >= -1e-9) and np.all(disp.ergotropy <= disp.energy + 1e-6)


def test_density_engines_close_the_balance() -> None:
    """Energy balance with the new heats on the Fock engine (dephasing heats nothing)."""
    model = _catalyst_model()
    _balance_closes(model, "fock", options=_fixed({"charger": 8, "battery": 8}))


def test_mixed_jump_refused_by_the_displaced_frame() -> None:
    model = Model(modes=(Mode("charger"), Mode("catalyst", "qubit")),
                  drives=(qb.Drive("charger", 0.1),),
                  dissipators=(Dissipator({"charger": 1.0, "catalyst": 1.0}, rate=0.1),))
    with pytest.raises(UnsupportedMethodError, match=r"dissipators\[0\] \(CorrelatedBath; "
                       "its jump mixes displaced oscillators and qubits\\)"):
        qb.solve(model, np.linspace(0, 1, 3), method="displaced")
    qb.solve(model, np.linspace(0, 1, 3), method="fock")


def test_gaussian_batch_takes_the_non_diagonal_diffusion() -> None:
    models = [_correlated_pair(n) for n in (0.0, 0.3, 1.0)]
    t = np.linspace(0, 12, 25)
    batch = solve_batch(models, t)
    for k, m in enumerate(models):
        one = qb.solve(m, t, method="gaussian")
        np.testing.assert_allclose(batch.occupation[k], one.occupation, atol=1e-10)


def test_twin_plans_cutoffs_with_dephasing() -> None:
    """The Gaussian twin takes dephasing's first-moment drift (the term is not Gaussian)."""
    from qbattery.terms.linear import twin_bounds

    model = _catalyst_model(dephase_battery=True)
    problem = qb.terms.compile_model(model)
    assert "dephasing[1] (Dephasing; " in (problem.gaussian_reason() or "")
    bounds = twin_bounds(problem, 10.0, problem.initial_amplitudes(), None)
    assert np.all(np.isfinite(bounds.amplitude2)) and bounds.amplitude2[2] > 0


# -- model files and errors -----------------------------------------------------------------
TOML = """
[[modes]]
name = "charger"
[[modes]]
name = "battery"
frequency = {wb}
[[dissipators]]
jump = {jump}
rate = {rate}
{extra}
[[dephasing]]
mode = "{mode}"
rate = 0.01
[time]
stop = 1.0
points = 3
"""


def _toml(**kw: object) -> str:
    values = {"wb": 1.0, "jump": '{ charger = 1.0, battery = [0.0, 1.0] }', "rate": 0.1,
              "extra": "", "mode": "battery", **kw}
    return TOML.format(**values)


def test_toml_round_trip() -> None:
    sim = loads_toml(_toml(extra="temperature = 0.5"))
    d = sim.model.dissipators[0]
    assert d.jump == (("charger", 1 + 0j), ("battery", 1j)) and d.temperature == 0.5
    assert loads_toml(dumps_toml(sim)) == sim
    n = d.occupation_at([1.0, 1.0])
    assert abs(n - 1 / np.expm1(2.0)) < 1e-15


@pytest.mark.parametrize(("kw", "message"), [
    ({"jump": '{ charger = 1.0, batery = 1.0 }'},
     r"dissipators\[0\]\.jump\.batery: unknown mode 'batery'"),
    ({"jump": "{}"}, r"dissipators\[0\]\.jump: a jump needs at least one mode"),
    ({"jump": "{ charger = 0.0, battery = [0.0, 0.0] }"},
     r"dissipators\[0\]\.jump: every weight is zero"),
    ({"jump": "{ charger = nan }"}, r"dissipators\[0\]\.jump\.charger: must be finite"),
    ({"jump": "{ charger = [1.0, 2.0, 3.0] }"},
     r"dissipators\[0\]\.jump\.charger: expected a number or \[re, im\]"),
    ({"jump": "[1.0]"}, r"dissipators\[0\]\.jump: expected a table"),
    ({"rate": -0.1}, r"dissipators\[0\]\.rate: must be >= 0"),
    ({"rate": "nan"}, r"dissipators\[0\]\.rate: must be finite"),
    ({"extra": "occupation = -1.0"}, r"dissipators\[0\]\.occupation: must be >= 0"),
    ({"extra": "occupation = 1.0\ntemperature = 1.0"},
     r"dissipators\[0\]\.occupation: give occupation or temperature, not both"),
    ({"extra": "frequency = 1.0"}, r"dissipators\[0\]\.frequency: only a temperature"),
    ({"extra": "temperature = 1.0", "wb": 1.1},
     r"dissipators\[0\]\.frequency: the modes in the jump have different frequencies"),
    ({"extra": "strength = 1.0"}, r"dissipators\[0\]\.strength: unknown field"),
    ({"mode": "nobody"}, r"dephasing\[0\]\.mode: unknown mode 'nobody'"),
])
def test_bad_dissipators_refused_with_their_field(kw: dict, message: str) -> None:
    with pytest.raises(qb.ModelError, match=message):
        loads_toml(_toml(**kw))


def test_temperature_with_an_explicit_frequency() -> None:
    sim = loads_toml(_toml(extra="temperature = 1.0\nfrequency = 2.0", wb=1.1))
    problem = qb.terms.compile_model(sim.model)
    assert abs(problem.dissipators[0].occupation - 1 / np.expm1(2.0)) < 1e-15  # type: ignore[attr-defined]


def test_python_errors_name_the_field() -> None:
    with pytest.raises(qb.ModelError, match=r"^rate: must be >= 0"):
        Dephasing("a", -1.0)
    with pytest.raises(qb.ModelError, match=r"^jump: a jump needs at least one mode"):
        Dissipator({}, 0.1)
    with pytest.raises(qb.ModelError, match=r"dephasing\[0\]: expected a Dephasing"):
        Model(modes=(Mode("a"),), dephasing=(Dissipator({"a": 1.0}, 0.1),))  # type: ignore[arg-type]


def test_cli_refuses_a_bad_dissipator_on_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(_toml(rate=-1))
    proc = subprocess.run([sys.executable, "-m", "qbattery.cli", "simulate", str(bad), "--out",
                           str(tmp_path / "x.nc")], capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "qbattery: error: dissipators[0].rate: must be >= 0, got -1"
