"""The Bloch-Redfield master equation (``master_equation = "redfield"``; tests/README.md, 21)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.linalg as sla

import qbattery as qb
from qbattery.hilbert import FockSpace, Lindblad, rotating_hamiltonian
from qbattery.hilbert import redfield as hr
from qbattery.terms import compile_model
from qbattery.terms.redfield import redfield

RF = dict(master_equation="redfield")
TIGHT = dict(rtol=1e-10, atol=1e-12)


def network(g: float = 0.1, *, temperature: float | None = 0.5, occupation: float | None = None,
            drive: float = 0.0, frequencies: tuple[float, float, float] = (1.0, 1.05, 0.97),
            qubit_bath: float = 0.0, gamma: float = 0.05, density: str = "flat") -> qb.Model:
    """Charger - qubit - battery (detuned: no degenerate Bohr frequencies), bath on the
    charger (and optionally on the qubit), qubit excited at t = 0."""
    wa, wq, wb = frequencies
    bath: dict[str, object] = dict(occupation=occupation) if occupation is not None else \
        dict(temperature=temperature)
    bath["spectral_density"] = density
    baths = [qb.Bath("charger", gamma, **bath)]
    if qubit_bath:
        baths.append(qb.Bath("catalyst", qubit_bath, **bath))
    return qb.Model(
        modes=(qb.Mode("charger", "oscillator", wa), qb.Mode("catalyst", "qubit", wq, 1.0),
               qb.Mode("battery", "oscillator", wb)),
        couplings=(qb.Coupling(("charger", "catalyst"), g),
                   qb.Coupling(("battery", "catalyst"), g)),
        drives=(qb.Drive("charger", drive, 1.0),) if drive else (), baths=tuple(baths))


def space_of(model: qb.Model, cutoff: int) -> tuple[object, FockSpace]:
    problem, _ = redfield(compile_model(model))
    return problem, FockSpace.of(problem, {m.name: cutoff for m in model.modes
                                           if m.kind == "oscillator"})


# -- 1. reduction to the local equation ------------------------------------------------------
def test_lambda_is_local_for_a_white_flat_bath() -> None:
    """Flat J, occupation N at every frequency: Lambda_L = gamma (N+1) x/2,
    Lambda_R = gamma N x^dag/2."""
    problem, space = space_of(network(0.05, occupation=0.5, qubit_bath=0.03), 5)
    baths = hr.RedfieldBaths(problem, space, 1)
    assert baths.stats["redfield_crossings"] == 0
    for d, (gamma, n) in zip(baths.dissipators, [(0.05, 0.5), (0.03, 0.5)], strict=True):
        x = d.x.toarray()
        assert np.abs(d.matrix("lower").toarray() - 0.5 * gamma * (n + 1) * x).max() < 1e-13
        assert np.abs(d.matrix("upper").toarray() - 0.5 * gamma * n * x.T).max() < 1e-13


def test_white_flat_bath_equals_the_local_equation() -> None:
    """A qubit catalyst, driven, baths on charger and qubit given by occupation: the Fock
    results of "redfield" and "local" agree to ~1e-10 (heat included)."""
    m = dataclasses.replace(qb.catalytic_model(0.05, 0.05, 0.05, 0.05, 0.03, 0.5))
    t = np.linspace(0, 20, 21)
    opts = dict(method="fock", cutoff=10, truncation_tol=1e-3, **TIGHT)
    loc = qb.solve(m, t, options=qb.SolverOptions(**opts))
    rf = qb.solve(m, t, options=qb.SolverOptions(**opts, **RF))
    assert rf.stats["redfield_crossings"] == 0
    assert np.abs(rf.occupation - loc.occupation).max() < 1e-9
    assert np.abs(rf.amplitude - loc.amplitude).max() < 1e-9
    # the local heat formula assumes [x, x^dag] = 1: compare where the top level is empty
    assert np.abs(rf.heat - loc.heat)[:, :5].max() < 1e-9


# -- 2. against QuTiP ----------------------------------------------------------------------------
def _qutip_run(model: qb.Model, cutoff: int, t: np.ndarray, spectrum) -> np.ndarray:
    qt = pytest.importorskip("qutip")
    a = qt.tensor(qt.destroy(cutoff), qt.qeye(2), qt.qeye(cutoff))
    q = qt.tensor(qt.qeye(cutoff), qt.destroy(2), qt.qeye(cutoff))
    b = qt.tensor(qt.qeye(cutoff), qt.qeye(2), qt.destroy(cutoff))
    (wa, wq, wb), g = (m.frequency for m in model.modes), model.couplings[0].strength
    h0 = wa * a.dag() * a + wq * q.dag() * q + wb * b.dag() * b \
        + g * (a * q.dag() + a.dag() * q + b * q.dag() + b.dag() * q)
    energies = np.linalg.eigvalsh(h0.full())
    gaps = np.abs(energies[:, None] - energies[None, :])
    dw_min = gaps[gaps > 0].min()
    # QuTiP keeps R_abcd when |w_ab - w_cd| < sec_cutoff * dw_min (dw_min: the smallest
    # spacing of H's levels): a cutoff of omega = 1 keeps the terms of our equation
    # (|w_ab - w_cd| <~ 2 x the sectors' spread, 0.3 here) and drops those at ~2 omega.
    R = qt.bloch_redfield_tensor(h0, [(a + a.dag(), spectrum)], sec_cutoff=1.0 / dw_min,
                                 fock_basis=True)
    psi0 = qt.tensor(qt.basis(cutoff, 0), qt.basis(2, 1), qt.basis(cutoff, 0))
    if model.drives:
        f, w = model.drives[0].amplitude, model.drives[0].frequency
        def lv(op):  # -i [op, .] (qt.liouvillian would take op^dag on the right)
            return -1j * (qt.spre(op) - qt.spost(op))
        L = [R, [lv(f * a), lambda t: np.exp(1j * w * t)],
             [lv(f * a.dag()), lambda t: np.exp(-1j * w * t)]]
    else:
        L = R
    out = qt.mesolve(L, qt.ket2dm(psi0), t, e_ops=[a.dag() * a, q.dag() * q, b.dag() * b],
                     options={"atol": 1e-12, "rtol": 1e-10, "nsteps": 100000})
    return np.array(out.expect).real


@pytest.mark.parametrize("drive", [0.0, 0.02])
def test_against_qutip_brmesolve_tensor(drive: float) -> None:
    """Lab-frame QuTiP Bloch-Redfield tensor (sec_cutoff dropping the 2 omega terms) with
    the drive added, against our rotating frame: occupations to 1e-7 (integrator
    tolerances; the two equations are the same here: no crossings)."""
    T, gamma = 0.5, 0.05
    model = network(0.1, temperature=T, drive=drive, gamma=gamma)
    t = np.linspace(0, 40, 9)
    cutoff = 3

    def spectrum(w: float) -> float:
        if w == 0:
            return 0.0
        n = 1.0 / np.expm1(abs(w) / T)
        return gamma * (n + 1.0) if w > 0 else gamma * n

    ref = _qutip_run(model, cutoff, t, spectrum)
    rf = qb.solve(model, t, options=qb.SolverOptions(method="fock", cutoff=cutoff,
                                                     truncation_tol=0.5, **TIGHT, **RF))
    assert rf.stats["redfield_crossings"] == 0
    assert np.abs(rf.occupation - ref).max() < 1e-7
    loc = qb.solve(model, t, options=qb.SolverOptions(method="fock", cutoff=cutoff,
                                                      truncation_tol=0.5, **TIGHT))
    assert np.abs(loc.occupation - ref).max() > 1e-4  # the comparison can tell them apart


# -- 3. Gibbs state ------------------------------------------------------------------------------
def _steady_state(model: qb.Model, equation: str, cutoff: int) -> tuple[np.ndarray, np.ndarray]:
    """(steady state, Gibbs state of H0 at the bath temperature) on the truncated space."""
    base = compile_model(model)
    problem = redfield(base)[0] if equation == "redfield" else base
    space = FockSpace.of(problem, {"charger": cutoff, "battery": cutoff})
    baths = hr.RedfieldBaths(problem, space, 1)
    lind = Lindblad(space, problem.jumps(), extra=baths.dissipators)
    h = rotating_hamiltonian(problem, space).static
    dim = space.size
    cols = []
    for k in range(dim * dim):
        e = np.zeros(dim * dim, dtype=complex)
        e[k] = 1.0
        rho = e.reshape(dim, dim)
        # the right-hand side is linear on Hermitian matrices: split E_k into two of them
        herm, anti = 0.5 * (rho + rho.T), 0.5j * (rho.T - rho)
        cols.append((lind.rhs(herm, h) + 1j * lind.rhs(anti, h)).ravel())
    L = np.array(cols).T
    null = sla.null_space(L, rcond=1e-12)
    assert null.shape[1] == 1
    ss = null[:, 0].reshape(dim, dim)
    ss = ss / np.trace(ss)
    h0 = hr.undriven_hamiltonian(problem, space).toarray()
    gibbs = sla.expm(-h0 / 0.5)
    return ss, gibbs / np.trace(gibbs)


def test_undriven_steady_state_is_gibbs() -> None:
    """Redfield: the steady state is the Gibbs state of H0 exactly, at every gamma (KMS:
    S(-w) = exp(-w/T) S(w) gives Lambda rho_G = rho_G Lambda^dag, so D_b rho_G = 0; no Lamb
    shift). The brief expected a distance falling like gamma: it is zero. The local
    equation's distance does not fall with gamma (0.078 here)."""
    dist = {}
    for eq in ("redfield", "local"):
        for gamma in (0.01, 0.005, 0.0025):
            ss, gibbs = _steady_state(network(0.1, gamma=gamma), eq, 3)
            dist[eq, gamma] = np.abs(np.linalg.eigvalsh(ss - gibbs)).sum()
    assert all(dist["redfield", g] < 1e-12 for g in (0.01, 0.005, 0.0025)), dist
    assert dist["local", 0.0025] > 5e-2
    assert abs(dist["local", 0.0025] / dist["local", 0.01] - 1) < 0.05, dist


