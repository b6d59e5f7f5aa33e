"""Issue 17's "exponential propagation" idea, measured: a Chebyshev propagator for the
static Fock-space generator against the Fock engine's DOP853 (same right-hand side).

In the rotating frame the generator L of the qubit catalyst (``fock`` problem of
``rk_driver.py``: N = 0, cutoff 24, D = 1152, 51 times to t = 50) does not depend on
time. Its spectrum lies in the thin rectangle -decay <= Re z <= 0, |Im z| <= spread
(``hilbert.integrate.stable_step``). With Y = (L - c) / R, c = -decay / 2 and
R >= spread, the spectrum of Y lies near [-i, i], and

    exp(t L) v = exp(c t) [J_0(R t) v + 2 sum_{k>=1} J_k(R t) S_k(Y) v],
    S_0 = 1, S_1 = Y, S_{k+1} = 2 Y S_k + S_{k-1}

(S_k(Y) = i^k T_k(-i Y): the Chebyshev expansion of exp(i x theta) with x = -i Y, in
real arithmetic, so the packed real state stays real). One expansion serves every
output time inside a step (each with its own Bessel coefficients J_k(R t_j)); the
vectors S_k v are kept in blocks and combined with one matrix product per block.
The expansion stops where the remaining coefficients, grown by the ellipse that holds
the damping (rho^k, rho = a + sqrt(1 + a^2), a = decay / (2 R)), fall below ``--tol``.

    OPENBLAS_NUM_THREADS=1 python benchmarks/chebyshev_fock.py --threads 2 --span 10

Prints the right-hand sides and the time of each method and the largest difference
of the battery's occupation from a tight DOP853 run (rtol 1e-11, atol 1e-13).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy.special import jv
from threadpoolctl import threadpool_limits

import qbattery as qb
from qbattery.hilbert import (
    FockSpace,
    Lindblad,
    initial_state,
    pack_hermitian,
    rotating_hamiltonian,
)
from qbattery.hilbert._compiled import kernels
from qbattery.hilbert.integrate import integrate
from qbattery.solvers.fock import PackedGenerator
from qbattery.terms import compiled

G, F, GAMMA = 0.2, 0.1, 0.05


def setup(cutoff: int, threads: int):
    model = qb.catalytic_model(G, G, F, GAMMA, catalyst="qubit")
    problem = compiled(model)
    space = FockSpace.of(problem, {"charger": cutoff, "battery": cutoff})
    ham = rotating_hamiltonian(problem, space)
    lind = Lindblad(space, problem.jumps(), threads=threads)
    gen = PackedGenerator(ham, lind)
    assert gen.static is not None, "the generator must be static"
    dim = space.size
    count = [0, 0.0]  # right-hand sides, seconds in them

    def fun(t, y, out):
        start = time.perf_counter()
        lind.apply_packed(y.reshape(dim, dim), gen.static, out=out.reshape(dim, dim))
        count[0] += 1
        count[1] += time.perf_counter() - start

    y0 = pack_hermitian(initial_state(problem, space)).ravel()
    return space, fun, y0, ham.spread(), lind.max_decay, count


def battery_n(y, space):
    dim = space.size
    p = np.diagonal(y.reshape(dim, dim)).reshape(space.dims)
    i = space.names.index("battery")
    marg = p.sum(axis=tuple(k for k in range(len(space.dims)) if k != i))
    return float(np.arange(marg.size) @ marg)


def degree(theta: float, rho: float, tol: float) -> int:
    """Fewest terms m past which 2 |J_k(theta)| rho^k < tol (checked for two in a row)."""
    m = int(theta) + 8
    while max(2 * abs(jv(k, theta)) * rho ** k for k in (m, m + 1)) > tol:
        m += 1
    return m


def chebyshev(fun, y0, times, spread, decay, *, span, tol, block=16):
    """exp(t L) y0 at ``times`` (equally spaced from 0), ``span`` outputs per expansion."""
    n = y0.size
    c = -decay / 2
    radius = spread * 1.02 + decay / 2
    a = decay / (2 * radius)
    rho = a + np.sqrt(1 + a * a)
    lv = np.empty(n)

    def apply_y(x):  # Y x = (L x - c x) / R
        fun(0.0, x, lv)
        return (lv - c * x) / radius

    out, v, t0, k0 = [y0.copy()], y0.copy(), times[0], 1
    while k0 < times.size:
        ts = times[k0:k0 + span] - t0
        m = degree(radius * ts[-1], rho, tol)
        coef = 2 * jv(np.arange(m + 1)[None, :], radius * ts[:, None]) * np.exp(c * ts)[:, None]
        coef[:, 0] /= 2
        acc = np.zeros((ts.size, n))
        blk = np.empty((block, n))
        prev, cur = v, apply_y(v)  # S_0 v, S_1 v
        blk[0], blk[1], filled, first = prev, cur, 2, 0
        for k in range(2, m + 2):
            if filled == block or k == m + 1:
                acc += coef[:, first:first + filled] @ blk[:filled]
                first, filled = first + filled, 0
            if k == m + 1:
                break
            prev, cur = cur, 2 * apply_y(cur) + prev  # S_k v
            blk[filled] = cur
            filled += 1
        out.extend(acc)
        v, t0 = acc[-1].copy(), times[k0 + ts.size - 1]
        k0 += ts.size
    return out


def dop853(fun, y0, times, space, rtol, atol, threads):
    """The battery's occupation at ``times`` from our DOP853 (no step cap)."""
    got: list[float] = []
    integrate(fun, y0.copy(), times, rtol=rtol, atol=atol, inplace=True,
              on_output=lambda k, t, y: got.append(battery_n(y, space)), method="DOP853",
              threads=threads)
    return np.array(got)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoff", type=int, default=24)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--span", type=int, nargs="+", default=[5, 10, 25])
    parser.add_argument("--tol", type=float, default=1e-11)
    args = parser.parse_args()
    times = np.linspace(0, 50, 51)
    space, fun, y0, spread, decay, count = setup(args.cutoff, args.threads)
    print(f"D = {space.size}, spread {spread:.4g}, decay {decay:.4g}")
    with threadpool_limits(limits=1, user_api="blas"):
        ref = dop853(fun, y0, times, space, 1e-11, 1e-13, args.threads)
        for _ in range(2):
            count[:] = [0, 0.0]
            start = time.perf_counter()
            got = dop853(fun, y0, times, space, 1e-8, 1e-10, args.threads)
            sec = time.perf_counter() - start
            print(f"DOP853 rtol 1e-8: {sec:6.2f} s ({count[1]:.2f} s in {count[0]} rhs), "
                  f"max |dn_B| {np.abs(got - ref).max():.2e}", flush=True)
            for span in args.span:
                count[:] = [0, 0.0]
                start = time.perf_counter()
                with kernels().using_threads(args.threads):
                    states = chebyshev(fun, y0, times, spread, decay, span=span, tol=args.tol)
                sec = time.perf_counter() - start
                got = np.array([battery_n(y, space) for y in states])
                print(f"Chebyshev span {span:3d}: {sec:6.2f} s ({count[1]:.2f} s in {count[0]} "
                      f"rhs), max |dn_B| {np.abs(got - ref).max():.2e}", flush=True)


if __name__ == "__main__":
    main()
