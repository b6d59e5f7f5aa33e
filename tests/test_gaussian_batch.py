"""The batched Gaussian solver against the per-point exact engine and closed forms."""

from __future__ import annotations

import numpy as np
import pytest

import qbattery as qb
from qbattery.solvers.gaussian_batch import solve_batch


def _assert_matches(models, times, *, tol=1e-9):
    out = solve_batch(models, times)
    for p, model in enumerate(models):
        ref = qb.solve(model, times, method="gaussian")
        scale = max(1.0, float(np.abs(ref.occupation).max()))
        np.testing.assert_allclose(out.occupation[p], ref.occupation, rtol=0, atol=tol * scale)
        np.testing.assert_allclose(out.energy[p], ref.energy, rtol=0, atol=tol * scale)
        np.testing.assert_allclose(out.amplitude[p], ref.amplitude, rtol=0,
                                   atol=tol * np.sqrt(scale))
        np.testing.assert_allclose(out.ergotropy[p], ref.ergotropy, rtol=0, atol=tol * scale)
    return out


def test_bare_models_match_per_point_solver():
    rng = np.random.default_rng(3)
    times = np.linspace(0.0, 300.0, 601)
    models = [qb.bare_model(rng.uniform(0.01, 0.5), rng.uniform(0.02, 0.2),
                            rng.uniform(0.0, 0.1), rng.uniform(0.0, 2.0),
                            omega_f=rng.uniform(0.5, 1.5), gamma_b=rng.uniform(0.0, 0.02))
              for _ in range(40)]
    out = _assert_matches(models, times)
    assert not out.exact_fallback.any()
    # invariants: 0 <= W <= E, and W = omega |alpha|^2 for these displaced thermal states
    assert np.all(out.ergotropy >= -1e-12)
    assert np.all(out.ergotropy <= out.energy + 1e-12)


def test_resonant_undamped_growth_and_closed_form():
    """gamma = 0, drive at omega: E_B = (F/g)^2 (1 - cos g t)^2 (NOTES.md); at omega + g the
    C_+ mode is resonant and amplitudes grow linearly (phi(0, t) = t branch)."""
    times = np.linspace(0.0, 200.0, 401)
    gs = np.array([0.05, 0.1, 0.2, 0.4])
    F = 0.1
    out = solve_batch([qb.bare_model(g, F) for g in gs], times)
    exact = (F / gs[:, None]) ** 2 * (1 - np.cos(gs[:, None] * times)) ** 2
    np.testing.assert_allclose(out.energy[:, 1], exact, rtol=0, atol=1e-11)
    _assert_matches([qb.bare_model(g, F, omega_f=1 + g) for g in gs], times)


def test_networks_with_thermal_noise_detuning_and_two_drives():
    rng = np.random.default_rng(5)
    times = np.concatenate([[0.0], np.sort(rng.uniform(0.1, 150.0, 60))])  # not a uniform grid
    models = []
    for _ in range(12):
        m = qb.catalytic_model(rng.uniform(0.05, 0.4), rng.uniform(0.05, 0.4), 0.1,
                               rng.uniform(0, 0.1), rng.uniform(0, 0.1), rng.uniform(0, 1.5),
                               catalyst="oscillator", omega_q=rng.uniform(0.6, 1.4),
                               omega_f=rng.uniform(0.8, 1.2))
        modes = (qb.Mode("charger", frequency=1.0, initial_occupation=0.3,
                         initial_amplitude=complex(rng.normal(), rng.normal())),
                 *m.modes[1:])
        drives = (*m.drives, qb.Drive("battery", 0.05, rng.uniform(0.7, 1.3)))
        models.append(qb.Model(modes, m.couplings, drives, m.baths))
    _assert_matches(models, times)
    multi = [qb.multicell_model(0.2, list(rng.uniform(0.05, 0.3, 4)), 0.1, 0.05, 0.02, 0.5,
                                catalyst="oscillator", omega_f=rng.uniform(0.9, 1.1))
             for _ in range(6)]
    _assert_matches(multi, np.linspace(0, 100, 201))


def test_defective_drift_matrix_falls_back_to_exact_engine():
    """g = gamma/4 is the exceptional point of the damped bare model: A is defective."""
    times = np.linspace(0.0, 300.0, 301)
    near = [0.0125 * (1 + eps) for eps in (0.0, 1e-10, 1e-7, 1e-5, 1e-3)]
    models = [qb.bare_model(g, 0.1, 0.05) for g in near]
    out = _assert_matches(models, times)  # near the point too, whichever path is taken
    assert out.exact_fallback[:2].all()
    assert not out.exact_fallback[-1]


def test_refuses_mixed_structures_and_qubits():
    with pytest.raises(ValueError, match="structure"):
        solve_batch([qb.bare_model(0.2, 0.1), qb.bare_model(0.2, 0.1, 0.05)], [0.0, 1.0])
    with pytest.raises(ValueError, match="all-oscillator"):
        solve_batch([qb.catalytic_model(0.2, 0.2, 0.1)], [0.0, 1.0])
