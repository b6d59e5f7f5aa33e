"""The compiled model and the engine contract (issue 11).

- a term or mode kind that an engine does not know is refused by name, never
  solved as something else;
- an engine takes a state and returns one: a run in two segments, the final
  state handed on, equals one run (each engine);
- the stored model reproduces a run on any time grid;
- ``auto`` resolves to the engine the solve uses; the Gaussian twin is built once;
- the layers import downwards only, and nothing below the results layer calls
  the public ``solve``.
"""

from __future__ import annotations

import ast
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

import qbattery as qb
from qbattery.config import loads_toml
from qbattery.solvers import run_engine
from qbattery.terms import CouplingTerm, ModeKind, compile_model
from qbattery.terms import linear as linear_module

SRC = Path(qb.__file__).parent


class _Mystery(CouplingTerm):
    """A coupling form no engine knows (no capabilities)."""


class _Qutrit(ModeKind):
    """A finite-level kind the Gaussian engine must refuse (not Gaussian)."""

    name: ClassVar[str] = "qutrit"
    levels: ClassVar[int | None] = 3
    gaussian: ClassVar[bool] = False

    def initial_state(self, occupation: float, amplitude: complex, dim: int) -> np.ndarray:
        return np.diag([1.0, 0.0, 0.0]).astype(complex)


@pytest.mark.parametrize("method", ["gaussian", "fock", "displaced", "auto"])
def test_unknown_term_is_refused_by_name(method: str) -> None:
    problem = compile_model(qb.bare_model(0.2, 0.1, 0.05))
    weird = replace(problem, couplings=(*problem.couplings, _Mystery("couplings[7]", 0, 1, 0.1)))
    with pytest.raises(qb.UnsupportedMethodError, match=r"couplings\[7\] \(_Mystery\)"):
        run_engine(weird, np.array([0.0, 1.0]), qb.SolverOptions(method=method))


def test_unknown_mode_kind_is_refused_by_the_gaussian_engine() -> None:
    problem = compile_model(qb.bare_model(0.2, 0.1, 0.05))
    odd = replace(problem, modes=(problem.modes[0], replace(problem.modes[1], kind=_Qutrit())))
    with pytest.raises(qb.UnsupportedMethodError, match="qutrits: battery"):
        run_engine(odd, np.array([0.0, 1.0]), qb.SolverOptions(method="gaussian"))
    # a density-matrix engine takes it: the kind knows its operators (3 levels)
    out = run_engine(odd, np.array([0.0, 2.0]), qb.SolverOptions(method="fock"))[1]
    assert out.final_state.dims[1] == 3


SEGMENT_CASES = [
    # two drives at different frequencies: the second segment must keep their phases
    ("gaussian", replace(qb.bare_model(0.2, 0.1, 0.05, 1.0, omega_f=1.2),
                         drives=(qb.Drive("charger", 0.1, 1.2), qb.Drive("battery", 0.03, 0.9))),
     {}, 1e-10),
    ("fock", qb.catalytic_model(0.2, 0.2, 0.05, 0.05, 0.05, 0.2),
     {"rtol": 1e-10, "atol": 1e-12, "cutoff": 14}, 1e-7),
    ("displaced", qb.catalytic_model(0.2, 0.2, 0.1, 0.05),
     {"rtol": 1e-10, "atol": 1e-12, "cutoff": 11}, 1e-7),
]


@pytest.mark.parametrize(("method", "model", "opts", "tol"), SEGMENT_CASES,
                         ids=[c[0] for c in SEGMENT_CASES])
def test_two_segments_equal_one_run(method: str, model: qb.Model, opts: dict,
                                    tol: float) -> None:
    t = np.linspace(0.0, 20.0, 21)
    options = qb.SolverOptions(method=method, **opts)
    whole = qb.solve(model, t, options=options)
    first = qb.solve(model, t[:11], options=options)
    second = qb.solve(model, t[10:], options=options, initial_state=first.final_state)
    assert first.final_state is not None and first.final_state.time == 10.0
    joined = np.concatenate([first.energy, second.energy[:, 1:]], axis=1)
    np.testing.assert_allclose(joined, whole.energy, rtol=0, atol=tol * np.abs(whole.energy).max())
    np.testing.assert_allclose(second.ergotropy[:, -1], whole.ergotropy[:, -1],
                               atol=tol * np.abs(whole.energy).max())
    assert second.stats["continued_from"] == 10.0
    assert np.abs(whole.energy[:, -1] - whole.energy[:, 10]).max() > 1e-3  # it did evolve


def test_continuation_checks_its_inputs() -> None:
    model = qb.bare_model(0.2, 0.1, 0.05)
    first = qb.solve(model, [0.0, 5.0])
    with pytest.raises(qb.ModelError, match=r"times: must be >= the initial state's time"):
        qb.solve(model, [1.0, 6.0], initial_state=first.final_state)
    with pytest.raises(qb.UnsupportedMethodError, match="continues only from a Gaussian state"):
        dm = qb.solve(model, [0.0, 5.0], method="fock")
        qb.solve(model, [5.0, 6.0], method="gaussian", initial_state=dm.final_state)
    with pytest.raises(qb.ModelError, match="initial_state: was computed in another rotating"):
        qb.solve(qb.bare_model(0.2, 0.1, 0.05, omega_f=1.2), [5.0, 6.0],
                 initial_state=first.final_state)


