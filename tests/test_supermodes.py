"""Supermodes (Eq. 6-8, 10-13, Appendix A) against hand-derived values and numerical
diagonalisation."""

from __future__ import annotations

import math

import numpy as np
import pytest

import qbattery as qb


def test_bare_supermodes_are_omega_pm_g_with_equal_weights() -> None:
    g, F = 0.2, 0.1
    s = qb.supermodes(qb.bare_model(g, F))
    np.testing.assert_allclose(s.frequencies, [1 - g, 1 + g], atol=1e-14)
    np.testing.assert_allclose(np.abs(s.drive_weights), [F / math.sqrt(2)] * 2, atol=1e-14)
    np.testing.assert_allclose(np.abs(s.vectors), 1 / math.sqrt(2), atol=1e-14)
    assert s.detuning() == pytest.approx(g)
    assert s.catalyst is None
    s_res = qb.supermodes(qb.bare_model(g, F, omega_f=1 + g))
    assert s_res.detuning() == pytest.approx(0.0, abs=1e-14)


@pytest.mark.parametrize(("g_aq", "g_bq"), [(0.2, 0.2), (0.3, 0.1), (0.05, 0.4)])
@pytest.mark.parametrize("catalyst", ["qubit", "oscillator"])
def test_catalytic_dark_mode_at_omega_carries_F_cos_theta(g_aq: float, g_bq: float,
                                                          catalyst: str) -> None:
    F = 0.1
    s = qb.supermodes(qb.catalytic_model(g_aq, g_bq, F, catalyst=catalyst))
    big_g = math.hypot(g_aq, g_bq)
    sin_t, cos_t = g_aq / big_g, g_bq / big_g
    assert s.catalyst == "catalyst"
    assert s.coupling_to_catalyst == pytest.approx(big_g)
    names = list(s.names)
    a, b, q = names.index("charger"), names.index("battery"), names.index("catalyst")
    # C_+ = sin(theta) a + cos(theta) b (Eq. 10), C_- = cos(theta) a - sin(theta) b (Eq. 11)
    assert s.bright is not None and s.dark is not None and s.dark_drive_weights is not None
    np.testing.assert_allclose(s.bright[[a, b, q]], [sin_t, cos_t, 0.0], atol=1e-14)
    np.testing.assert_allclose(s.dark[[a, b, q], 0], [cos_t, -sin_t, 0.0], atol=1e-14)
    assert s.bright_drive_weight == pytest.approx(F * sin_t)
    assert s.dark_drive_weights[0] == pytest.approx(F * cos_t)
    assert s.dark_leakage < 1e-14
    # numerically: a normal mode at omega, with no catalyst weight, drive weight F cos(theta)
    k = int(np.argmin(np.abs(s.frequencies - 1.0)))
    assert s.frequencies[k] == pytest.approx(1.0, abs=1e-14)
    assert s.catalyst_weights[k] == pytest.approx(0.0, abs=1e-14)
    assert abs(s.drive_weights[k]) == pytest.approx(F * cos_t)
    np.testing.assert_allclose(sorted(s.frequencies), [1 - big_g, 1.0, 1 + big_g], atol=1e-14)
    assert s.detuning() == pytest.approx(0.0, abs=1e-14)


def test_multicell_dark_modes_match_diagonalisation() -> None:
    rng = np.random.default_rng(7)
    cells = rng.uniform(0.05, 0.3, 6)
    s = qb.supermodes(qb.multicell_model(0.2, cells, 0.1))
    assert s.dark is not None and s.dark_drive_weights is not None and s.bright is not None
    n_other = len(s.names) - 1
    assert s.dark.shape == (len(s.names), n_other - 1)
    gram = np.column_stack([s.bright, s.dark])
    np.testing.assert_allclose(gram.T @ gram, np.eye(n_other), atol=1e-13)
    # only C_- among the dark modes is driven; all dark modes sit at omega
    np.testing.assert_allclose(s.dark_drive_weights[1:], 0.0, atol=1e-14)
    assert s.dark_frequencies is not None
    np.testing.assert_allclose(s.dark_frequencies, 1.0, atol=1e-14)
    # the numerical normal modes include n_other - 1 degenerate modes at omega, dark to q
    at_omega = np.abs(s.frequencies - 1.0) < 1e-10
    assert at_omega.sum() == n_other - 1
    np.testing.assert_allclose(s.catalyst_weights[at_omega], 0.0, atol=1e-14)
    driven = np.sqrt(np.sum(s.drive_weights[at_omega] ** 2))
    assert driven == pytest.approx(abs(s.dark_drive_weights[0]), rel=1e-12)


def test_detuned_cells_leak_and_table_prints() -> None:
    m = qb.catalytic_model(0.2, 0.2, 0.1)
    m = qb.Model(tuple(qb.Mode(x.name, x.kind, 1.1 if x.name == "battery" else 1.0)
                       for x in m.modes), m.couplings, m.drives, m.baths)
    s = qb.supermodes(m)
    assert s.dark_leakage > 1e-3
    text = s.table()
    assert "Catalyst picture (catalyst: catalyst)" in text
    assert "dark mode C-" in text


def test_unknown_catalyst_is_an_error() -> None:
    with pytest.raises(qb.ModelError, match="mode: unknown mode 'cat'"):
        qb.supermodes(qb.bare_model(0.2, 0.1), catalyst="cat")