# -- 4. oscillators: redfield vs global (secular) -------------------------------------------------
def test_oscillators_redfield_tends_to_global_as_gamma_over_spacing_falls() -> None:
    """Bare model (normal modes 0.8, 1.2: spacing 0.4), thermal bath on the charger, the
    charger displaced at t = 0: the difference of the occupations over a window 2/gamma
    is O(gamma / spacing) and halves with gamma."""
    diff = {}
    for gamma in (0.02, 0.01):
        m = qb.Model(modes=(qb.Mode("charger", initial_amplitude=0.5), qb.Mode("battery")),
                     couplings=(qb.Coupling(("charger", "battery"), 0.2),),
                     baths=(qb.Bath("charger", gamma, temperature=0.5,
                                    spectral_density="ohmic"),))
        t = np.linspace(0, 2 / gamma, 41)
        opts = dict(method="fock", cutoff=10, truncation_tol=1e-5, **TIGHT)
        rf = qb.solve(m, t, options=qb.SolverOptions(**opts, **RF))
        gl = qb.solve(m, t, options=qb.SolverOptions(**opts, master_equation="global"))
        diff[gamma] = np.abs(rf.occupation - gl.occupation).max()
    assert diff[0.02] < 0.05 * 0.02 / 0.4 * 10, diff
    assert 1.6 < diff[0.02] / diff[0.01] < 2.4, diff


