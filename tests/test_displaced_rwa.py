"""The displaced frame beyond the rotating-wave approximation (issue 15): dipole (Rabi)
couplings and linear drives, against the Fock solver and the frame's own invariant
(<a'> stays zero); the analytic system is in tests/README.md (20.)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

import qbattery as qb
from qbattery.envelopes import GaussianPulse, Window
from qbattery.model import Bath, Coupling, Drive, Mode, Model
from qbattery.solvers.displaced_frame import DisplacedEquations
from qbattery.terms import compiled

TIGHT = qb.SolverOptions(truncation_tol=1e-9, rtol=1e-9, atol=1e-11)


def _full(model: Model, *, linear: bool = True) -> Model:
    """The model with dipole couplings (and linear drives)."""
    couplings = tuple(dataclasses.replace(c, form="dipole") for c in model.couplings)
    drives = tuple(dataclasses.replace(d, form="linear") for d in model.drives) if linear \
        else model.drives
    return dataclasses.replace(model, couplings=couplings, drives=drives)


def _agree(model: Model, t: np.ndarray, atol: float = 1e-6) -> qb.Result:
    d = qb.solve(model, t, method="displaced", options=TIGHT)
    f = qb.solve(model, t, method="fock", options=TIGHT)
    assert d.method == "displaced"
    np.testing.assert_allclose(d.occupation, f.occupation, atol=atol)
    np.testing.assert_allclose(d.amplitude, f.amplitude, atol=atol)
    np.testing.assert_allclose(d.ergotropy, f.ergotropy, atol=atol)
    np.testing.assert_allclose(d.extra["interaction_energy"][1],
                               f.extra["interaction_energy"][1], atol=atol)
    return d


@pytest.mark.parametrize(("linear", "stop"), [
    (True, 12.0), pytest.param(False, 30.0, marks=pytest.mark.slow),
    pytest.param(True, 30.0, marks=pytest.mark.slow)])
def test_rabi_qubit_catalyst_agrees_with_fock(linear: bool, stop: float) -> None:
    """The qubit catalyst with Rabi couplings, driven at omega (rotating, or linear:
    the full model), N = 0, g = 0.2, F = 0.1, gamma = 0.05: to 1e-6."""
    model = _full(qb.catalytic_model(0.2, 0.2, 0.1, 0.05), linear=linear)
    _agree(model, np.linspace(0.0, stop, 1 + int(stop) // 2))


def test_linear_drive_on_dipole_bare_model_agrees_with_fock() -> None:
    """Bare model, dipole coupling, linear drive with a phase, damped at N = 0.1."""
    model = Model((Mode("charger"), Mode("battery")),
                  (Coupling(("charger", "battery"), 0.2, form="dipole"),),
                  (Drive("charger", 0.1, 1.0, form="linear", phase=0.4),),
                  (Bath("charger", 0.05, occupation=0.1),))
    _agree(model, np.linspace(0.0, 16.0, 9))


def test_mixed_network_with_qubit_drive_and_envelopes_agrees_with_fock() -> None:
    """Dipole and exchange couplings, a detuned damped qubit with its own phased linear
    drive; then a Gaussian-pulsed dipole coupling and a windowed linear drive."""
    mixed = Model((Mode("charger"), Mode("catalyst", "qubit", 1.03), Mode("battery")),
                  (Coupling(("charger", "catalyst"), 0.2, form="dipole"),
                   Coupling(("battery", "catalyst"), 0.15)),
                  (Drive("charger", 0.1, 1.0, form="linear", phase=0.3),
                   Drive("catalyst", 0.03, 1.1, form="linear", phase=-0.5)),
                  (Bath("charger", 0.05, occupation=0.1), Bath("catalyst", 0.02)))
    _agree(mixed, np.linspace(0.0, 8.0, 5))
    pulsed = Model((Mode("charger"), Mode("catalyst", "qubit"), Mode("battery")),
                   (Coupling(("charger", "catalyst"), 0.2, form="dipole"),
                    Coupling(("battery", "catalyst"), 0.2, GaussianPulse(5.0, 2.0),
                             form="dipole")),
                   (Drive("charger", 0.1, 1.0, Window(1.0, 7.0), form="linear"),),
                   (Bath("charger", 0.05),))
    _agree(pulsed, np.linspace(0.0, 10.0, 6))


def test_frame_follows_the_lab_frame_means() -> None:
    """<a'> = <a> - alpha stays at truncation level beyond the RWA (default tolerances),
    while |alpha| > 1 and alpha carries the counter-rotating wiggle at 2 omega."""
    model = _full(qb.catalytic_model(0.2, 0.2, 0.1, 0.05))
    t = np.linspace(0.0, 30.0, 31)
    r = qb.solve(model, t, method="displaced")
    alpha = r.extra["displacement"][1]
    osc = [model.index("charger"), model.index("battery")]
    assert np.max(np.abs(alpha[osc])) > 1.0
    assert np.max(np.abs(r.amplitude[osc] - alpha[osc])) < 1e-5


def test_rwa_models_have_no_counter_rotating_parts() -> None:
    """Within the RWA the frame has no anomalous blocks (the exchange path, unchanged);
    the full model has the dipole's at 2 omega_r and the linear drive's forcing at
    -(omega_f + omega_r)."""
    from qbattery.hilbert import FockSpace

    rwa = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    space = FockSpace.of(rwa, {"charger": 3, "battery": 3})
    assert not DisplacedEquations(rwa, space).counter
    full = DisplacedEquations(_full(rwa), space)
    assert full.counter and {nu for nu, *_ in full.counter.groups} == {2.0}
    assert sorted(full.fdelta) == [-2.0, 0.0]
    assert not compiled(_full(rwa)).lacking("displaced")


def test_oscillator_network_frame_equals_exact_gaussian_means() -> None:
    """All oscillators: alpha obeys the exact first-moment equation with the anomalous
    block and the counter-rotating forcing, so <a> matches the Gaussian quadrature path
    (exact propagators, lab frame) to the integrator's tolerance."""
    model = Model((Mode("charger"), Mode("battery", frequency=1.1)),
                  (Coupling(("charger", "battery"), 0.2, form="dipole"),),
                  (Drive("charger", 0.1, 0.9, form="linear", phase=0.4),),
                  (Bath("charger", 0.05),))
    t = np.linspace(0.0, 20.0, 11)
    d = qb.solve(model, t, method="displaced", options=TIGHT)
    g = qb.solve(model, t, method="gaussian")
    np.testing.assert_allclose(d.amplitude, g.amplitude, atol=1e-7)
    np.testing.assert_allclose(d.occupation, g.occupation, atol=1e-7)
