"""The compiled kernels (hilbert/kernels.py): the Runge-Kutta combination against
NumPy, the threaded paths against the serial ones, and ``SolverOptions.threads``.

The packed right-hand side itself is checked against the dense master equation in
test_hilbert.py (both kernels, every size)."""

from __future__ import annotations

import numpy as np
import pytest

import qbattery as qb
from qbattery.hilbert import kernels
from qbattery.hilbert import lindblad as lindblad_module


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("outputs", [1, 3])
def test_combine_matches_numpy(threads: int, outputs: int,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    """out = coef @ W[rows] for 1-13 rows (groups of four, two and one), several
    chunks (n not a multiple of the chunk), one or three outputs."""
    monkeypatch.setattr(kernels, "PARALLEL_MIN_DIM", 0)
    rng = np.random.default_rng(7)
    n = 3 * kernels._CHUNK + 123
    w = rng.standard_normal((16, n))
    for count in (1, 2, 3, 5, 7, 9, 13):
        rows = np.sort(rng.choice(16, count, replace=False)).astype(np.int64)
        coef = rng.standard_normal((outputs, count))
        out = np.full((outputs, n), np.nan)
        kernels.combine(coef, w, rows, out, threads)
        np.testing.assert_allclose(out, coef @ w[rows], rtol=1e-13, atol=1e-13)
    with pytest.raises(ValueError, match="C-contiguous"):
        kernels.combine(coef, w, rows, np.empty((outputs, 2 * n))[:, ::2], threads)


def _catalyst_run(method: str, threads: int) -> qb.Result:
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 0.5)
    options = qb.SolverOptions(threads=threads, correlations=False)
    return qb.solve(model, np.linspace(0.0, 6.0, 7), method=method, options=options)


@pytest.mark.parametrize("method", ["fock", "displaced"])
def test_threads_give_the_serial_result(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """threads = 2 (every kernel on its threaded path, small sizes included) agrees with
    threads = 1 to rounding; the serial kernel agrees with SciPy's CSR path."""
    monkeypatch.setattr(kernels, "PARALLEL_MIN_DIM", 0)
    serial = _catalyst_run(method, 1)
    threaded = _catalyst_run(method, 2)
    monkeypatch.setattr(lindblad_module, "KERNEL", "numpy")
    csr = _catalyst_run(method, 1)
    for mode in ("charger", "catalyst", "battery"):
        for name in ("energy", "ergotropy"):
            ref = np.asarray(serial[mode][name])
            scale = float(np.abs(ref).max())
            for other in (threaded, csr):
                np.testing.assert_allclose(np.asarray(other[mode][name]), ref, rtol=0,
                                           atol=1e-11 * scale)
    assert float(np.asarray(serial["battery"]["energy"])[-1]) > 0.01


def test_engines_fall_back_when_the_kernels_cannot_load(monkeypatch: pytest.MonkeyPatch
                                                        ) -> None:
    """numba unable to load (simulated): one RuntimeWarning, then the NumPy/SciPy
    paths, with the compiled run's results."""
    import types

    from qbattery.hilbert import _compiled

    compiled = _catalyst_run("fock", 1)

    def broken(name: str, package: str | None = None) -> object:
        raise RuntimeError("cannot cache function: no locator available")

    _compiled.kernels.cache_clear()
    monkeypatch.setattr(_compiled, "importlib", types.SimpleNamespace(import_module=broken))
    try:
        with pytest.warns(RuntimeWarning, match="compiled kernels are unavailable"):
            fallback = _catalyst_run("fock", 1)
        assert _compiled.kernels() is None
    finally:
        monkeypatch.undo()
        _compiled.kernels.cache_clear()
    assert _compiled.kernels() is kernels
    for name in ("energy", "ergotropy"):
        ref = np.asarray(compiled["battery"][name])
        np.testing.assert_allclose(np.asarray(fallback["battery"][name]), ref, rtol=0,
                                   atol=1e-11 * float(np.abs(ref).max()))


@pytest.mark.parametrize("value", [0, -1, 1.5, True, "2"])
def test_threads_must_be_a_positive_integer(value: object) -> None:
    with pytest.raises(qb.ModelError, match="threads"):
        qb.SolverOptions(threads=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("offsets", [(-4, 4, 5), (-5, -4, 0, 1, 3), (0,), (-1, 0, 1, 2)])
def test_packed_rhs_matches_csr_on_any_diagonals(offsets: tuple[int, ...], threads: int,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """The compiled pass against SciPy's CSR products for generators on given diagonals
    (D = 6): two diagonals with no common range (-4, 4), an odd count, a lone one;
    a raising and a lowering jump; both halves on their own diagonals."""
    import scipy.sparse as sp

    from qbattery.hilbert import FockSpace, Lindblad, jumps

    monkeypatch.setattr(kernels, "PARALLEL_MIN_DIM", 0)
    rng = np.random.default_rng(11)
    d = 6
    model = qb.Model(modes=(qb.Mode("a", frequency=1.0),),
                     baths=(qb.Bath("a", 0.3, occupation=0.4),))
    lind = Lindblad(FockSpace.of(model, {"a": d}), jumps(model))
    assert {raising for _, _, raising in lind._shifts} == {True, False}
    halves = [sp.diags([rng.standard_normal(d - abs(o)) for o in offs], list(offs), (d, d))
              for offs in (offsets, offsets[::-1][:2])]
    stacked = sp.csr_matrix(sp.vstack(halves))
    m = rng.standard_normal((d, d))
    got = np.empty((d, d))
    kernels.Diagonals(stacked, lind._shifts).apply(m, stacked.data, np.empty((d, d)), got,
                                                   threads)
    ref = np.zeros((d, d))
    lind._apply_packed_kernel(m, stacked, ref)
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-13)


def test_using_threads_sets_once_and_restores() -> None:
    """using_threads sets numba's count for its body (an enclosing call with the same
    count makes the inner one a no-op) and restores the previous count after; what it
    set is per Python thread."""
    import threading

    import numba

    before = numba.get_num_threads()
    want = min(2, int(numba.config.NUMBA_NUM_THREADS))
    seen: list[int] = []
    with kernels.using_threads(2):
        assert numba.get_num_threads() == want
        with kernels.using_threads(2):
            assert numba.get_num_threads() == want
        assert numba.get_num_threads() == want
        other = threading.Thread(target=lambda: seen.append(kernels._active.threads))
        other.start()
        other.join()
    assert seen == [1]  # per Python thread, as numba's count is
    assert numba.get_num_threads() == before
    assert kernels._active.threads == 1
