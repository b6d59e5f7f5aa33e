"""Building blocks of the density-matrix engines against dense, independent formulas."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg as sla
import scipy.sparse as sp

import qbattery as qb
from qbattery.errors import ModelError
from qbattery.hilbert import (
    FockSpace,
    Lindblad,
    displaced_thermal,
    initial_state,
    jump_operator,
    jumps,
    levels_needed,
    number_distribution,
    pack_hermitian,
    plan_cutoffs,
    rotating_hamiltonian,
    unpack_hermitian,
)
from qbattery.hilbert.integrate import STABILITY_RADIUS, STABILITY_RECTANGLE, stable_step


def _random_state(dim: int, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(dim, dim)) + 1j * rng.normal(size=(dim, dim))
    rho = x @ x.conj().T
    return rho / np.trace(rho)


def _dense_network(model: qb.Model, dims: tuple[int, ...], t: float
                   ) -> tuple[np.ndarray, list[np.ndarray]]:
    """H(t) and collapse operators written directly from the model's equations (dense)."""
    def low(d: int) -> np.ndarray:
        return np.diag(np.sqrt(np.arange(1.0, d)), 1)

    def emb(op: np.ndarray, i: int) -> np.ndarray:
        out = np.ones((1, 1))
        for k, d in enumerate(dims):
            out = np.kron(out, op if k == i else np.eye(d))
        return out

    x = [emb(low(d), i) for i, d in enumerate(dims)]
    wr = model.frame_frequency
    h = sum((m.frequency - wr) * x[i].T @ x[i] for i, m in enumerate(model.modes))
    for c in model.couplings:
        i, j = model.index(c.between[0]), model.index(c.between[1])
        h = h + c.strength * (x[i] @ x[j].T + x[i].T @ x[j])
    h = h.astype(complex)
    for d in model.drives:
        k = model.index(d.mode)
        ph = np.exp(1j * (d.frequency - wr) * t)  # F (e^{i delta t} x + h.c.)
        h = h + d.amplitude * (ph * x[k] + np.conj(ph) * x[k].T)
    cs = []
    for b in model.baths:
        k = model.index(b.mode)
        n = b.occupation_at(model.modes[k].frequency)
        cs.append(np.sqrt(b.rate * (n + 1)) * x[k])
        if n > 0:
            cs.append(np.sqrt(b.rate * n) * x[k].T)
    return h, cs


def _rich_model() -> qb.Model:
    """Detuned modes, a thermal qubit bath, a second drive at another frequency."""
    return qb.Model(
        modes=(qb.Mode("charger", frequency=1.0), qb.Mode("catalyst", "qubit", 1.1),
               qb.Mode("battery", frequency=0.95)),
        couplings=(qb.Coupling(("charger", "catalyst"), 0.2),
                   qb.Coupling(("battery", "catalyst"), 0.3)),
        drives=(qb.Drive("charger", 0.1, 1.0), qb.Drive("battery", 0.07, 1.2)),
        baths=(qb.Bath("charger", 0.05, occupation=0.7), qb.Bath("catalyst", 0.03, occupation=0.4),
               qb.Bath("battery", 0.02, temperature=0.8)),
    )


def test_qubit_lowering_is_sigma_minus() -> None:
    space = FockSpace(("q",), ("qubit",), (2,))
    np.testing.assert_array_equal(space.lowering(0).toarray(), [[0, 1], [0, 0]])


@pytest.mark.parametrize(("t", "cutoffs"), [(0.0, (4, 3)), (3.7, (4, 3)), (3.7, (13, 11))],
                         ids=["static", "driven", "blocked-path"])
def test_lindblad_rhs_matches_dense_master_equation(t: float, cutoffs: tuple[int, int]) -> None:
    """Dimension 24, and 286 (> 256: the cache-blocked code path of Lindblad.apply)."""
    model = _rich_model()
    space = FockSpace.of(model, {"charger": cutoffs[0], "battery": cutoffs[1]})
    ham = rotating_hamiltonian(model, space)
    lind = Lindblad(space, jumps(model))
    rho = _random_state(space.size)
    h, cs = _dense_network(model, space.dims, t)
    ref = -1j * (h @ rho - rho @ h)
    for c in cs:
        cd = c.conj().T
        ref += c @ rho @ cd - 0.5 * (cd @ c @ rho + rho @ cd @ c)
    np.testing.assert_allclose(ham.at(t).toarray(), h, atol=1e-14)
    np.testing.assert_allclose(lind.rhs(rho, ham.at(t)), ref, atol=1e-13)
    ops = [jump_operator(space, j).toarray() for j in jumps(model)]
    assert len(ops) == len(cs)
    for a, b in zip(ops, cs, strict=True):
        np.testing.assert_allclose(a, b, atol=1e-14)