# -- 5. invariants -------------------------------------------------------------------------------
@pytest.mark.slow
def test_trace_hermitian_and_energy_balance() -> None:
    """Driven qubit catalyst with a thermal bath: the final state has trace 1 and is
    Hermitian and positive; the local-energy balance closes (finite differences against
    power_balance); undriven, the heat into the system integrates to the change of <H0>."""
    m = network(0.2, temperature=0.8, drive=0.05, frequencies=(1.0, 1.0, 1.0), qubit_bath=0.02,
                density="ohmic")  # a flat density at T > 0 is refused here (rate ~ T / w)
    t = np.linspace(0, 30, 601)
    r = qb.solve(m, t, options=qb.SolverOptions(method="fock", **TIGHT, **RF))
    rho = r.final_state.rho
    assert abs(np.trace(rho) - 1) < 1e-9
    assert np.abs(rho - rho.conj().T).max() < 1e-12
    # Bloch-Redfield is not completely positive: its smallest eigenvalue here is -9.4e-8
    # (measured), within the equation's own accuracy; the engine stops below -1e-6
    assert np.linalg.eigvalsh(rho).min() > -1e-6
    de = np.gradient(r.energy.sum(0), t, edge_order=2)
    assert np.abs(de - r.power_balance())[2:-2].max() < 1e-4
    assert "system_heat" in r.extra

    m0 = dataclasses.replace(m, drives=())
    r0 = qb.solve(m0, t, options=qb.SolverOptions(method="fock", cutoff=12, **TIGHT, **RF))
    problem, space = space_of(m0, 12)
    h0 = hr.undriven_hamiltonian(problem, space).toarray()
    rho0 = np.zeros_like(r0.final_state.rho)
    rho0[np.flatnonzero(space.levels[1] == 1)[0], np.flatnonzero(space.levels[1] == 1)[0]] = 1
    change = np.real(np.trace(h0 @ r0.final_state.rho) - np.trace(h0 @ rho0))
    heat = r0.extra["system_heat"][1].sum(0)
    integral = float(np.sum(0.5 * (heat[1:] + heat[:-1]) * np.diff(t)))
    assert abs(integral - change) < 1e-4 * abs(change)


