"""qbattery.optimize and the ``optimize`` / ``summary`` commands."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import qbattery as qb
from qbattery.cli import main
from qbattery.config import loads_toml
from qbattery.errors import ModelError
from qbattery.optimize import _Evaluator, _point_value, optimize, parse_objective
from qbattery.sweeps import SweepOptions, SweepPlan, parse_path, parse_vary, run_sweep

G, F, GAMMA = 0.2, 0.1, 0.05


def test_finds_the_supermode_resonance_of_the_bare_model() -> None:
    """Steady state of the damped bare model driven at detuning D = omega - omega_f:
    |b|^2 = g^2 F^2 / ((D^2 - g^2)^2 + gamma^2 D^2 / 4), largest at D^2 = g^2 - gamma^2/8."""
    sim = qb.Simulation(qb.bare_model(G, F, GAMMA), qb.TimeGrid(2000.0, 3))
    out = optimize(sim, "ergotropy[battery]@2000", {"drives.0.frequency": (0.6, 1.4)},
                   budget=150)
    detuning = np.sqrt(G**2 - GAMMA**2 / 8)
    best = G**2 * F**2 / ((GAMMA**2 / 8) ** 2 + GAMMA**2 * detuning**2 / 4)
    x = out["optimum"]["drives.0.frequency"]
    assert min(abs(x - (1 - detuning)), abs(x - (1 + detuning))) < 1e-4
    assert out["value"] == pytest.approx(best, rel=1e-6)
    assert out["evaluations"] <= 150 == len(out["history"])
    rerun = loads_toml(out["model"]).run()
    assert rerun["battery"]["ergotropy"][-1] == pytest.approx(out["value"], rel=1e-9)


def test_two_parameters_beat_the_brute_force_sweep(tmp_path: Path) -> None:
    """At a fixed t = 20 the best (omega_f, g) is inside the box (near omega, g = 0.12)."""
    sim = qb.Simulation(qb.bare_model(G, F, GAMMA), qb.TimeGrid(40.0, 81))
    axes = (parse_vary(sim.model, "drives.0.frequency=0.7:1.3:31"),
            parse_vary(sim.model, "couplings.0.strength=0.05:0.5:46"))
    report = run_sweep(SweepPlan(sim, axes, at=(20.0,)), tmp_path / "grid.zarr",
                       options=SweepOptions(workers=1, progress=False))
    grid = report.dataset()["ergotropy"].sel(mode="battery").isel(time=0).values
    i, j = np.unravel_index(np.argmax(grid), grid.shape)
    assert 0 < i < 30 and 0 < j < 45  # an interior optimum
    out = optimize(sim, "ergotropy[battery]@20", {"drives.0.frequency": (0.7, 1.3),
                                                  "couplings.0.strength": (0.05, 0.5)},
                   budget=300, seed=1)
    assert out["value"] >= float(np.max(grid)) * (1 - 1e-9)
    assert abs(out["optimum"]["drives.0.frequency"] - float(axes[0].values[i])) < 0.02
    assert abs(out["optimum"]["couplings.0.strength"] - float(axes[1].values[j])) < 0.01


@pytest.mark.parametrize("objective", ["max:ergotropy[battery]", "efficiency@30",
                                       "max_average_power[battery]",
                                       "coherent_ergotropy[battery]@25", "power[charger]@10",
                                       "energy_variance[battery]@30"])
def test_batched_objective_equals_the_dataset_one(objective: str) -> None:
    """The batched Gaussian evaluation and the per-result (Dataset) one agree."""
    model = qb.bare_model(G, F, GAMMA, 0.3)
    sim = qb.Simulation(model, qb.TimeGrid(40.0, 81))
    paths = [parse_path(model, "drives.0.frequency")]
    obj = parse_objective(model, objective, 40.0)
    ev = _Evaluator(sim, paths, obj)
    assert ev.batched
    points = np.array([[0.85], [1.0], [1.17]])
    fast = ev(points)
    for x, value in zip(points, fast, strict=True):
        slow = _point_value(ev.build(list(x)), sim.solver, ev.times, obj, ev.window)
        assert value == pytest.approx(slow, rel=1e-9, abs=1e-12)


def test_density_matrix_models_on_the_process_pool() -> None:
    """A qubit catalyst (not Gaussian): solved per point on two worker processes."""
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    sim = qb.Simulation(model, qb.TimeGrid(6.0, 13))
    out = optimize(sim, "ergotropy[battery]@6", {"modes.catalyst.frequency": (0.8, 1.2)},
                   budget=20, workers=2)
    assert out["evaluations"] == 20
    rerun = loads_toml(out["model"]).run()
    assert rerun["battery"]["ergotropy"][-1] == pytest.approx(out["value"], rel=1e-9)
    values = [h[-1] for h in out["history"]]
    assert out["value"] == max(values)


def test_minimize() -> None:
    sim = qb.Simulation(qb.bare_model(G, F, GAMMA), qb.TimeGrid(30.0, 61))
    out = optimize(sim, "energy[battery]@30", {"drives.0.frequency": (0.9, 1.1)},
                   minimize=True, budget=40)
    assert out["sense"] == "minimize"
    assert out["value"] == min(h[-1] for h in out["history"])


@pytest.mark.parametrize(("objective", "bounds", "budget", "match"), [
    ("ergotropy[batery]@10", {"drives.0.frequency": (0.6, 1.4)}, 50, "unknown mode 'batery'"),
    ("ergo[battery]@10", {"drives.0.frequency": (0.6, 1.4)}, 50, "unknown variable 'ergo'"),
    ("ergotropy[battery]@99", {"drives.0.frequency": (0.6, 1.4)}, 50, "outside the window"),
    ("ergotropy[battery]@x", {"drives.0.frequency": (0.6, 1.4)}, 50, "is not a number"),
    ("ergotropy@10", {"drives.0.frequency": (0.6, 1.4)}, 50, "expected one of"),
    ("max:ergotropy[battery]", {"drives.0.freq": (0.6, 1.4)}, 50, "unknown path"),
    ("max:ergotropy[battery]", {"drives.0.frequency": (1.4, 0.6)}, 50, "LO must be < HI"),
    ("max:ergotropy[battery]", {"baths.0.rate": (-1.0, 1.0)}, 50, "is invalid"),
    ("max:ergotropy[battery]", {"drives.0.frequency": (0.6,)}, 50, "expected bounds"),
    ("max:ergotropy[battery]", {"modes.0.frequency": (0.6, 1.4),
                                "modes.charger.frequency": (0.6, 1.4)}, 50, "same field"),
    ("max:ergotropy[battery]", {}, 50, "at least one"),
    ("max:ergotropy[battery]", {"drives.0.frequency": (0.6, 1.4)}, 5, "--budget"),
])
def test_bad_input_is_refused(objective: str, bounds: dict, budget: int, match: str) -> None:
    sim = qb.Simulation(qb.bare_model(G, F, GAMMA), qb.TimeGrid(20.0, 41))
    with pytest.raises(ModelError, match=match):
        optimize(sim, objective, bounds, budget=budget)


def test_efficiency_needs_a_battery() -> None:
    lone = qb.Model(modes=(qb.Mode("a"),), drives=(qb.Drive("a", 0.1, 1.0),))
    with pytest.raises(ModelError, match="battery"):
        optimize(lone, "efficiency@5", {"drives.0.frequency": (0.9, 1.1)},
                 times=np.linspace(0, 10, 11))


def test_cli_optimize_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / "bare.toml"
    model.write_text(qb.Simulation(qb.bare_model(G, F, GAMMA), qb.TimeGrid(100.0, 201))
                     .to_toml())
    out, png = tmp_path / "opt.json", tmp_path / "opt.png"
    assert main(["optimize", str(model), "--maximize", "ergotropy[battery]@100", "--vary",
                 "drives.0.frequency=0.6:1.4", "--budget", "60", "--out", str(out),
                 "--plot", str(png)]) == 0
    data = json.loads(out.read_text())
    assert set(data) >= {"optimum", "value", "objective", "model", "evaluations", "history"}
    assert len(data["history"][0]) == 2 and data["evaluations"] == 60
    assert png.stat().st_size > 1000
    assert not list(tmp_path.glob(".opt.json.*"))  # no temporary file left
    capsys.readouterr()
    nc = tmp_path / "r.nc"
    assert main(["simulate", str(model), "--out", str(nc)]) == 0
    printed = capsys.readouterr().out
    assert "battery modes" in printed and "efficiency" in printed
    assert main(["summary", str(nc)]) == 0
    assert capsys.readouterr().out.strip() == printed.strip().split("\n", 1)[1].strip()


@pytest.mark.parametrize("args", [
    ["--maximize", "ergotropy[nope]@10", "--vary", "drives.0.frequency=0.6:1.4"],
    ["--maximize", "ergotropy[battery]@10", "--vary", "drives.0.frequency=0.6"],
    ["--maximize", "ergotropy[battery]@10", "--vary", "drives.0.frequency=a:b"],
    ["--maximize", "ergotropy[battery]@10", "--vary", "drives.9.frequency=0.6:1.4"],
    ["--minimize", "ergotropy[battery]@10", "--vary", "drives.0.frequency=0.6:1.4",
     "--budget", "1"],
])
def test_cli_errors_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                        args: list[str]) -> None:
    model = tmp_path / "bare.toml"
    model.write_text(qb.Simulation(qb.bare_model(G, F, GAMMA), qb.TimeGrid(20.0, 41)).to_toml())
    assert main(["optimize", str(model), *args, "--out", str(tmp_path / "o.json")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("qbattery: error: ") and err.count("\n") == 1
    assert not (tmp_path / "o.json").exists()
    assert main(["summary", str(tmp_path / "missing.nc")]) == 2
