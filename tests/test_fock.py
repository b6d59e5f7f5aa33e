"""The truncated-Fock engine against closed forms, the Gaussian solver, invariants,
energy bookkeeping, and its truncation safety."""

from __future__ import annotations

import itertools
import re
import warnings
from dataclasses import replace

import numpy as np
import pytest

import qbattery as qb
from qbattery.errors import IntegrationError, ModelError, TruncationError, TruncationWarning
from qbattery.hilbert import FockSpace, Lindblad, TruncationMonitor
from qbattery.solvers import fock

G, F, GAMMA = 0.2, 0.1, 0.05
TIGHT = {"rtol": 1e-10, "atol": 1e-12}


def test_auto_picks_displaced_for_qubits_and_gaussian_for_oscillators() -> None:
    assert qb.choose_method(qb.catalytic_model(G, G, F, GAMMA)) == "displaced"
    assert qb.choose_method(qb.catalytic_model(G, G, F, GAMMA, catalyst="oscillator")) \
        == "gaussian"
    assert "fock" in qb.methods()


def test_undamped_bare_model_closed_form() -> None:
    """<b> = -(F/g)(1 - cos g t): E_B = (F/g)^2 (1 - cos g t)^2, all of it ergotropy."""
    t = np.linspace(0.0, np.pi / G, 9)
    r = qb.solve(qb.bare_model(G, F), t, method="fock", options=qb.SolverOptions(**TIGHT))
    beta = -(F / G) * (1 - np.cos(G * t))
    np.testing.assert_allclose(r["battery"]["amplitude"], beta, atol=1e-7)
    np.testing.assert_allclose(r["battery"]["energy"], beta**2, atol=1e-7)
    np.testing.assert_allclose(r.ergotropy, r.energy, atol=1e-7)
    assert np.all(r.extra["max_tail"][1] <= 1e-6)


@pytest.mark.parametrize(("drive", "n_th", "detuned"), [(F, 0.0, False), (F / 2, 0.1, False),
                                                      (F / 2, 0.0, True)])
def test_oscillator_catalyst_matches_gaussian_solver(drive: float, n_th: float,
                                                     detuned: bool) -> None:
    """Acceptance: Fock agrees with the exact Gaussian solver to 1e-6 at converged cutoffs.

    ``detuned`` adds a second drive at 1.1 omega on the battery: the Hamiltonian
    is then time dependent in every frame, and the two engines must agree on the
    sign convention F (exp(i delta t) x + exp(-i delta t) x^dag).
    """
    model = qb.catalytic_model(G, G, drive, GAMMA, GAMMA, n_th, catalyst="oscillator",
                               omega_q=1.05)
    if detuned:
        model = replace(model, drives=(*model.drives, qb.Drive("battery", 0.03, 1.1)))
    t = np.linspace(0.0, 10.0, 6)
    r = qb.solve(model, t, method="fock",
                 options=qb.SolverOptions(truncation_tol=1e-8, **TIGHT))
    ref = qb.solve(model, t, method="gaussian")
    np.testing.assert_allclose(r.energy, ref.energy, atol=1e-6)
    np.testing.assert_allclose(r.ergotropy, ref.ergotropy, atol=1e-6)
    np.testing.assert_allclose(r.amplitude, ref.amplitude, atol=1e-6)
    assert r.energy[2, -1] > (0.005 if detuned else 0.05)  # the battery did charge
    assert np.all(r.extra["max_tail"][1] <= 1e-8)
    assert r.extra["cutoff"][1][1] > 2  # the oscillator catalyst is truncated too


def test_qubit_catalyst_converges_as_the_cutoff_grows() -> None:
    """Errors against a large cutoff, and the top-level tails, fall as the cutoff grows."""
    model = qb.catalytic_model(G, G, F, GAMMA)
    t = np.array([0.0, 10.0, 20.0])
    ref = qb.solve(model, t, method="fock", options=qb.SolverOptions(cutoff=16, **TIGHT))
    assert ref.extra["max_tail"][1].max() < 1e-9
    errors, tails = [], []
    for d in (4, 6, 8, 10, 12):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", TruncationWarning)
            r = qb.solve(model, t, method="fock",
                         options=qb.SolverOptions(cutoff=d, on_truncation="warn", **TIGHT))
        errors.append(np.max(np.abs(r.energy - ref.energy)))
        tails.append(r.extra["max_tail"][1].max())
    assert all(a > b for a, b in itertools.pairwise(errors)), errors
    assert all(a > b for a, b in itertools.pairwise(tails)), tails
    assert errors[0] > 1e-2 and errors[-1] < 1e-4


def _with(opts: qb.SolverOptions, **changes: object) -> qb.SolverOptions:
    return replace(opts, **changes)  # type: ignore[arg-type]


