"""The storage figure (issue 14): charge to g t = 20, switch the laser off.

Checks the physics the README states: a disconnected battery keeps its ergotropy
exactly; a connected one loses it through the charger's bath at the rate gamma/2
of the driven supermode's energy (half its weight on the damped charger); the
qubit catalyst (displaced frame, in segments) charges like the oscillator one.
"""

from __future__ import annotations

import numpy as np
import pytest

from qbattery.figures.storage import CHARGE_GT, GAMMA, compute, storage_model


def test_storage_model_switches_drive_and_battery_coupling() -> None:
    m = storage_model("oscillator", disconnect=True)
    assert all(d.envelope is not None and d.envelope.stop == CHARGE_GT / 0.2 for d in m.drives)
    battery = [c for c in m.couplings if "battery" in c.between]
    assert battery and all(c.envelope is not None for c in battery)
    assert all(c.envelope is None for c in storage_model("oscillator", False).couplings)


@pytest.mark.slow
def test_storage_physics() -> None:
    ds = compute()
    gt, t = ds.gt.values, ds.time.values
    after = gt >= CHARGE_GT
    for protocol in ds.protocol.values:
        kept = ds.sel(protocol=protocol, connection="disconnected").ergotropy.sel(role="battery")
        np.testing.assert_allclose(kept.values[after], kept.values[after][0], rtol=1e-6)
        lost = ds.sel(protocol=protocol, connection="connected").ergotropy.sel(role="battery")
        window = (gt > 22) & (gt < 40)
        rate = -np.polyfit(t[window], np.log(lost.values[window]), 1)[0]
        assert rate == pytest.approx(GAMMA / 2, rel=0.1)
        assert lost.values[-1] < 0.01 * lost.values[after][0]
    w = ds.ergotropy.sel(role="battery", connection="connected").values[:, np.argmin(
        abs(gt - CHARGE_GT))]
    assert w.min() > 0.9 * w.max()  # the three protocols store alike by g t = 20