def test_auto_picks_fock_and_stats_are_kept() -> None:
    m = network(0.1, drive=0.01)
    r = qb.solve(m, np.linspace(0, 2, 3), options=qb.SolverOptions(**RF))
    assert r.method == "fock"
    assert r.options.master_equation == "redfield"
    for key in ("redfield_bohr_frequencies", "redfield_min_spacing", "redfield_max_rate",
                "redfield_crossings", "redfield_largest_sector"):
        assert key in r.stats
    assert r.to_xarray().attrs["redfield_bohr_frequencies"] > 0


# -- 6. refusals ---------------------------------------------------------------------------------
def _one_line(err: pytest.ExceptionInfo) -> str:
    text = str(err.value)
    assert "\n" not in text
    return text


@pytest.mark.parametrize("method, words", [
    ("gaussian", "RedfieldBath; its jumps in the eigenbasis of H0 are not linear"),
    ("displaced", "displaced frame cannot carry its non-linear jumps"),
])
def test_engines_without_density_refuse_by_name(method: str, words: str) -> None:
    m = qb.Model(modes=(qb.Mode("charger"), qb.Mode("battery")),
                 couplings=(qb.Coupling(("charger", "battery"), 0.2),),
                 drives=(qb.Drive("charger", 0.1),), baths=(qb.Bath("charger", 0.05),))
    with pytest.raises(qb.UnsupportedMethodError) as err:
        qb.solve(m, [0, 1], method=method, options=qb.SolverOptions(**RF))
    assert words in _one_line(err)


def test_refusals_name_the_field() -> None:
    base = network(0.1, drive=0.01)
    t = [0.0, 1.0]
    dipole = dataclasses.replace(base, couplings=(
        qb.Coupling(("charger", "catalyst"), 0.1, form="dipole"), base.couplings[1]))
    with pytest.raises(qb.ModelError) as err:
        qb.solve(dipole, t, options=qb.SolverOptions(**RF))
    assert "master_equation" in _one_line(err) and "couplings[0] (Dipole" in str(err.value)
    windowed = dataclasses.replace(base, couplings=(
        qb.Coupling(("charger", "catalyst"), 0.1, envelope=qb.Window(0, 5)),
        base.couplings[1]))
    with pytest.raises(qb.ModelError, match=r"master_equation.*couplings\[0\].*envelope"):
        qb.solve(windowed, t, options=qb.SolverOptions(**RF))
    dephased = dataclasses.replace(base, dephasing=(qb.Dephasing("catalyst", 0.01),))
    with pytest.raises(qb.ModelError, match=r"master_equation.*dephasing\[0\].*not a local"):
        qb.solve(dephased, t, options=qb.SolverOptions(**RF))
    with pytest.raises(qb.ModelError, match=r"master_equation.*use master_equation = "
                                            r"\"redfield\""):
        qb.solve(base, t, options=qb.SolverOptions(master_equation="global"))


def test_too_large_a_sector_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hr, "MAX_SECTOR", 5)
    with pytest.raises(qb.ModelError) as err:
        qb.solve(network(0.1), [0.0, 1.0], options=qb.SolverOptions(method="fock", cutoff=4,
                                                                      **RF))
    assert "master_equation" in _one_line(err) and "sector of 7 states (limit 5)" in str(err.value)


def test_flat_density_at_a_temperature_with_small_bohr_frequencies_is_refused() -> None:
    """The paper's qubit catalyst at N(1) = 1: the dressed ladder has Bohr frequencies near
    0, where a flat density's S(w) = rate (N(w) + 1) ~ rate T / w (1600x the rate at
    omega); refused naming the bath's spectral_density; the ohmic density is taken."""
    m = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 1.0)
    opts = qb.SolverOptions(method="fock", cutoff={"charger": 28, "battery": 19}, **RF)
    flat = dataclasses.replace(m, baths=(qb.Bath("charger", 0.05, temperature=1 / np.log(2)),))
    with pytest.raises(qb.ModelError) as err:
        qb.solve(flat, [0.0, 0.5], options=opts)
    assert _one_line(err).startswith("baths[0].spectral_density:") and "ohmic" in str(err.value)
    ohmic = dataclasses.replace(m, baths=(qb.Bath("charger", 0.05, temperature=1 / np.log(2),
                                      spectral_density="ohmic"),))
    r = qb.solve(ohmic, [0.0, 0.5], options=opts)
    assert r.stats["redfield_max_rate"] < 10 * 0.05 * 2


def test_toml_accepts_redfield() -> None:
    sim = qb.loads_toml("""
[[modes]]
name = "charger"
[[modes]]
name = "q"
kind = "qubit"
[[couplings]]
between = ["charger", "q"]
strength = 0.1
[[baths]]
mode = "charger"
rate = 0.05
temperature = 0.5
[time]
stop = 1.0
points = 3
[solver]
master_equation = "redfield"
""")
    assert sim.solver.master_equation == "redfield"