def test_too_small_fixed_cutoff_is_an_error_naming_mode_time_and_tail() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA)
    with pytest.raises(TruncationError,
                       match=r"mode 'charger' has population [0-9.e-]+ in its top Fock level "
                             r"\(cutoff 4 levels\) at t = [0-9.]+, above truncation_tol = 1e-06"):
        qb.solve(model, [0.0, 30.0], method="fock", options=qb.SolverOptions(cutoff=4))


def test_a_fixed_cutoff_never_returns_silently() -> None:
    """For every cutoff, either an error or a result whose tails are within the tolerance."""
    model = qb.catalytic_model(G, G, F, GAMMA)
    t = np.linspace(0.0, 20.0, 5)
    returned = []
    for d in range(3, 13):
        try:
            r = qb.solve(model, t, method="fock", options=qb.SolverOptions(cutoff=d))
        except TruncationError:
            continue
        returned.append(d)
        assert np.all(r.extra["max_tail"][1] <= 1e-6)
        assert np.all(r.extra["tail"][1] <= 1e-6)
    assert returned and returned[0] > 3


def test_truncation_is_checked_between_output_times() -> None:
    """Undamped bare model: the battery fills (|<b>|^2 = 4) and empties again by g t = 2 pi.

    With only t = 0 and t = 2 pi / g requested, the overflow in between must still be seen.
    """
    model = qb.bare_model(G, 2 * F)
    stop = 2 * np.pi / G
    with pytest.raises(TruncationError) as err:
        qb.solve(model, [0.0, stop], method="fock", options=qb.SolverOptions(cutoff=6))
    found = re.search(r"at t = ([0-9.e+-]+),", str(err.value))
    assert found is not None and 0.0 < float(found.group(1)) < 0.9 * stop


def test_warning_when_opted_in_and_tails_recorded() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA)
    with pytest.warns(TruncationWarning) as record:
        r = qb.solve(model, [0.0, 30.0], method="fock",
                     options=qb.SolverOptions(cutoff=4, on_truncation="warn"))
    messages = [str(w.message) for w in record]
    assert len(messages) == 2
    assert "mode 'charger'" in messages[0] and "mode 'battery'" in messages[1]
    assert all("cutoff 4 levels" in m for m in messages)
    assert np.all(r.extra["max_tail"][1][[0, 2]] > 1e-6)
    assert r.extra["cutoff"][1].tolist() == [4, 2, 4]


def test_auto_cutoff_grows_and_reruns(monkeypatch: pytest.MonkeyPatch) -> None:
    """Start auto from a deliberately poor estimate: it must grow, rerun, and agree."""
    model = qb.catalytic_model(G, G, F, GAMMA)
    t = np.linspace(0.0, 20.0, 5)
    good = qb.solve(model, t, method="fock", options=qb.SolverOptions(**TIGHT))
    monkeypatch.setattr(fock, "estimate_cutoffs",
                        lambda model, stop, names, **kw: dict.fromkeys(names, 3))
    grown = qb.solve(model, t, method="fock", options=qb.SolverOptions(**TIGHT))
    assert grown.stats["cutoff_attempts"] > 1
    assert np.all(grown.extra["max_tail"][1] <= 1e-6)
    np.testing.assert_allclose(grown.energy, good.energy, atol=1e-5)


def test_auto_cutoff_capped_by_max_cutoff_is_an_error() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA)
    with pytest.raises(TruncationError, match="reached max_cutoff = 6"):
        qb.solve(model, [0.0, 40.0], method="fock", options=qb.SolverOptions(max_cutoff=6))


def test_memory_guard_names_the_cutoff() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA, catalyst="oscillator")
    with pytest.raises(ModelError, match=r"cutoff: the Fock space \{charger = 60, catalyst = 60"):
        qb.solve(model, [0.0, 1.0], method="fock", options=qb.SolverOptions(cutoff=60))


def test_trace_hermiticity_positivity_along_the_trajectory() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA, GAMMA, 1.0)
    space = FockSpace.of(model, {"charger": 9, "battery": 9})
    opts = qb.SolverOptions(on_truncation="warn")
    states: list[np.ndarray] = []
    t = np.linspace(0.0, 15.0, 11)
    fock.solve_on_space(model, space, t, opts, TruncationMonitor(space, opts),
                        on_state=lambda time, rho: states.append(rho.copy()))
    assert len(states) == t.size
    for rho in states:
        assert np.trace(rho).real == pytest.approx(1.0, abs=1e-10)
        assert np.max(np.abs(rho - rho.conj().T)) < 1e-12
        assert np.linalg.eigvalsh(rho).min() > -1e-9
    assert np.max(np.abs(states[-1] - states[0])) > 0.1  # it did evolve


