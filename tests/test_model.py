"""Model, TOML files and validation: every error names its field and value."""

from __future__ import annotations

import math

import numpy as np
import pytest

import qbattery as qb
from qbattery.config import simulation_from_dict

BASE = """
[[modes]]
name = "charger"
kind = "oscillator"
frequency = 1.0

[[modes]]
name = "battery"
kind = "oscillator"
frequency = 1.0

[[couplings]]
between = ["charger", "battery"]
strength = 0.2

[[drives]]
mode = "charger"
amplitude = 0.1
frequency = 1.0

[[baths]]
mode = "charger"
rate = 0.05
occupation = 1.0

[time]
stop = 50.0
points = 101
"""


def test_toml_round_trip_and_equivalence_with_builder() -> None:
    sim = qb.loads_toml(BASE)
    assert sim.model == qb.bare_model(0.2, 0.1, 0.05, 1.0)
    again = qb.loads_toml(sim.to_toml())
    assert again == sim
    r1 = sim.run()
    r2 = qb.solve(qb.bare_model(0.2, 0.1, 0.05, 1.0), np.linspace(0, 50, 101))
    np.testing.assert_array_equal(r1.energy, r2.energy)


def test_temperature_bath_and_initial_states() -> None:
    bath = qb.Bath("a", 0.1, temperature=2.0)
    assert bath.occupation_at(1.0) == pytest.approx(1 / math.expm1(0.5))
    assert qb.Bath("a", 0.1).occupation_at(1.0) == 0.0
    text = BASE.replace('name = "battery"\n', 'name = "battery"\ninitial_amplitude = [0.5, -0.25]\n'
                        'initial_occupation = 0.3\n')
    mode = qb.loads_toml(text).model.modes[1]
    assert mode.initial_amplitude == complex(0.5, -0.25)
    assert mode.initial_occupation == 0.3


def edit(**changes: object) -> dict:
    import tomllib

    data = tomllib.loads(BASE)
    for path, value in changes.items():
        parts = path.split("__")
        target = data
        for p in parts[:-1]:
            target = target[int(p)] if p.isdigit() else target[p]
        if value is DELETE:
            del target[parts[-1]]
        else:
            target[parts[-1]] = value
    return data


DELETE = object()


@pytest.mark.parametrize(("changes", "message"), [
    ({"modes__1__name": "charger"}, r"modes\[1\]\.name: duplicate mode name 'charger'"),
    ({"modes__0__kind": "spin"}, r"modes\[0\]\.kind: unknown kind 'spin'; known kinds: oscillator, "
                                 "qubit"),
    ({"modes__0__frequency": -1.0}, r"modes\[0\]\.frequency: must be > 0, got -1\.0"),
    ({"modes__0__frequency": float("nan")}, r"modes\[0\]\.frequency: must be finite"),
    ({"modes__0__frequency": "fast"}, r"modes\[0\]\.frequency: expected a real number, got 'fast'"),
    ({"modes__0__name": ""}, r"modes\[0\]\.name: expected a non-empty string"),
    ({"modes__0__colour": "red"}, r"modes\[0\]\.colour: unknown field; allowed fields: "),
    ({"modes__0__initial_occupation": -0.5}, r"modes\[0\]\.initial_occupation: must be >= 0"),
    ({"modes__0__initial_amplitude": [1, 2, 3]},
     r"modes\[0\]\.initial_amplitude: expected a number or \[re, im\]"),
    ({"couplings__0__between": ["charger", "batery"]},
     r"couplings\[0\]\.between: unknown mode 'batery'; modes are charger, battery"),
    ({"couplings__0__between": ["charger", "charger"]},
     r"couplings\[0\]\.between: a mode cannot couple to itself"),
    ({"couplings__0__between": "charger"}, r"couplings\[0\]\.between: expected two mode names"),
    ({"couplings__0__strength": DELETE}, r"couplings\[0\]\.strength: required field missing"),
    ({"couplings__0__strength": float("inf")}, r"couplings\[0\]\.strength: must be finite"),
    ({"drives__0__mode": "laser"}, r"drives\[0\]\.mode: unknown mode 'laser'"),
    ({"drives__0__amplitude": True}, r"drives\[0\]\.amplitude: expected a real number, got True"),
    ({"baths__0__rate": -0.1}, r"baths\[0\]\.rate: must be >= 0, got -0\.1"),
    ({"baths__0__occupation": -1.0}, r"baths\[0\]\.occupation: must be >= 0"),
    ({"baths__0__temperature": 1.0}, r"baths\[0\]\.occupation: give occupation or temperature, "
                                     "not both"),
    ({"baths__0__mode": "ghost"}, r"baths\[0\]\.mode: unknown mode 'ghost'"),
    ({"time__stop": 0.0}, r"time\.stop: must be > 0, got 0\.0"),
    ({"time__points": 0}, r"time\.points: expected an integer >= 1, got 0"),
    ({"time__points": 10.5}, r"time\.points: expected an integer >= 1, got 10\.5"),
    ({"time": DELETE}, r"time: missing section \[time\]"),
    ({"solver": {"method": "magic"}}, r"solver\.method: unknown method 'magic'; known: auto, "
                                      "fock, displaced, gaussian"),
    ({"solver": {"rtol": 0.0}}, r"solver\.rtol: must be > 0"),
    ({"solver": {"cutoff": 1}}, r"solver\.cutoff: expected \"auto\" or an integer number of "
                                "levels >= 2, got 1"),
    ({"solver": {"cutoff": {"battery": "many"}}}, r"solver\.cutoff\.battery: expected"),
    ({"solver": {"on_truncation": "ignore"}},
     r"solver\.on_truncation: expected one of error, warn"),
    ({"extras": {}}, r"extras: unknown section; allowed: modes, couplings, drives, baths, "
                     "dissipators, dephasing, time, solver"),
    ({"modes": []}, r"modes: a model needs at least one mode"),
    ({"modes": {"name": "x"}}, r"modes: expected an array of tables \[\[modes\]\]"),
])
def test_validation_messages(changes: dict, message: str) -> None:
    with pytest.raises(qb.ModelError, match=message):
        simulation_from_dict(edit(**changes))