@pytest.mark.parametrize("kernel", ["numba", "numpy"])
@pytest.mark.parametrize(("t", "levels"), [(0.0, (4, 5)), (3.7, (4, 5)), (3.7, (12, 13))])
def test_packed_lindblad_matches_dense_master_equation(t: float, levels: tuple[int, int],
                                                       kernel: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """Lindblad.apply_packed (real storage M = Re rho + Im rho) against the dense master
    equation, with a complex, time-dependent Hamiltonian (diagonals in both Re G and Im G,
    raising and lowering jumps on three modes), by both kernels: the compiled pass by
    diagonals and SciPy's CSR products (at D = 312 their large-space path: products
    accumulated in place, blocked transposes and jumps); and the Fock engine's
    PackedGenerator (separate Re / Im patterns)."""
    from qbattery.hilbert import lindblad as lindblad_module
    from qbattery.solvers.fock import PackedGenerator

    monkeypatch.setattr(lindblad_module, "KERNEL", kernel)
    model = _rich_model()
    space = FockSpace.of(model, {"charger": levels[0], "battery": levels[1]})
    lind = Lindblad(space, jumps(model))
    rho = _random_state(space.size, seed=5)
    h, cs = _dense_network(model, space.dims, t)
    ref = -1j * (h @ rho - rho @ h)
    for c in cs:
        cd = c.conj().T
        ref += c @ rho @ cd - 0.5 * (cd @ c @ rho + rho @ cd @ c)
    gen = lind.generator(rotating_hamiltonian(model, space).at(t)).tocsr()
    assert np.abs(gen.data.imag).max() > 0 and np.abs(gen.data.real).max() > 0
    stacked = sp.vstack([gen.real, gen.imag]).tocsr()
    m = pack_hermitian(rho)
    assert m.dtype == np.float64
    np.testing.assert_allclose(unpack_hermitian(m), rho, atol=1e-16)
    np.testing.assert_allclose(unpack_hermitian(lind.apply_packed(m, stacked)), ref, atol=1e-13)
    packed = PackedGenerator(rotating_hamiltonian(model, space), lind).at(t)
    np.testing.assert_allclose(packed.toarray(), stacked.toarray(), atol=1e-15)
    assert packed.nnz < stacked.nnz
    np.testing.assert_allclose(unpack_hermitian(lind.apply_packed(m, packed)), ref, atol=1e-13)
    if kernel == "numba":
        assert lind._diagonals is not None and lind._diagonals.fill_ratio > 0.5


def test_packed_kernel_keeps_csr_for_scattered_generators(monkeypatch: pytest.MonkeyPatch
                                                           ) -> None:
    """A generator whose entries scatter over many diagonals (fill below
    kernels.MIN_FILL) takes the CSR path, with the same result; the compiled pass and
    the CSR path agree on a random state to rounding, also after the matrix's values
    change in place (the diagonals are refilled from the same pattern)."""
    from qbattery.hilbert import kernels

    model = _rich_model()
    space = FockSpace.of(model, {"charger": 6, "battery": 5})
    lind = Lindblad(space, jumps(model))
    d = space.size
    rng = np.random.default_rng(3)
    m = rng.standard_normal((d, d))
    scattered = sp.random(2 * d, d, density=0.05, random_state=4, format="csr")
    assert kernels.Diagonals(scattered, []).fill_ratio < kernels.MIN_FILL
    got = lind.apply_packed(m, scattered)
    assert lind._diagonals is not None and lind._diagonals.fill_ratio < kernels.MIN_FILL
    ref = np.zeros((d, d))
    lind._apply_packed_kernel(m, scattered, ref)
    np.testing.assert_array_equal(got, ref)
    gen = lind.generator(rotating_hamiltonian(model, space).at(1.3)).tocsr()
    stacked = sp.vstack([gen.real, gen.imag]).tocsr()
    for scale in (1.0, -2.5):
        stacked.data *= scale
        got = lind.apply_packed(m, stacked)
        lind._apply_packed_kernel(m, stacked, ref)
        np.testing.assert_allclose(got, ref, rtol=0, atol=1e-14 * np.abs(ref).max())


def test_dop853_stability_constants() -> None:
    """The half-disc and rectangle of integrate.STABILITY_* lie in DOP853's stability
    region |R(z)| <= 1, R(z) = 1 + z b^T (I - z A)^-1 1 from SciPy's own tableau, and
    the imaginary axis leaves it just beyond (so the rectangle is not loose)."""
    from scipy.integrate._ivp import dop853_coefficients as tab

    a, b = tab.A[:12, :12], tab.B
    eye, ones = np.eye(12), np.ones(12)

    def growth(z: complex) -> float:
        return float(abs(1 + z * b @ np.linalg.solve(eye - z * a, ones)))

    r = STABILITY_RADIUS["DOP853"]
    x, y = STABILITY_RECTANGLE["DOP853"]
    disc = [r * np.exp(1j * phi) * s for phi in np.linspace(np.pi / 2, 3 * np.pi / 2, 121)
            for s in (0.25, 0.5, 0.75, 1.0)]
    box = [complex(-u, v) for u in np.linspace(0, x, 31) for v in np.linspace(-y, y, 117)]
    assert max(growth(z) for z in disc + box) <= 1 + 1e-12
    assert growth(6.1j) > 1.0
    # the step is the longer of the two: a thin rectangle (little damping) gets 5.8 / spread
    assert stable_step(2.0, 0.1) == pytest.approx(max(r / 2.1, min(y / 2.0, x / 0.1)))
    assert stable_step(0.0, 0.0) == float("inf")


def test_truncated_lindbladian_preserves_trace_and_hermiticity() -> None:
    model = _rich_model()
    space = FockSpace.of(model, {"charger": 5, "battery": 4})
    lind = Lindblad(space, jumps(model))
    rho = _random_state(space.size, seed=3)
    d = lind.rhs(rho, rotating_hamiltonian(model, space).at(1.3))
    assert abs(np.trace(d)) < 1e-14
    np.testing.assert_allclose(d, d.conj().T, atol=1e-15)


@pytest.mark.parametrize(("amp", "occ"), [(0.0, 0.0), (2.0 - 1.0j, 0.0), (0.0, 1.3),
                                          (1.5 + 0.5j, 0.6)])
def test_displaced_thermal_state_and_its_number_distribution(amp: complex, occ: float) -> None:
    """The exact Laguerre formula against D(alpha) rho_th D(alpha)^dag built in a big space."""
    big = 160
    a = np.diag(np.sqrt(np.arange(1.0, big)), 1)
    r = occ / (1 + occ)
    rho = np.diag((1 - r) * r ** np.arange(big)).astype(complex)
    disp = sla.expm(amp * a.T - np.conj(amp) * a)
    ref = disp @ rho @ disp.conj().T
    p = number_distribution(abs(amp) ** 2, occ, 40)
    np.testing.assert_allclose(p, np.real(np.diag(ref))[:40], rtol=1e-8, atol=1e-15)
    d = 30
    state = displaced_thermal(occ, amp, d)
    assert np.trace(state).real == pytest.approx(1.0, abs=1e-14)
    np.testing.assert_allclose(state, ref[:d, :d] / np.trace(ref[:d, :d]).real, atol=1e-12)
    # moments of the untruncated state
    if occ < 1:
        m = np.arange(d)
        assert state.diagonal().real @ m == pytest.approx(abs(amp) ** 2 + occ, rel=1e-6)
        assert np.sqrt(np.arange(1.0, d)) @ np.diagonal(state, -1) == pytest.approx(amp, abs=1e-6)


def test_levels_needed_is_the_smallest_safe_cutoff() -> None:
    tol = 1e-7
    d = levels_needed(4.0, 0.5, tol, 120)
    p = number_distribution(4.0, 0.5, 120)
    assert np.all(p[d - 1:] <= tol)
    assert p[d - 2] > tol
    assert levels_needed(1e4, 0.0, tol, 50) == 50  # capped at max_levels


def test_initial_state_is_the_product_state() -> None:
    model = qb.Model(modes=(qb.Mode("a", initial_occupation=0.3, initial_amplitude=0.5j),
                            qb.Mode("q", "qubit", initial_occupation=0.25)))
    space = FockSpace.of(model, {"a": 12})
    rho = initial_state(model, space)
    np.testing.assert_allclose(rho, np.kron(displaced_thermal(0.3, 0.5j, 12),
                                            np.diag([0.75, 0.25])), atol=1e-15)


def test_cutoff_plan_validates_the_table() -> None:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    assert plan_cutoffs(model, "auto").auto == ("charger", "battery")
    plan = plan_cutoffs(model, {"battery": 7, "catalyst": 2})
    assert plan.fixed == {"battery": 7} and plan.auto == ("charger",)
    with pytest.raises(ModelError, match=r"cutoff\.batery: unknown mode 'batery'"):
        plan_cutoffs(model, {"batery": 7})
    with pytest.raises(ModelError, match=r"cutoff\.catalyst: 'catalyst' is a qubit"):
        plan_cutoffs(model, {"catalyst": 3})


def test_integrate_reports_outputs_before_the_step_that_covers_them() -> None:
    """on_step(t) comes after every output <= t (a caller may resume from that step),
    and the outputs match the exact solution of y' = i y."""
    from qbattery.hilbert import integrate

    events: list[tuple[str, float]] = []
    times = np.linspace(0.0, 10.0, 23)
    values = np.zeros(times.size, dtype=complex)

    def on_output(k: int, t: float, y: np.ndarray) -> None:
        events.append(("output", t))
        values[k] = y[0]

    stats = integrate(lambda t, y: 1j * y, np.array([1.0 + 0j]), times, rtol=1e-10, atol=1e-12,
                      on_output=on_output, on_step=lambda t, y: events.append(("step", t)),
                      first_step=0.3)
    np.testing.assert_allclose(values, np.exp(1j * times), atol=1e-8)
    steps = [t for kind, t in events if kind == "step"]
    assert len(steps) == stats["steps"] > 1
    for i, (kind, t) in enumerate(events):
        if kind == "step":
            later = [u for k2, u in events[i + 1:] if k2 == "output"]
            assert all(u > t for u in later)


def test_embed_is_the_kronecker_product_with_identities() -> None:
    """FockSpace.embed(op, i) = 1 (x) op (x) 1 (built without SciPy's kron) for a complex
    operator with an explicit duplicate entry, on every mode of a 3 x 2 x 4 space; and
    AffineSparse built on it gives the generator it was given."""
    from qbattery.solvers.displaced_terms import AffineSparse

    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05)
    space = FockSpace.of(model, {"charger": 3, "battery": 4})
    rng = np.random.default_rng(3)
    ops = []
    for i, d in enumerate(space.dims):
        dense = (rng.standard_normal((d, d)) + 1j * rng.standard_normal((d, d))) \
            * (rng.random((d, d)) < 0.6)
        coo = sp.coo_matrix(dense)
        dup = sp.coo_matrix((np.r_[coo.data, 0.5], (np.r_[coo.row, 0], np.r_[coo.col, 0])),
                            shape=(d, d))  # (0, 0) stored twice: summed
        before, after = int(np.prod(space.dims[:i])), int(np.prod(space.dims[i + 1:]))
        want = np.kron(np.kron(np.eye(before), dup.toarray()), np.eye(after))
        got = space.embed(dup, i)
        np.testing.assert_allclose(got.toarray(), want, atol=1e-15)
        ops.append(got)
    base = ops[0] + 1j * ops[1].T
    gen = AffineSparse(base, ops[1:]).at(np.array([0.3 - 0.2j, -1.1j]))
    full = (base + (0.3 - 0.2j) * ops[1] - 1.1j * ops[2]).toarray()
    dim = space.size
    np.testing.assert_allclose(gen.toarray()[:dim], full.real, atol=1e-15)
    np.testing.assert_allclose(gen.toarray()[dim:], full.imag, atol=1e-15)