@pytest.mark.parametrize("times", [[0.0, 0.4, 1.7, 5.0, 12.0], [3.0], [0.0]])
def test_stored_model_reproduces_any_time_grid(times: list[float]) -> None:
    model = qb.bare_model(0.2, 0.1, 0.05, omega_f=1.2)
    result = qb.solve(model, times)
    sim = loads_toml(result.to_xarray().attrs["model"])
    np.testing.assert_array_equal(sim.time.times, np.array(times))
    np.testing.assert_array_equal(sim.run().energy, result.energy)


def test_auto_resolves_to_the_engine_solve_uses_and_the_sweep_records_it() -> None:
    from qbattery.config import Simulation
    from qbattery.options import TimeGrid
    from qbattery.sweeps import SweepPlan, parse_vary

    weak = qb.multicell_model(0.2, [0.1, 0.25, 0.18], 0.05, 0.05)
    plan = SweepPlan(Simulation(weak, TimeGrid(8.0, 3)),
                     (parse_vary(weak, "drives.0.amplitude=0.05,0.06"),))
    assert plan.method == qb.choose_method(weak, stop=8.0) == "fock"


def test_the_gaussian_twin_is_built_once_per_solve(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = linear_module.twin_bounds

    def counting(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr("qbattery.solvers.base.twin_bounds", counting)
    qb.solve(qb.catalytic_model(0.2, 0.2, 0.1, 0.05), np.linspace(0.0, 2.0, 3))
    assert len(calls) == 1  # the auto cost of both engines and the chosen engine share it


def test_progress_reaches_the_end() -> None:
    seen: list[tuple[float, str]] = []
    qb.solve(qb.catalytic_model(0.2, 0.2, 0.1, 0.05), np.linspace(0.0, 3.0, 4),
             progress=lambda t, status: seen.append((t, status)))
    times = [t for t, _ in seen]
    assert times == sorted(times) and times[-1] == pytest.approx(3.0)
    assert "charger=" in seen[-1][1]


# -- layers ---------------------------------------------------------------------------------
LAYERS = [
    {"errors", "validation", "envelopes", "kinds", "baths", "model", "options", "_threads"},
    {"terms", "observables", "merit", "merit_data"},
    {"hilbert", "solvers"},
    {"result", "config", "api", "supermodes", "interop", "builders", "plotting", "progress", "io"},
    {"sweeps", "figures", "optimize"},
    {"cli", "__main__"},
]


def _layer(name: str) -> int:
    for k, names in enumerate(LAYERS):
        if name in names:
            return k
    raise AssertionError(f"module {name!r} is in no layer of this test; add it")


def _runtime_imports(path: Path) -> set[str]:
    """qbattery modules imported at run time (TYPE_CHECKING blocks aside)."""
    tree = ast.parse(path.read_text())
    skip = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            skip.update(id(n) for n in ast.walk(node))
    package = path.relative_to(SRC.parent).with_suffix("").parts
    out = set()
    for node in ast.walk(tree):
        if id(node) in skip or not isinstance(node, ast.ImportFrom):
            continue
        if node.level:
            base = list(package[:len(package) - node.level])
            if path.name == "__init__.py":
                base = list(package[:len(package) - node.level + 1])
            parts = base + (node.module.split(".") if node.module else [])
        elif node.module and node.module.startswith("qbattery"):
            parts = node.module.split(".")
        else:
            continue
        if len(parts) > 1:
            out.add(parts[1])
        else:
            out.update(a.name for a in node.names)
    return out


def test_layers_import_downwards_only() -> None:
    wrong = []
    for path in SRC.rglob("*.py"):
        rel = path.relative_to(SRC)
        if rel.name == "__init__.py" and len(rel.parts) == 1:
            continue  # the package's public namespace gathers every layer
        own = "cli" if rel.stem.endswith("cli") else rel.parts[0].removesuffix(".py")
        for imported in _runtime_imports(path):
            if imported == own or imported == "__version__":
                continue
            if _layer(imported) > _layer(own):
                wrong.append(f"{rel} imports {imported}")
    assert not wrong, wrong


def test_no_engine_calls_the_public_solve() -> None:
    for sub in ("terms", "hilbert", "solvers"):
        for path in (SRC / sub).rglob("*.py"):
            text = path.read_text()
            assert "import solve\n" not in text and "api import" not in text, path


# -- engine-level guards (issue 12) -------------------------------------------------------------
def test_a_non_finite_engine_output_is_refused_with_where(monkeypatch: pytest.MonkeyPatch
                                                          ) -> None:
    from qbattery import solvers

    real = solvers._REGISTRY["gaussian"]

    def broken(*args, **kwargs):  # type: ignore[no-untyped-def]
        out = real.run(*args, **kwargs)
        out.ergotropy[1, 3] = np.nan
        return out

    monkeypatch.setitem(solvers._REGISTRY, "gaussian", replace(real, run=broken))
    with pytest.raises(qb.QBatteryError, match=r"ergotropy of battery is not finite at t = 3"):
        qb.solve(qb.bare_model(0.2, 0.1, 0.05), np.arange(6.0))


def test_a_collapsing_step_is_an_error_not_a_hang() -> None:
    from qbattery.hilbert import integrate

    with pytest.raises(qb.QBatteryError, match=r"cannot make progress at t = 1 \(Required step"):
        integrate(lambda t, y: y**2, np.array([1.0]), np.array([0.0, 2.0]),
                  rtol=1e-8, atol=1e-10, on_output=lambda k, t, y: None)


def test_the_displaced_engine_refuses_a_space_it_cannot_hold() -> None:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, catalyst="oscillator")
    with pytest.raises(qb.ModelError, match=r"cutoff: the Fock space \{charger = 60"):
        qb.solve(model, [0.0, 1.0], method="displaced", options=qb.SolverOptions(cutoff=60))