def test_energy_bookkeeping_matches_power_balance() -> None:
    """d E_total / dt (finite differences) = drives - heat + coupling power.

    A detuned thermal qubit (its heat current and the coupling power are nonzero)
    and a detuned drive on the battery (time-dependent Hamiltonian).
    """
    model = qb.Model(
        modes=(qb.Mode("charger"), qb.Mode("catalyst", "qubit", 1.1),
               qb.Mode("battery", "oscillator", 0.95)),
        couplings=(qb.Coupling(("charger", "catalyst"), G),
                   qb.Coupling(("battery", "catalyst"), G)),
        drives=(qb.Drive("charger", F, 1.0), qb.Drive("battery", 0.05, 1.05)),
        baths=(qb.Bath("charger", GAMMA, occupation=0.3),
               qb.Bath("catalyst", GAMMA, occupation=0.5)),
    )
    t = np.linspace(0.0, 8.0, 161)
    r = qb.solve(model, t, method="fock", options=qb.SolverOptions(truncation_tol=1e-8, **TIGHT))
    total = r.energy.sum(0)
    dedt = np.gradient(total, t, edge_order=2)
    balance = r.power_balance()
    assert np.max(np.abs(r.coupling_power)) > 1e-3 and np.max(np.abs(r.heat[1])) > 1e-3
    np.testing.assert_allclose(dedt[2:-2], balance[2:-2], atol=2e-5)
    assert np.all(r.ergotropy >= -1e-10) and np.all(r.ergotropy <= r.energy + 1e-10)


def test_driven_qubit_rabi_oscillation() -> None:
    """A lone qubit driven at resonance: H = F sigma_x in the frame, p_e = sin^2(F t).

    Times need not start at 0 (the initial state is at t = 0).
    """
    model = qb.Model(modes=(qb.Mode("q", "qubit"),), drives=(qb.Drive("q", F, 1.0),))
    t = np.linspace(3.0, 40.0, 12)
    r = qb.solve(model, t, method="fock", options=qb.SolverOptions(**TIGHT))
    np.testing.assert_allclose(r.occupation[0], np.sin(F * t) ** 2, atol=1e-8)
    np.testing.assert_allclose(r.ergotropy[0], r.energy[0], atol=1e-8)  # a pure state
    np.testing.assert_allclose(r.amplitude[0], -0.5j * np.sin(2 * F * t), atol=1e-8)
    assert r.extra["cutoff"][1].tolist() == [2] and "catalyst_purity" not in r.extra


def test_steps_stay_stable_with_many_empty_levels() -> None:
    """A weakly driven damped oscillator with far too many levels: slow dynamics invite long
    steps, on which the top levels' fast coherences are unstable (explicit Runge-Kutta).
    The step cap keeps it exact; without it the run would blow up."""
    model = qb.Model(modes=(qb.Mode("a"),), drives=(qb.Drive("a", 0.02, 1.0),),
                     baths=(qb.Bath("a", GAMMA),))
    t = np.linspace(0.0, 400.0, 5)
    r = qb.solve(model, t, method="fock", options=qb.SolverOptions(cutoff=60))
    ref = qb.solve(model, t, method="gaussian")
    np.testing.assert_allclose(r.energy, ref.energy, atol=1e-9)
    np.testing.assert_allclose(r.ergotropy, ref.ergotropy, atol=1e-9)


def test_a_blown_up_integration_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A right-hand side that stops preserving the trace (here: an added +0.1 rho, the
    signature of a diverging integration) must be refused by the state check, not
    returned as numbers."""
    model = qb.Model(modes=(qb.Mode("a"),), drives=(qb.Drive("a", 0.02, 1.0),),
                     baths=(qb.Bath("a", GAMMA),))
    apply = Lindblad.apply_packed

    def diverging(self: Lindblad, m: np.ndarray, stacked: object, *,
                  out: np.ndarray | None = None) -> np.ndarray:
        res = apply(self, m, stacked, out=out)
        res += 0.1 * m
        return res

    monkeypatch.setattr(Lindblad, "apply_packed", diverging)
    with pytest.raises(IntegrationError, match=r"numerical failure at t = .*trace"):
        qb.solve(model, [0.0, 40.0], method="fock", options=qb.SolverOptions(cutoff=10))


@pytest.mark.parametrize("catalyst", [None, pytest.param("oscillator", marks=pytest.mark.slow)],
                         ids=["bare", "oscillator-catalyst"])
def test_multicell_gaussian_against_fock(catalyst: str | None) -> None:
    """Issue 5: two cells with unequal couplings, damped charger and catalyst, thermal
    bath: the Fock solver agrees with the exact Gaussian solver (1e-9 at converged cutoffs)."""
    model = qb.multicell_model(0.2, [0.1, 0.25], 0.05, 0.05, 0.02, 0.05, catalyst=catalyst)
    t = np.linspace(0.0, 8.0, 5)
    f = qb.solve(model, t, method="fock",
                 options=qb.SolverOptions(truncation_tol=1e-8, rtol=1e-10, atol=1e-12))
    g = qb.solve(model, t, method="gaussian")
    assert g.energy[model.index("cell2"), -1] > 0.02  # the far cell charges
    np.testing.assert_allclose(f.energy, g.energy, atol=1e-9)
    np.testing.assert_allclose(f.ergotropy, g.ergotropy, atol=1e-9)
