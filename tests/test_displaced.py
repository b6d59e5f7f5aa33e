"""The displaced-frame solver against QuTiP, the Fock solver, the Gaussian solver,
and its own frame invariant (<a'> stays zero)."""

from __future__ import annotations

import dataclasses
import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import qutip_reference

import qbattery as qb
from qbattery.errors import TruncationWarning

TIGHT = qb.SolverOptions(truncation_tol=1e-9, rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize(("n_th", "gamma_q", "cutoff"), [(0.0, 0.0, 14), (0.0, 0.05, 14),
                                                         (0.3, 0.0, 18)],
                         ids=["fig6a-like", "fig7-like", "thermal"])
def test_qubit_catalyst_matches_qutip(n_th: float, gamma_q: float, cutoff: int) -> None:
    """Eq. 15 at small drive (F = 0.05) up to g t = 6: agreement to 1e-6 with mesolve."""
    pytest.importorskip("qutip")
    model = qb.catalytic_model(0.2, 0.2, 0.05, 0.05, gamma_q, n_th)
    t = np.linspace(0.0, 30.0, 31)
    ref = qutip_reference(model, t, cutoff)
    r = qb.solve(model, t, method="displaced", options=TIGHT)
    np.testing.assert_allclose(r.occupation, ref["occupation"], atol=1e-6)
    np.testing.assert_allclose(r.amplitude, ref["amplitude"], atol=1e-6)


def test_frame_follows_the_mean() -> None:
    """<a'> = <a> - alpha stays at truncation level; a sign error in the frame term
    (linear terms adding instead of cancelling) makes it of order |alpha|."""
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    t = np.linspace(0.0, 100.0, 51)
    r = qb.solve(model, t, method="displaced")
    alpha = r.extra["displacement"][1]
    osc = [model.index("charger"), model.index("battery")]
    assert np.max(np.abs(alpha[osc])) > 1.0
    assert np.max(np.abs(r.amplitude[osc] - alpha[osc])) < 1e-5


@pytest.mark.parametrize("stop", [12.0, pytest.param(40.0, marks=pytest.mark.slow)])
def test_agrees_with_fock_solver(stop: float) -> None:
    """Unequal couplings, detuned and damped thermal qubit: every observable, to 1e-6.

    (The oscillator catalyst is checked against the exact Gaussian solver below.)
    """
    model = qb.catalytic_model(0.25, 0.15, 0.08, 0.05, 0.02, 0.2, omega_q=1.03)
    t = np.linspace(0.0, stop, 1 + int(stop) // 2)
    d = qb.solve(model, t, method="displaced", options=TIGHT)
    f = qb.solve(model, t, method="fock", options=TIGHT)
    np.testing.assert_allclose(d.occupation, f.occupation, atol=1e-6)
    np.testing.assert_allclose(d.ergotropy, f.ergotropy, atol=1e-6)
    np.testing.assert_allclose(d.amplitude, f.amplitude, atol=1e-6)
    for key in ("catalyst_purity", "mutual_information_catalyst_battery",
                "log_negativity_catalyst_charger", "catalyst_ground_fidelity"):
        np.testing.assert_allclose(d.extra[key][1], f.extra[key][1], atol=1e-6)


@pytest.mark.parametrize("detuned_drive", [False, True])
def test_oscillator_catalyst_matches_gaussian(detuned_drive: bool) -> None:
    """An all-oscillator network, thermal noise and detuned catalyst: exact moments.

    With a second drive at 1.1 omega on the battery the frame's displacement
    equation and the Gaussian solver must share the drive's sign convention.
    """
    model = qb.catalytic_model(0.2, 0.13, 0.1, 0.05, 0.02, 0.05, catalyst="oscillator",
                               omega_q=1.05)
    if detuned_drive:
        model = dataclasses.replace(model, drives=(*model.drives,
                                                   qb.Drive("battery", 0.04, 1.1)))
    t = np.linspace(0.0, 25.0, 11)
    g = qb.solve(model, t, method="gaussian")
    d = qb.solve(model, t, method="displaced",
                 options=dataclasses.replace(TIGHT, truncation_tol=1e-7))
    assert np.max(g.energy[2]) > 0.5  # the battery charges
    np.testing.assert_allclose(d.energy, g.energy, atol=1e-6)
    np.testing.assert_allclose(d.ergotropy, g.ergotropy, atol=1e-6)
    np.testing.assert_allclose(d.amplitude, g.amplitude, atol=1e-6)


def test_thermal_truncation_error_is_bounded_by_the_tails_energy() -> None:
    """What truncation_tol promises for a thermal mode, against the closed form: a driven
    charger at N = 1 coupled to a battery (``bare_model``: Gaussian, so ``method =
    "gaussian"`` is exact). The frame's fluctuations are thermal, so their tail beyond
    a top level holding tol carries ~d (N + 1) tol quanta: each energy is within that
    of the exact one (measured 3-7 % of it at t = 50, 18-35 % at t = 100), the error
    falls with the tolerance (1e-6 -> 1e-8), and ergotropies and amplitudes (the
    coherent part) are exact (benchmarks/README.md, "Issue 17, third pass")."""
    model = qb.bare_model(0.2, 0.1, 0.05, 1.0)  # the paper's Eq. 1-2 at N = 1
    t = np.linspace(0.0, 50.0, 11)
    exact = qb.solve(model, t, method="gaussian")
    errors = []
    for tol in (1e-6, 1e-8):
        d = qb.solve(model, t, method="displaced",
                     options=qb.SolverOptions(rtol=1e-10, atol=1e-12, truncation_tol=tol,
                                              correlations=False))
        error = np.abs(d.energy - exact.energy).max(axis=1)
        assert np.all(error <= np.asarray(d.extra["cutoff"][1]) * 2 * tol), (tol, error)
        np.testing.assert_allclose(d.ergotropy, exact.ergotropy, atol=1e-10)
        np.testing.assert_allclose(d.amplitude, exact.amplitude, atol=1e-10)
        errors.append(error.max())
    assert errors[1] < errors[0] / 10  # measured 77x (1.3e-6 -> 1.7e-8)


def test_a_warm_bath_keeps_its_modes_levels() -> None:
    """An automatic cutoff does not shrink below the levels a thermal state of the largest
    occupation the mode's own bath gives it over the run needs (``displaced.bath_floor``):
    the charger of ``bare_model`` at N = 1 starts in vacuum, and used to shrink to 10
    levels early, grow back as it heated (5 growths) and end with its top level near the
    tolerance (Fig. 6b's W_B error of 1e-5). Now it keeps its starting 20 levels (the
    floor, 22, is above them), with fewer restarts, and the energies still match the
    closed form."""
    from qbattery.hilbert import levels_needed
    from qbattery.hilbert.truncation import SAFETY

    model = qb.bare_model(0.2, 0.1, 0.05, 1.0)
    t = np.linspace(0.0, 50.0, 11)
    d = qb.solve(model, t, method="displaced", options=qb.SolverOptions(correlations=False))
    floor = levels_needed(0.0, 1.0 - np.exp(-0.05 * 50.0), SAFETY * 1e-6, 120)
    cutoffs = d.extra["cutoff_at"][1][model.index("charger")]
    assert floor >= 18
    assert cutoffs.min() >= min(cutoffs[0], floor)  # it started at 20 and never shrank
    assert d.stats["cutoff_growths"] <= 3
    exact = qb.solve(model, t, method="gaussian")
    np.testing.assert_allclose(d.energy, exact.energy, atol=2e-6)


@pytest.mark.parametrize("stop", [12.0, pytest.param(30.0, marks=pytest.mark.slow)])
def test_two_cells_and_detuned_qubit_drive_against_fock(stop: float) -> None:
    """Multi-cell network with unequal couplings, a drive at another frequency on the qubit."""
    model = qb.multicell_model(0.2, [0.1, 0.25], 0.05, 0.05, 0.0, 0.0)
    model = dataclasses.replace(model, drives=(*model.drives, qb.Drive("catalyst", 0.02, 1.1)))
    t = np.linspace(0.0, stop, 1 + int(stop) // 2)
    d = qb.solve(model, t, method="displaced", options=TIGHT)
    f = qb.solve(model, t, method="fock", options=TIGHT)
    np.testing.assert_allclose(d.occupation, f.occupation, atol=1e-6)
    np.testing.assert_allclose(d.ergotropy, f.ergotropy, atol=1e-6)


@pytest.mark.slow
def test_three_cells_against_fock() -> None:
    """k = 3 cells, unequal couplings, qubit catalyst, F = 0.05 (issue 5): both engines at
    the same fixed cutoff. (At this small amplitude the frame gains nothing: D = 2 * 5^4.)"""
    model = qb.multicell_model(0.2, [0.1, 0.25, 0.18], 0.05, 0.05)
    t = np.linspace(0.0, 8.0, 5)
    opts = qb.SolverOptions(cutoff=5, truncation_tol=1e-5, rtol=1e-9, atol=1e-11)
    d = qb.solve(model, t, method="displaced", options=opts)
    f = qb.solve(model, t, method="fock", options=opts)
    assert np.max(f.energy[model.index("cell2")]) > 1e-3  # the cells do charge
    np.testing.assert_allclose(d.occupation, f.occupation, atol=1e-6)
    np.testing.assert_allclose(d.ergotropy, f.ergotropy, atol=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize(("n_th", "gamma_q", "gt"), [
    pytest.param(0.0, 0.0, 10.0, id="fig6a"), pytest.param(0.0, 0.05, 10.0, id="fig7"),
    pytest.param(1.0, 0.0, 4.0, id="fig6b"),
    # to g t = 20 the Fock reference takes ~13 min each (passed 2026-11-29): by hand only
    pytest.param(0.0, 0.0, 20.0, marks=pytest.mark.paper, id="fig6a-20"),
    pytest.param(0.0, 0.05, 20.0, marks=pytest.mark.paper, id="fig7-20")])
def test_paper_figures_agree_with_fock(n_th: float, gamma_q: float, gt: float) -> None:
    """Issue 4's acceptance at the paper's parameters (g = 0.2, F = 0.1, gamma_a = 0.05):
    battery energy and ergotropy to 1e-5 relative (of the largest battery energy).
    Fig. 6b (N = 1) only to g t = 4: the lab-frame Fock reference needs ~25 levels per
    oscillator there and is too slow beyond. The g t = 20 cases carry the ``paper``
    marker (``pytest -m paper``; about 26 min) and are not run by CI."""
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, gamma_q, n_th)
    t = np.linspace(0.0, gt / 0.2, 11)
    opts = qb.SolverOptions(truncation_tol=1e-8, rtol=1e-9, atol=1e-11)
    d = qb.solve(model, t, method="displaced", options=opts)
    f = qb.solve(model, t, method="fock", options=opts)
    b = model.index("battery")
    scale = f.energy[b].max()
    assert scale > 0.1
    assert np.max(np.abs(d.energy[b] - f.energy[b])) < 1e-5 * scale
    assert np.max(np.abs(d.ergotropy[b] - f.ergotropy[b])) < 1e-5 * scale
    c = model.index("catalyst")
    assert np.max(np.abs(d.energy[c] - f.energy[c])) < 1e-5 * scale


@pytest.mark.slow
def test_fig6b_to_gt20_matches_the_stored_lab_frame_fock_reference() -> None:
    """Fig. 6b (N = 1) over the paper's whole window g t <= 20 against an independent
    reference: the lab-frame Fock engine at D = 5400 (54 x 2 x 50; truncation_tol 1e-6;
    ``benchmarks/fig6b_reference.py --save``, 20 min), whose 41 energies and ergotropies
    are stored in ``tests/data/fig6b_fock_d5400.npz``. The displaced frame at
    truncation_tol 5e-7 (D = 1364 on these 41 times): every mode's energy and
    ergotropy within 1e-5 of the largest battery energy (9.05). Measured 2026-12-03
    with the bath floor: battery 1.7e-5 / 2.5e-5, charger 7.4e-6 / 1.1e-5 absolute (at
    most 2.8e-6 of 9.05; before it 4.2e-6 / 5.2e-6 and 1.5e-5 / 1.4e-5, the charger
    regrown past its start to 24 levels instead of kept at 22);
    at truncation_tol 1e-5 the battery's ergotropy is 1.7e-4 off and this fails; the
    displaced frame at 1e-8 (201 times) agrees with the reference to 4.5e-6."""
    ref = np.load(Path(__file__).parent / "data" / "fig6b_fock_d5400.npz")
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 1.0)
    opts = qb.SolverOptions(truncation_tol=5e-7, correlations=False, threads=2)
    d = qb.solve(model, ref["time"], method="displaced", options=opts)
    scale = float(ref["battery/energy"].max())
    assert scale > 9.0
    for mode in ("charger", "catalyst", "battery"):
        for name in ("energy", "ergotropy"):
            diff = np.abs(np.asarray(d[mode][name]) - ref[f"{mode}/{name}"]).max()
            assert diff < 1e-5 * scale, (mode, name, diff)


@pytest.mark.paper
def test_fig6b_to_gt20_agrees_with_the_lab_frame_fock_engine(monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    """Issue 17's acceptance, the whole comparison: Fig. 6b (N = 1) over g t <= 20, the
    displaced frame (truncation_tol 5e-7) against the lab-frame Fock engine at the
    cutoffs its own check picks at the default 1e-6 (54 x 2 x 50 = 5400 levels, above
    the engine's 8 GiB memory limit, raised here): battery energy and ergotropy and the
    catalyst's energy to 1e-5 of the largest battery energy. The slow test above
    checks against this Fock run's stored result. Measured 2026-12-03
    (``benchmarks/fig6b_reference.py``, Fock 20 min): the displaced frame at the
    default 1e-6 is 6.5e-5 / 8.8e-5 off (its own truncation: it is as far from itself
    at 1e-8), at 1e-8 4.5e-6 / 4.3e-6. By hand only (``pytest -m paper``)."""
    from qbattery.solvers import fock

    monkeypatch.setattr(fock, "MAX_MEMORY_BYTES", 14 * 2**30)
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 1.0)
    t = np.linspace(0.0, 100.0, 41)
    opts = qb.SolverOptions(correlations=False, threads=2)
    d = qb.solve(model, t, method="displaced",
                 options=dataclasses.replace(opts, truncation_tol=5e-7))
    f = qb.solve(model, t, method="fock", options=opts)
    assert f.stats["hilbert_dimension"] >= 5000
    b, c = model.index("battery"), model.index("catalyst")
    scale = f.energy[b].max()
    assert scale > 5.0
    for got, ref in ((d.energy[b], f.energy[b]), (d.ergotropy[b], f.ergotropy[b]),
                     (d.energy[c], f.energy[c])):
        assert np.max(np.abs(got - ref)) < 1e-5 * scale


def test_invariants_and_energy_bookkeeping() -> None:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.05, 0.0)
    t = np.linspace(0.0, 40.0, 2001)
    r = qb.solve(model, t, method="displaced", options=TIGHT)
    assert np.all(r.ergotropy >= -1e-9)
    assert np.all(r.ergotropy <= r.energy + 1e-9)
    dedt = np.gradient(r.energy.sum(0), t, edge_order=2)
    assert np.max(np.abs(dedt - r.power_balance())) < 1e-5


def test_cutoff_grows_then_shrinks_and_agrees_with_fixed_cutoffs() -> None:
    """Fig. 6a to g t = 50: the frame needs 8 x 12 levels in the transient (the
    automatic cutoffs start at 6 and grow) and far fewer once the battery
    saturates (they shrink). Every output agrees with a run on the largest
    cutoffs held fixed."""
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    t = np.linspace(0.0, 250.0, 51)
    r = qb.solve(model, t, method="displaced")
    assert r.stats["cutoff_growths"] >= 1 and r.stats["cutoff_shrinks"] >= 1
    assert np.all(r.extra["max_tail"][1] <= 1e-6)
    assert 0 < r.stats["shrink_dropped"] <= 1e-7
    used = r.extra["cutoff_at"][1][model.index("battery")]
    assert used.max() > used[0] and used[-1] < used.max()
    largest = {name: int(r.extra["cutoff_at"][1][model.index(name)].max())
               for name in ("charger", "battery")}
    fixed = qb.solve(model, t, method="displaced", options=qb.SolverOptions(cutoff=largest))
    assert fixed.stats["cutoff_shrinks"] == 0  # fixed cutoffs are never resized
    np.testing.assert_allclose(r.occupation, fixed.occupation, atol=5e-6)
    np.testing.assert_allclose(r.ergotropy, fixed.ergotropy, atol=5e-6)
    np.testing.assert_allclose(r.extra["catalyst_purity"][1], fixed.extra["catalyst_purity"][1],
                               atol=1e-6)


def test_resize_pads_and_cuts() -> None:
    from qbattery.hilbert import FockSpace, pack_hermitian
    from qbattery.solvers.displaced_frame import resize

    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    small = FockSpace.of(model, {"charger": 3, "battery": 4})
    large = FockSpace.of(model, {"charger": 5, "battery": 4})
    rng = np.random.default_rng(1)
    x = rng.normal(size=(small.size, small.size)) + 1j * rng.normal(size=(small.size, small.size))
    rho = x @ x.conj().T
    rho /= np.trace(rho)
    m = pack_hermitian(rho)
    grown, dropped = resize(m, small, large)
    assert dropped == pytest.approx(0.0, abs=1e-15)
    back, dropped = resize(grown, large, small)
    np.testing.assert_allclose(back, m, atol=1e-15)
    assert dropped == pytest.approx(0.0, abs=1e-15)
    cut = FockSpace.of(model, {"charger": 2, "battery": 4})
    p = np.real(np.diagonal(rho)).reshape(small.dims)
    out, dropped = resize(m, small, cut)
    assert dropped == pytest.approx(p[2:].sum())
    np.testing.assert_allclose(np.trace(out), 1.0)
    np.testing.assert_allclose(out * (1 - dropped), m.reshape(small.dims * 2)[:2, :, :, :2]
                               .reshape(cut.size, cut.size))


def test_small_fixed_cutoff_is_never_silent() -> None:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    t = np.linspace(0.0, 100.0, 11)
    with pytest.raises(qb.TruncationError, match=r"mode '(charger|battery)' has population"):
        qb.solve(model, t, method="displaced", options=qb.SolverOptions(cutoff=3))
    with pytest.warns(TruncationWarning, match="top Fock level"):
        qb.solve(model, t, method="displaced",
                 options=qb.SolverOptions(cutoff=3, on_truncation="warn"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        qb.solve(model, t[:3], method="displaced")


def test_auto_compares_the_engines_costs_for_qubits() -> None:
    """Large coherent amplitudes: the frame (Fig. 6a to g t = 20: 72 states to start
    against 1682 in the lab frame). Small amplitudes and many modes: the lab frame,
    whose cutoffs follow the small occupations while the frame's start at
    MIN_FRAME_LEVELS each (3 cells at F = 0.05: 960 against 2592 states; measured
    6.3 s against 52 s). Without a stop time: the displaced frame."""
    fig6a = qb.catalytic_model(0.2, 0.2, 0.1)
    assert qb.choose_method(fig6a) == "displaced"
    assert qb.choose_method(fig6a, stop=100.0) == "displaced"
    weak = qb.multicell_model(0.2, [0.1, 0.25, 0.18], 0.05, 0.05)
    assert qb.choose_method(weak, stop=8.0) == "fock"
    assert qb.choose_method(weak, "displaced", stop=8.0) == "displaced"
    r = qb.solve(weak, [0.0, 0.5], options=qb.SolverOptions(rtol=1e-6, atol=1e-8))
    assert r.method == "fock"