def test_qubit_specific_validation() -> None:
    with pytest.raises(qb.ModelError, match="initial_amplitude: a qubit has no coherent"):
        qb.Mode("q", "qubit", initial_amplitude=0.1)
    with pytest.raises(qb.ModelError, match=r"initial_occupation: a qubit's excited population"):
        qb.Mode("q", "qubit", initial_occupation=1.5)


def test_duplicate_coupling_and_bath() -> None:
    a, b = qb.Mode("a"), qb.Mode("b")
    with pytest.raises(qb.ModelError, match=r"couplings\[1\]\.between: duplicate coupling"):
        qb.Model((a, b), (qb.Coupling(("a", "b"), 0.1), qb.Coupling(("b", "a"), 0.2)))
    with pytest.raises(qb.ModelError, match=r"baths\[1\]\.mode: mode 'a' already has a bath"):
        qb.Model((a, b), baths=(qb.Bath("a", 0.1), qb.Bath("a", 0.2)))
    with pytest.raises(qb.ModelError, match=r"modes\[0\]: expected a Mode"):
        qb.Model(("a",))  # type: ignore[arg-type]


def test_malformed_toml_and_missing_file(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(qb.ModelError, match="toml: malformed TOML"):
        qb.loads_toml("[[modes]\nname=")
    with pytest.raises(qb.ModelError, match="file: cannot read"):
        qb.load_toml(tmp_path / "nope.toml")


@pytest.mark.parametrize(("times", "message"), [
    ([], "times: expected a non-empty 1-D array"),
    ([0.0, 2.0, 1.0], "times: must be strictly increasing"),
    ([-1.0, 0.0], "times: must be >= 0"),
    ([0.0, np.nan], "times: must be finite"),
    ("soon", "times: expected an array of numbers"),
])
def test_solve_argument_errors(times: object, message: str) -> None:
    with pytest.raises(qb.ModelError, match=message):
        qb.solve(qb.bare_model(0.2, 0.1), times)  # type: ignore[arg-type]


def test_solve_rejects_wrong_types() -> None:
    with pytest.raises(qb.ModelError, match=r"model: expected a qbattery\.Model"):
        qb.solve("bare", [1.0])  # type: ignore[arg-type]
    with pytest.raises(qb.ModelError, match="options: expected SolverOptions"):
        qb.solve(qb.bare_model(0.2, 0.1), [1.0], options={"rtol": 1e-3})  # type: ignore[arg-type]
    with pytest.raises(qb.ModelError, match="method: unknown method 'fast'"):
        qb.solve(qb.bare_model(0.2, 0.1), [1.0], method="fast")


def test_builders_validate_inputs() -> None:
    with pytest.raises(qb.ModelError, match="g_cells: a battery needs at least one cell"):
        qb.multicell_model(0.2, [], 0.1)
    with pytest.raises(qb.ModelError, match=r"g_cells\[1\]: must be finite"):
        qb.multicell_model(0.2, [0.1, float("nan")], 0.1)
    with pytest.raises(qb.ModelError, match=r"strength: expected a real number"):
        qb.bare_model("strong", 0.1)  # type: ignore[arg-type]
    m = qb.multicell_model(0.2, [0.1, 0.2, 0.3], 0.1, catalyst=None)
    assert m.names == ("charger", "cell1", "cell2", "cell3")
    assert all("charger" in c.between for c in m.couplings)
