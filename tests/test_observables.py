"""Ergotropy and correlations on states whose values are known exactly."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.linalg import expm

import qbattery as qb
from qbattery.observables import (
    logarithmic_negativity,
    mutual_information,
    partial_trace,
    von_neumann_entropy,
)

D = 100


def destroy(d: int) -> np.ndarray:
    return np.diag(np.sqrt(np.arange(1, d)), 1)


def displaced_thermal(alpha: complex, nbar: float, d: int = D) -> np.ndarray:
    big = d + 150
    a = destroy(big)
    p = (nbar / (1 + nbar)) ** np.arange(big) / (1 + nbar)
    disp = expm(alpha * a.conj().T - np.conj(alpha) * a)
    rho = disp @ np.diag(p) @ disp.conj().T
    return rho[:d, :d]


@pytest.mark.parametrize("n", [0, 1, 3, 7])
def test_fock_state_ergotropy_is_its_energy(n: int) -> None:
    rho = np.zeros((10, 10))
    rho[n, n] = 1.0
    assert qb.ergotropy(rho, 1.3) == pytest.approx(1.3 * n)


@pytest.mark.parametrize("nbar", [0.0, 0.4, 2.0])
def test_thermal_state_is_passive(nbar: float) -> None:
    assert qb.ergotropy(displaced_thermal(0, nbar), 1.0) == pytest.approx(0.0, abs=1e-10)


@pytest.mark.parametrize(("alpha", "nbar"), [(1.2 - 0.5j, 0.0), (0.8j, 0.7), (2.0, 1.5)])
def test_displaced_thermal_matches_gaussian_closed_form(alpha: complex, nbar: float) -> None:
    rho = displaced_thermal(alpha, nbar)
    exact = float(qb.gaussian_ergotropy(1.0, alpha, nbar))
    assert exact == pytest.approx(abs(alpha) ** 2)
    assert qb.ergotropy(rho, 1.0) == pytest.approx(exact, abs=1e-8)


def test_squeezed_vacuum_gaussian_ergotropy() -> None:
    """Squeezed vacuum: n = sinh^2 r, m = -e^{i phi} sinh r cosh r, pure => W = E."""
    r = 0.6
    n, m = math.sinh(r) ** 2, math.sinh(r) * math.cosh(r)
    assert float(qb.gaussian_ergotropy(1.0, 0.0, n, m)) == pytest.approx(n, rel=1e-12)


def test_qubit_ergotropy() -> None:
    assert qb.ergotropy(np.diag([0.0, 1.0]), 2.0, kind="qubit") == pytest.approx(2.0)
    assert qb.ergotropy(np.diag([0.3, 0.7]), 1.0, kind="qubit") == pytest.approx(0.4)
    assert qb.ergotropy(np.diag([0.7, 0.3]), 1.0, kind="qubit") == pytest.approx(0.0)
    plus = np.full((2, 2), 0.5)
    assert qb.ergotropy(plus, 1.0, kind="qubit") == pytest.approx(0.5)


def test_ergotropy_input_errors() -> None:
    with pytest.raises(ValueError, match="rho: expected a square matrix"):
        qb.ergotropy(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="dim: a qubit has 2 levels"):
        qb.ergotropy(np.eye(3) / 3, kind="qubit")


def test_correlations_of_product_and_bell_states() -> None:
    bell = np.zeros(4)
    bell[0] = bell[3] = 1 / math.sqrt(2)
    rho = np.outer(bell, bell)
    assert mutual_information(rho, (2, 2), 0, 1) == pytest.approx(2 * math.log(2))
    assert logarithmic_negativity(rho, (2, 2), 0, 1) == pytest.approx(math.log(2))
    prod = np.kron(np.diag([0.2, 0.8]), np.diag([0.6, 0.4]))
    assert mutual_information(prod, (2, 2), 0, 1) == pytest.approx(0.0, abs=1e-12)
    assert logarithmic_negativity(prod, (2, 2), 0, 1) == pytest.approx(0.0, abs=1e-12)
    three = np.kron(rho, np.diag([0.5, 0.5]))
    np.testing.assert_allclose(partial_trace(three, (2, 2, 2), (2,)), np.eye(2) / 2)
    assert von_neumann_entropy(np.eye(4) / 4) == pytest.approx(math.log(4))


def test_reductions_compute_each_reduced_state_once() -> None:
    """Reductions' states, spectra and entropies are partial_trace's, eigvalsh's and
    von_neumann_entropy's; each is computed once (the same array is returned); the
    negativity from Reductions equals the one from rho."""
    from qbattery.observables import Reductions

    rng = np.random.default_rng(5)
    dims = (3, 2, 4)
    psi = rng.standard_normal(24) + 1j * rng.standard_normal(24)
    psi /= np.linalg.norm(psi)
    rho = 0.9 * np.outer(psi, psi.conj()) + 0.1 * np.eye(24) / 24  # full rank, entangled
    red = Reductions(rho, dims)
    for keep in [(0,), (2,), (0, 2), (2, 1)]:
        ref = partial_trace(rho, dims, keep)
        np.testing.assert_allclose(red.state(keep), ref, atol=1e-15)
        assert red.state(keep) is red.state(keep)
        np.testing.assert_allclose(red.spectrum(keep), np.linalg.eigvalsh(ref), atol=1e-14)
        assert red.entropy(keep) == pytest.approx(von_neumann_entropy(ref), abs=1e-13)
    assert logarithmic_negativity(red, dims, 1, 2) == pytest.approx(
        logarithmic_negativity(rho, dims, 1, 2), abs=1e-14)
    assert logarithmic_negativity(red, dims, 1, 2) > 0.0


def test_reductions_of_the_packed_state_are_those_of_rho() -> None:
    """Reductions.packed(M): reduced states traced from the packed M (Tr_B M^T =
    (Tr_B M)^T), expectations from M, and rho unpacked only when asked for, all equal
    to those of rho itself."""
    import scipy.sparse as sp

    from qbattery.observables import Reductions, pack_hermitian, unpack_hermitian

    rng = np.random.default_rng(6)
    dims = (3, 2, 4)
    x = rng.standard_normal((24, 24)) + 1j * rng.standard_normal((24, 24))
    rho = x @ x.conj().T
    rho /= np.trace(rho)
    m = pack_hermitian(rho)
    np.testing.assert_allclose(unpack_hermitian(m), rho, atol=1e-15)
    packed, full = Reductions.packed(m, dims), Reductions(rho, dims)
    assert packed._rho is None
    for keep in [(0,), (1,), (2, 0), (0, 1, 2)]:
        np.testing.assert_allclose(packed.state(keep), full.state(keep), atol=1e-15)
        np.testing.assert_allclose(packed.spectrum(keep), full.spectrum(keep), atol=1e-14)
    op = sp.coo_matrix(rng.standard_normal((24, 24)) * (rng.random((24, 24)) < 0.2))
    assert packed.expect(op) == pytest.approx(np.trace(op.toarray() @ rho), abs=1e-14)
    assert full.expect(op) == pytest.approx(np.trace(op.toarray() @ rho), abs=1e-14)
    assert packed._rho is None  # nothing so far needed the full state
    np.testing.assert_allclose(packed.rho, rho, atol=1e-15)


def test_packed_trace_gives_each_operators_expectation() -> None:
    """PackedTrace(ops, D)(M) = [tr(op rho) for op in ops] from the packed M of rho, for
    complex non-Hermitian operators (a lowering one, a random sparse one), none at all,
    and a diagonal one (entries read twice, from M[c, r] and M[r, c])."""
    import scipy.sparse as sp

    from qbattery.observables import PackedTrace, pack_hermitian

    rng = np.random.default_rng(7)
    x = rng.standard_normal((12, 12)) + 1j * rng.standard_normal((12, 12))
    rho = x @ x.conj().T
    rho /= np.trace(rho)
    m = pack_hermitian(rho)
    lower = sp.coo_matrix(np.diag(np.sqrt(np.arange(1.0, 12)), 1))
    mask = rng.random((12, 12)) < 0.3
    rand = sp.coo_matrix((rng.standard_normal((12, 12)) + 1j) * mask)
    diag = sp.coo_matrix(np.diag(np.arange(12.0)))
    ops = [lower, rand, diag]
    got = PackedTrace(ops, 12)(m)
    want = [np.trace(op.toarray() @ rho) for op in ops]
    np.testing.assert_allclose(got, want, atol=1e-14)
    assert PackedTrace([], 12)(m).shape == (0,)
