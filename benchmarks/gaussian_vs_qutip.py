"""Gaussian solver vs QuTiP mesolve on Fig. 4a (bare model driven at omega + g, N = 0).

Both solve the same master equation in one process; QuTiP at a Fock cutoff per
mode large enough that its truncation error is below the reported difference.
Prints both wall times, their ratio and the largest differences. Also times a
1000-cell battery with an oscillator catalyst (401 output times).

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/gaussian_vs_qutip.py [--stop 200] [--cutoff 35]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from _common import best_of

import qbattery as qb


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--stop", type=float, default=200.0)
    p.add_argument("--points", type=int, default=401)
    p.add_argument("--cutoff", type=int, default=35)
    args = p.parse_args()
    import qutip

    g, F, gamma = 0.2, 0.1, 0.05
    model = qb.bare_model(g, F, gamma, 0.0, omega_f=1.0 + g)
    t = np.linspace(0.0, args.stop, args.points)
    ours_s, res = best_of(lambda: qb.solve(model, t, method="gaussian"), 20)
    assert isinstance(res, qb.Result)

    cut = args.cutoff
    a = qutip.tensor(qutip.destroy(cut), qutip.qeye(cut))
    b = qutip.tensor(qutip.qeye(cut), qutip.destroy(cut))
    det = 1.0 - model.frame_frequency
    H = det * (a.dag() * a + b.dag() * b) + g * (a * b.dag() + a.dag() * b) + F * (a + a.dag())
    rho0 = qutip.tensor(qutip.fock_dm(cut, 0), qutip.fock_dm(cut, 0))
    t0 = time.perf_counter()
    out = qutip.mesolve(H, rho0, t, [np.sqrt(gamma) * a], e_ops=[b.dag() * b, a.dag() * a],
                        options={"atol": 1e-10, "rtol": 1e-8})
    qutip_s = time.perf_counter() - t0
    diff_b = float(np.max(np.abs(res["battery"]["energy"] - out.expect[0])))
    diff_a = float(np.max(np.abs(res["charger"]["energy"] - out.expect[1])))
    print(f"machine: {platform.machine()} {platform.processor() or ''}, python "
          f"{platform.python_version()}, qutip {qutip.__version__}, qbattery {qb.__version__}")
    print(f"Fig. 4a to t={args.stop:g} (g t={g * args.stop:g}), {args.points} output times")
    print(f"  qbattery gaussian : {ours_s * 1e3:9.3f} ms (best of 20)")
    print(f"  qutip mesolve     : {qutip_s * 1e3:9.1f} ms (cutoff {cut} per mode, dim {cut**2})")
    print(f"  ratio             : {qutip_s / ours_s:9.0f}x")
    print(f"  max |E_B diff|    : {diff_b:.2e}   max |E_A diff|: {diff_a:.2e}  "
          f"(E_B max {res['battery']['energy'].max():.3f})")

    rng = np.random.default_rng(0)
    big = qb.multicell_model(0.2, rng.uniform(0.05, 0.3, 1000), F, gamma, 0.0, 0.0,
                             catalyst="oscillator")
    t401 = np.linspace(0.0, 500.0, 401)
    cells_s, r = best_of(lambda: qb.solve(big, t401), 3)
    assert isinstance(r, qb.Result)
    print(f"1000-cell battery, oscillator catalyst, 401 times: {cells_s * 1e3:.1f} ms "
          f"(invariant subspace dim {r.stats['subspace_dimension']}, "
          f"total energy at t=500: {r.energy.sum(0)[-1]:.4f})")


if __name__ == "__main__":
    main()
