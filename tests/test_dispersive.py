"""The dispersive-regime figure: exact data, the dispersive limit, and the qubit fallback."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.figure import Figure

import qbattery as qb
from qbattery.figures import FIGURES, reproduce
from qbattery.figures import dispersive as fig


@pytest.fixture(scope="module")
def ds():
    return fig.compute()


def test_resonant_catalyst_row_equals_a_direct_solve(ds):
    model = qb.catalytic_model(fig.G, fig.G, fig.F, fig.GAMMA, catalyst="oscillator")
    ref = qb.solve(model, np.concatenate([[0.0], fig.TIMES]))
    np.testing.assert_allclose(ds["ergotropy_oscillator"].sel(detuning=0.0).values,
                               ref.ergotropy[2, 1:], rtol=1e-9)


def test_long_time_limit_is_the_dark_mode_value_for_every_detuning(ds):
    """Stationary moments: <b> = -<a> = 2iF/gamma (q = 0), so W_B(inf) = 4 F^2 / gamma^2."""
    np.testing.assert_allclose(ds["ergotropy_limit"].values, 4 * fig.F**2 / fig.GAMMA**2,
                               rtol=1e-9)


def test_dispersive_approximation_becomes_exact_far_from_resonance(ds):
    exact = ds["ergotropy_oscillator"].values
    approx = ds["ergotropy_dispersive"].values
    x = ds["detuning"].values
    assert np.all(np.isnan(approx[x < fig.DISPERSIVE_FROM]))
    far = x >= fig.DISPERSIVE_FROM
    exact, approx, x = exact[far], approx[far], x[far]
    rel = np.max(np.abs(approx - exact), axis=1) / np.max(exact, axis=1)
    assert np.all(rel[x >= 50] < 0.01)
    assert rel[x >= 50].max() < rel[(x >= 3) & (x < 6)].max() / 10
    # and far detuned, the battery charges ever more slowly: little stored at g t = 10
    resonant = ds["ergotropy_oscillator"].sel(detuning=0.0).values
    assert exact[-1, 0] < 0.05 * resonant[0]


def test_battery_ergotropy_depends_on_the_detuning_magnitude_only():
    """The figure shows omega_q >= omega only: in the RWA the oscillator catalyst's W_B is
    even in Delta (complex conjugation plus q -> -q maps Delta to -Delta)."""
    t = np.linspace(0.0, 150.0, 151)
    w = [qb.solve(qb.catalytic_model(0.2, 0.2, 0.1, 0.05, catalyst="oscillator",
                                     omega_q=1.0 + d), t).ergotropy[2] for d in (0.4, -0.4)]
    np.testing.assert_allclose(w[0], w[1], rtol=1e-9, atol=1e-12)


def test_figure_draws_and_says_whether_the_qubit_was_computed(ds, tmp_path):
    assert "dispersive" in FIGURES
    try:
        qb.choose_method(qb.catalytic_model(0.2, 0.2, 0.1, 0.05))
        assert "ergotropy_qubit" in ds and ds.attrs["qubit"].startswith("computed")
    except qb.UnsupportedMethodError:
        assert "ergotropy_qubit" not in ds and ds.attrs["qubit"].startswith("not computed")
    f = Figure()
    fig.draw(ds, f)
    texts = [t.get_text() for ax in f.axes for t in ax.texts]
    assert any("qubit catalyst" in t for t in texts) == ("ergotropy_qubit" not in ds)
    written = reproduce(["dispersive"], out=tmp_path)
    assert {p.name for p in written} == {"dispersive.png", "dispersive.nc"}
