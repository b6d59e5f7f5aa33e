"""Sweeps: PATH addressing, values equal to single runs, the store's refusals, CLI and plots."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

import qbattery as qb
from qbattery.cli import main
from qbattery.config import Simulation, TimeGrid, dumps_toml
from qbattery.sweeps import (
    SweepOptions,
    SweepPlan,
    open_sweep,
    parse_path,
    parse_vary,
    run_sweep,
    valid_paths,
    with_values,
)
from qbattery.sweeps.plots import plot_sweep
from qbattery.sweeps.store import SweepStore


def _sim(model: qb.Model, stop: float = 100.0, points: int = 201) -> Simulation:
    return Simulation(model, TimeGrid(stop, points))


def _write(tmp_path: Path, sim: Simulation, name: str = "model.toml") -> str:
    path = tmp_path / name
    path.write_text(dumps_toml(sim), encoding="utf-8")
    return str(path)


# -- paths --------------------------------------------------------------------------------------
def test_paths_by_index_and_by_name_address_the_same_field():
    model = qb.catalytic_model(0.2, 0.3, 0.1, 0.05, catalyst="oscillator")
    assert parse_path(model, "modes.catalyst.frequency") == parse_path(model, "modes.1.frequency")
    assert parse_path(model, "baths.charger.rate") == parse_path(model, "baths.0.rate")
    assert parse_path(model, "drives.charger.frequency").canonical == "drives.0.frequency"
    paths = valid_paths(model)
    assert "couplings.1.strength" in paths and "modes.battery.initial_occupation" in paths
    new = with_values(model, [parse_path(model, "couplings.1.strength"),
                              parse_path(model, "modes.catalyst.frequency")], [0.7, 1.3])
    assert new.couplings[1].strength == 0.7 and new.modes[1].frequency == 1.3
    assert new.couplings[0] == model.couplings[0] and model.couplings[1].strength == 0.3


def test_point_builder_reuses_items_and_combines_fields_of_one_item():
    from qbattery.sweeps.paths import PointBuilder

    model = qb.bare_model(0.2, 0.1, 0.05)
    paths = [parse_path(model, p) for p in ("drives.0.frequency", "drives.charger.amplitude",
                                            "couplings.0.strength")]
    build = PointBuilder(model, paths)
    for wf, F, g in [(1.1, 0.3, 0.2), (0.9, 0.3, 0.25), (1.1, 0.2, 0.25)]:
        m = build((wf, F, g))
        assert m.drives[0] == qb.Drive("charger", F, wf)
        assert m.couplings[0].strength == g and m.baths == model.baths
    assert build((1.1, 0.3, 0.4)).drives[0] is build((1.1, 0.3, 0.2)).drives[0]


def test_bath_occupation_replaces_temperature():
    model = qb.Model((qb.Mode("a"),), baths=(qb.Bath("a", 0.1, temperature=0.5),))
    new = with_values(model, [parse_path(model, "baths.a.occupation")], [2.0])
    assert new.baths[0].occupation == 2.0 and new.baths[0].temperature is None
    with pytest.raises(qb.ModelError, match="same field"):
        SweepPlan(_sim(model), (parse_vary(model, "baths.0.occupation=0:1:3"),
                                parse_vary(model, "baths.a.temperature=0.1:1:3")))


@pytest.mark.parametrize(("spec", "message"), [
    ("drives.3.frequency=0:1:3", "unknown path 'drives.3.frequency'; valid paths: "
                                 "modes.0.frequency"),
    ("couplings.0.rate=0:1:3", "valid paths:.*couplings.0.strength"),
    ("drives.0.frequency", "expected PATH=START:STOP:COUNT"),
    ("drives.0.frequency=1:2", "expected START:STOP:COUNT"),
    ("drives.0.frequency=1:2:x", "COUNT 'x' is not an integer"),
    ("drives.0.frequency=1:2:0", "COUNT must be >= 1"),
    ("drives.0.frequency=1:1:4", "START and STOP must differ"),
    ("drives.0.frequency=a:2:4", "START 'a' is not a number"),
    ("modes.charger.frequency=-1:1:3", r"modes.charger.frequency=-1 is invalid: "
                                       r"modes\[0\].frequency: must be > 0"),
    ("baths.0.rate=-0.1:0.1:3", "must be >= 0"),
    ("drives.0.frequency=1,1,2", "values must be distinct"),
])
def test_bad_vary_is_a_clear_error(spec, message):
    model = qb.bare_model(0.2, 0.1, 0.05)
    with pytest.raises(qb.ModelError, match=message) as err:
        parse_vary(model, spec)
    assert err.value.field == "--vary"


def test_same_field_twice_is_refused():
    model = qb.bare_model(0.2, 0.1)
    axes = (parse_vary(model, "modes.0.frequency=1:2:3"),
            parse_vary(model, "modes.charger.frequency=1:2:2"))
    with pytest.raises(qb.ModelError, match="address the same field"):
        SweepPlan(_sim(model), axes)


# -- values -------------------------------------------------------------------------------------
def _check_against_single_runs(ds, plan: SweepPlan):
    grid = plan.simulation.time.times
    names = [a.name for a in plan.axes]
    for values in itertools.product(*(a.values for a in plan.axes)):
        point = ds.sel(dict(zip(names, values, strict=True)))
        ref = qb.solve(plan.model_at(values), grid)
        scale = max(1.0, float(ref.energy.max()))
        if plan.at is None:
            np.testing.assert_allclose(point["energy"].values, ref.energy, atol=1e-9 * scale,
                                       rtol=0)
            np.testing.assert_allclose(point["ergotropy"].values, ref.ergotropy,
                                       atol=1e-9 * scale, rtol=0)
        else:
            at = qb.solve(plan.model_at(values), np.array(plan.at))
            np.testing.assert_allclose(point["energy"].values, at.energy, atol=1e-9 * scale,
                                       rtol=0)
            np.testing.assert_allclose(point["ergotropy"].values, at.ergotropy,
                                       atol=1e-9 * scale, rtol=0)
        for var, data in (("energy", ref.energy), ("ergotropy", ref.ergotropy)):
            np.testing.assert_allclose(point[f"max_{var}"].values, data.max(axis=1),
                                       atol=1e-9 * scale, rtol=0)
            k = point[f"time_of_max_{var}"].values
            picked = data[np.arange(data.shape[0]), np.searchsorted(grid, k)]
            np.testing.assert_allclose(picked, data.max(axis=1), atol=1e-9 * scale, rtol=0)


def test_sweep_values_equal_single_runs(tmp_path):
    model = qb.bare_model(0.2, 0.1, 0.05, 0.5)
    sim = _sim(model, 150.0, 301)
    axes = (parse_vary(model, "drives.0.frequency=0.7:1.3:7"),
            parse_vary(model, "couplings.0.strength=0.05:0.35:5"))
    plan = SweepPlan(sim, axes)
    report = run_sweep(plan, tmp_path / "s.zarr", options=SweepOptions(workers=1))
    assert (report.points, report.computed_points, report.reused_points) == (35, 35, 0)
    ds = report.dataset().load()
    assert ds["energy"].dims == ("drives.0.frequency", "couplings.0.strength", "mode", "time")
    assert list(ds["mode"].values) == ["charger", "battery"]
    assert int(ds["done"].sum()) == 35
    _check_against_single_runs(ds, plan)


def test_sweep_by_mode_name_with_at_times_off_the_grid(tmp_path):
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.02, 0.3, catalyst="oscillator")
    sim = _sim(model, 120.0, 241)
    axes = (parse_vary(model, "modes.catalyst.frequency=0.5,1.0,1.7"),
            parse_vary(model, "baths.charger.rate=0.01:0.1:3"))
    plan = SweepPlan(sim, axes, at=(97.3, 10.25, 120.0))
    run_sweep(plan, tmp_path / "c.zarr", options=SweepOptions(workers=1))
    ds = open_sweep(tmp_path / "c.zarr").load()
    assert ds["time"].values.tolist() == [10.25, 97.3, 120.0]
    _check_against_single_runs(ds, plan)


def test_local_pool_equals_in_process(tmp_path):
    model = qb.bare_model(0.2, 0.1, 0.05)
    sim = _sim(model, 60.0, 121)
    axes = (parse_vary(model, "drives.0.frequency=0.6:1.4:30"),
            parse_vary(model, "couplings.0.strength=0.05:0.4:30"))
    plan = SweepPlan(sim, axes)
    assert plan.n_tiles > 2
    one = run_sweep(plan, tmp_path / "one.zarr", options=SweepOptions(workers=1))
    two = run_sweep(plan, tmp_path / "two.zarr", options=SweepOptions(workers=2))
    assert two.executor.startswith("local pool")
    assert one.dataset().load().identical(two.dataset().load())


# -- the store ----------------------------------------------------------------------------------
def test_store_refuses_a_different_sweep_and_reuses_the_same(tmp_path):
    model = qb.bare_model(0.2, 0.1, 0.05)
    axes = (parse_vary(model, "drives.0.frequency=0.8:1.2:4"),)
    out = tmp_path / "s.zarr"
    run_sweep(SweepPlan(_sim(model), axes), out, options=SweepOptions(workers=1))
    again = run_sweep(SweepPlan(_sim(model), axes), out, options=SweepOptions(workers=1))
    assert (again.computed_points, again.reused_points) == (0, 4)
    other = qb.bare_model(0.2, 0.1, 0.06)
    cases = [
        (SweepPlan(_sim(other), axes), "different model"),
        (SweepPlan(_sim(model, points=101), axes), r"different \[time\] grid"),
        (SweepPlan(_sim(model), (parse_vary(model, "drives.0.frequency=0.8:1.2:5"),)),
         "different --vary axes"),
        (SweepPlan(_sim(model), axes, at=(5.0,)), "different --at times"),
    ]
    for plan, message in cases:
        with pytest.raises(qb.ModelError, match=message) as err:
            run_sweep(plan, out, options=SweepOptions(workers=1))
        assert err.value.field == "--out" and "refusing to mix" in str(err.value)
    (tmp_path / "junk").mkdir()
    with pytest.raises(qb.ModelError, match="not a qbattery sweep store"):
        run_sweep(SweepPlan(_sim(model), axes), tmp_path / "junk")


def test_one_writer_at_a_time(tmp_path):
    model = qb.bare_model(0.2, 0.1)
    plan = SweepPlan(_sim(model), (parse_vary(model, "drives.0.amplitude=0.1:0.2:2"),))
    with SweepStore.open(tmp_path / "s.zarr", plan), \
            pytest.raises(qb.ModelError, match="being written by another sweep"):
        SweepStore.open(tmp_path / "s.zarr", plan)
    with SweepStore.open(tmp_path / "s.zarr", plan):  # released on close
        pass


def test_zarr_local_store_writes_chunks_atomically(tmp_path, monkeypatch):
    """Resumability relies on zarr writing each chunk to a temporary file and renaming it."""
    import zarr

    renames = []
    original = Path.replace

    def spy(self, target):
        renames.append((self.name, Path(target).name))
        return original(self, target)

    arr = zarr.create_array(str(tmp_path / "a.zarr"), shape=(4,), chunks=(2,), dtype="f8",
                            zarr_format=2)
    monkeypatch.setattr(Path, "replace", spy)
    arr[0:2] = 1.0
    assert any(src.endswith(".partial") and dst == "0" for src, dst in renames)


# -- CLI and plots ------------------------------------------------------------------------------
def test_cli_sweep_plot_and_errors(tmp_path, capsys):
    model = qb.bare_model(0.2, 0.1, 0.05)
    toml = _write(tmp_path, _sim(model, 50.0, 101))
    out = str(tmp_path / "m.zarr")
    assert main(["sweep", toml, "--vary", "drives.0.frequency=0.8:1.2:5", "--vary",
                 "couplings.0.strength=0.1:0.3:4", "--out", out, "--workers", "1"]) == 0
    assert "20 points (20 computed, 0 reused)" in capsys.readouterr().out
    assert main(["plot", out]) == 0
    assert Path(tmp_path / "m-max_ergotropy-battery.png").stat().st_size > 1000
    assert main(["plot", out, "--var", "energy", "--sel", "couplings.0.strength=0.2",
                 "--mode", "charger", "--mode", "battery", "--out",
                 str(tmp_path / "e.png")]) == 0
    assert "curve of energy (charger, battery) vs drives.0.frequency" in capsys.readouterr().out
    for argv, message in [
        (["sweep", toml, "--vary", "drives.9.frequency=0:1:2", "--out", out],
         "--vary: unknown path 'drives.9.frequency'; valid paths: modes.0.frequency"),
        (["sweep", toml, "--vary", "drives.0.frequency=0.8:1.2:5", "--out", out],
         "--out: "),
        (["sweep", toml, "--vary", "drives.0.frequency=0.8:1.2:5", "--at", "-1", "--out",
          str(tmp_path / "n.zarr")], "--at: must be >= 0"),
        (["sweep", toml, "--vary", "drives.0.frequency=0.8:1.2:5", "--scheduler", "localhost",
          "--out", str(tmp_path / "n.zarr")], "--scheduler: expected tcp://HOST:PORT"),
        (["plot", out, "--var", "power"], "--var: unknown variable 'power'"),
        (["plot", out, "--mode", "catalyst"], "--mode: unknown mode 'catalyst'"),
        (["plot", out, "--sel", "couplings.0.strength=0.2", "--sel", "drives.0.frequency=1"],
         "--sel: nothing left to plot"),
        (["plot", out, "--sel", "modes.0.frequency=1"], "--sel: 'modes.0.frequency' is not a "
                                                        "varied parameter"),
        (["plot", out, "--var", "energy", "--mode", "charger", "--mode", "battery", "--time",
          "10"], "--mode: a heatmap shows one mode"),
        (["plot", str(tmp_path)], "store: cannot open"),
    ]:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err, (argv, err)


def test_plot_heatmap_of_time_and_partial_store(tmp_path):
    model = qb.bare_model(0.2, 0.1, 0.05)
    plan = SweepPlan(_sim(model, 40.0, 81), (parse_vary(model, "drives.0.frequency=0.8:1.2:9"),))
    with SweepStore.open(tmp_path / "p.zarr", plan):
        pass  # created, nothing computed: every value reads as NaN
    ds = open_sweep(tmp_path / "p.zarr").load()
    assert np.isnan(ds["energy"].values).all() and int(ds["done"].sum()) == 0
    text = plot_sweep(ds, tmp_path / "h.png", var="energy")
    assert "heatmap of energy (battery) vs drives.0.frequency and time" in text
    three = SweepPlan(_sim(model, 40.0, 81), (parse_vary(model, "drives.0.frequency=0.8:1.2:3"),
                                              parse_vary(model, "drives.0.amplitude=0.1:0.2:3"),
                                              parse_vary(model, "baths.0.rate=0.01:0.1:3")))
    with SweepStore.open(tmp_path / "3.zarr", three):
        pass
    with pytest.raises(qb.ModelError, match="a plot shows one or two parameters, 3 vary"):
        plot_sweep(open_sweep(tmp_path / "3.zarr"), tmp_path / "x.png")


def test_qubit_catalyst_sweep_equals_single_runs(tmp_path):
    model = qb.catalytic_model(0.2, 0.2, 0.05, 0.05)
    try:
        qb.choose_method(model)
    except qb.UnsupportedMethodError as err:
        pytest.skip(f"no registered engine solves qubit catalysts yet ({err})")
    axis = parse_vary(model, "modes.catalyst.frequency=0.8,1,1.3")
    plan = SweepPlan(_sim(model, 30.0, 61), (axis,))
    assert not plan.batched and plan.tile == (1,)
    run_sweep(plan, tmp_path / "q.zarr", options=SweepOptions(workers=2))
    _check_against_single_runs(open_sweep(tmp_path / "q.zarr").load(), plan)


def test_dissipator_and_dephasing_fields_can_be_swept():
    model = qb.Model((qb.Mode("a"), qb.Mode("q", kind="qubit")),
                     couplings=(qb.Coupling(("a", "q"), 0.1),),
                     dissipators=(qb.Dissipator({"a": 1.0, "q": 0.5}, 0.1),),
                     dephasing=(qb.Dephasing("q", 0.01),))
    assert parse_path(model, "dephasing.q.rate") == parse_path(model, "dephasing.0.rate")
    new = with_values(model, [parse_path(model, "dissipators.0.rate"),
                              parse_path(model, "dephasing.q.rate")], [0.3, 0.02])
    assert new.dissipators[0].rate == 0.3 and new.dephasing[0].rate == 0.02
    with pytest.raises(qb.ModelError, match="rate"):
        with_values(model, [parse_path(model, "dephasing.0.rate")], [-1.0])
