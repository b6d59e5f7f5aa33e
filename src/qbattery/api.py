"""The public :func:`solve`: a model and output times in, a :class:`~qbattery.Result` out.

Layering: model -> terms -> engines (:mod:`qbattery.solvers`) -> results and
io (this module, :mod:`qbattery.result`, :mod:`qbattery.config`) -> sweeps,
figures -> CLI. Only the layers above the engines call :func:`solve`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .config import Simulation, check_scales
from .errors import IntegrationError, ModelError
from .model import Model
from .observables import energy_flows, interaction_energy
from .options import SolverOptions, TimeGrid
from .result import Result
from .solvers import DensityState, GaussianState, State, check_times, run_engine
from .solvers.base import Progress
from .terms import CompiledModel, compile_model
from .terms.dressed import dress
from .terms.entropy import moment_system_heat, production, temperatures
from .terms.redfield import redfield

__all__ = ["solve"]


def solve(model: Model, times: ArrayLike, *, method: str | None = None,
          options: SolverOptions | None = None, initial_state: State | None = None,
          progress: Progress | None = None) -> Result:
    """Solve the Lindblad master equation of ``model`` at ``times``.

    d rho/dt = -i [H(t), rho] + sum_baths gamma_i ((N_i + 1) D[x_i] + N_i D[x_i^dag]) rho
               (+ the correlated baths and dephasing of the model),

    with H(t) the network Hamiltonian of :mod:`qbattery.model`, solved in the
    rotating frame of ``model.frame_frequency``. With
    ``options.master_equation = "global"`` the baths act on the normal modes of the
    network instead (:mod:`qbattery.terms.dressed`; ``stats["secular_ratio"]``); with
    ``"redfield"`` the Bloch-Redfield equation in the eigenbasis of the undriven network
    (:mod:`qbattery.terms.redfield`, qubits allowed, Fock engine; ``stats["redfield_*"]``).

    Args:
        model: the network.
        times: output times (increasing, >= 0 or >= the initial state's time), in
            units of 1/omega. Absolute times: a run continued from a handed-on
            state keeps detuned drives in phase.
        method: overrides ``options.method``.
        options: solver options (default :class:`SolverOptions`).
        initial_state: the state to start from (``result.final_state`` of an
            earlier run of the same model); default the model's own initial
            state at t = 0.
        progress: called as ``progress(t, status)`` while the engine runs.

    Returns:
        A :class:`Result` with energies, ergotropies, amplitudes and energy
        flows; ``result.stats["solve_seconds"]`` is the wall time of the engine;
        ``result.final_state`` continues the run.
    """
    if not isinstance(model, Model):
        raise ModelError("model", f"expected a qbattery.Model, got {type(model).__name__}")
    opts = SolverOptions() if options is None else options
    if not isinstance(opts, SolverOptions):
        raise ModelError("options", f"expected SolverOptions, got {type(opts).__name__}")
    if method is not None:
        opts = replace(opts, method=method)
    if initial_state is not None and not isinstance(initial_state, GaussianState | DensityState):
        raise ModelError("initial_state", "expected the final_state of a result, got "
                         f"{type(initial_state).__name__}")
    start = 0.0 if initial_state is None else float(initial_state.time)
    if initial_state is not None and initial_state.frame_frequency != model.frame_frequency:
        raise ModelError("initial_state", "was computed in another rotating frame "
                         f"({initial_state.frame_frequency:g}, this model's is "
                         f"{model.frame_frequency:g})")
    t = check_times(times, start=start)
    _check_scales(model, t, opts)
    problem, notes = compile_model(model), dict[str, float]()
    if opts.master_equation == "global":
        problem, notes = dress(problem)
    elif opts.master_equation == "redfield":
        problem, notes = redfield(problem)
    name, out, timing = run_engine(problem, t, opts, initial_state=initial_state,
                                   progress=progress)
    flows = energy_flows(problem, t, out.occupation, out.amplitude, out.pair_coherence,
                         out.anomalous, measured_heat=out.heat)
    extra = {**out.extra, **_density_entropy(problem, t, out)}
    if problem.anomalous_pairs:  # the local energies no longer add up to the total
        extra["interaction_energy"] = (("time",), interaction_energy(
            problem, t, out.pair_coherence, out.anomalous))
    _check_finite(model, t, {"occupation": out.occupation, "amplitude": out.amplitude,
                             "ergotropy": out.ergotropy, **flows})
    stats = {**timing, **out.stats, **notes}
    if initial_state is not None:
        stats["continued_from"] = start
    return Result(model=model, times=t, method=name, options=opts,
                  occupation=out.occupation, amplitude=out.amplitude, ergotropy=out.ergotropy,
                  extra=extra, stats=stats, final_state=out.final_state, **flows)


def _density_entropy(problem: CompiledModel, times: NDArray[np.float64], out: Any
                     ) -> dict[str, Any]:
    """A density-matrix engine's entropy production and each bath's heat into the system
    (:mod:`qbattery.terms.entropy`), from the entropy it recorded (``options.entropy``)
    and its moments; nothing when it recorded no entropy, the Gaussian engine made them,
    or some dissipator is not a thermal bath at T > 0."""
    if "entropy" not in out.extra or "entropy_production" in out.extra:
        return {}
    temps = temperatures(problem)
    if temps is None:
        return {}
    if "system_heat" in out.extra:  # measured on the state (Bloch-Redfield baths)
        heat = out.extra["system_heat"][1]
    else:
        heat = moment_system_heat(problem, out.occupation, out.pair_coherence)
        if heat is None:
            return {}
    entropy = out.extra["entropy"][1]
    return {"entropy_production": (("time",), production(entropy, heat, temps, times)),
            "system_heat": (("bath", "time"), heat)}


def _check_scales(model: Model, times: NDArray[np.float64], options: SolverOptions) -> None:
    """The bounds a model file is checked against (:func:`qbattery.config.check_scales`),
    for the output times given here: refused with the field that sets them."""
    try:
        grid = TimeGrid.of(times)
    except ModelError as err:
        raise err.renamed("times") from None
    check_scales(Simulation(model, grid, options), method=options.method, memory=False)


def _check_finite(model: Model, times: NDArray[np.float64], arrays: dict[str, Any]) -> None:
    """A solve that produced a non-finite number stops here, naming where (never returned)."""
    for name, values in arrays.items():
        bad = ~np.isfinite(values)
        if np.any(bad):
            row, k = (int(x[0]) for x in np.nonzero(bad))
            what = model.names[row] if name in ("occupation", "amplitude", "ergotropy") \
                else f"{name} row {row}"
            raise IntegrationError(
                f"numerical failure: {name} of {what} is not finite at t = {times[k]:.6g}; "
                "nothing is returned (check the model's scales, or tighten rtol/atol)")
