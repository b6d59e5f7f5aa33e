"""Why the density engines cap DOP853's step (``hilbert.integrate.stable_step``):
the ``fock`` problem of ``rk_driver.py`` (qubit catalyst, N = 0, cutoff 24, D = 1152,
51 times to t = 50) with and without the cap, under SciPy's RMS error norm (ours) and
a max norm (patched in for this run), against the same solve at rtol 1e-11.

    OPENBLAS_NUM_THREADS=1 python benchmarks/step_cap.py --threads 2
"""

from __future__ import annotations

import argparse
import time
import warnings
from typing import Any

import numpy as np

import qbattery as qb
from qbattery.hilbert import rk
from qbattery.solvers import fock

G, F, GAMMA = 0.2, 0.1, 0.05
RMS_ATTEMPT = rk.DOP853.attempt


def max_norm_attempt(self: Any, h: float, rtol: float, atol: float) -> float:
    """rk.DOP853.attempt with the largest scaled error instead of the RMS."""
    self.h, self.extended = h, False
    for s in range(1, rk._dop.N_STAGES):
        self.stage(self.t, h, self.A[s], self.C[s], s + 1)
    coef = self.final.copy()
    coef[0, 1:] *= h
    self.combine(coef, self.out3, self.final_rows)
    self.y_new[:] = self.out3[0]
    scale = self.scale(rtol, atol)
    e5 = float(np.max(np.abs(self.out3[1] / scale))) ** 2
    e3 = float(np.max(np.abs(self.out3[2] / scale))) ** 2
    if e5 == 0 and e3 == 0:
        return 0.0
    return float(abs(h) * e5 / np.sqrt(e5 + 0.01 * e3))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    model = qb.catalytic_model(G, G, F, GAMMA, catalyst="qubit")
    times = np.linspace(0, 50, 51)
    base = {"cutoff": 24, "on_truncation": "warn", "threads": args.threads,
            "correlations": False}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = qb.solve(model, times, method="fock",
                       options=qb.SolverOptions(rtol=1e-11, atol=1e-13, **base))
        capped = fock.stable_step
        for norm, attempt in (("RMS", RMS_ATTEMPT), ("max", max_norm_attempt)):
            for cap in (True, False):
                rk.DOP853.attempt = attempt  # type: ignore[method-assign]
                fock.stable_step = capped if cap else lambda *a, **k: float("inf")
                start = time.perf_counter()
                r = qb.solve(model, times, method="fock",
                             options=qb.SolverOptions(rtol=1e-8, atol=1e-10, **base))
                seconds = time.perf_counter() - start
                error = np.abs(np.asarray(r["battery"]["energy"])
                               - np.asarray(ref["battery"]["energy"])).max()
                print(f"norm {norm}, cap {cap}: {seconds:.2f} s, {r.stats['steps']} steps, "
                      f"{r.stats['nfev']} rhs, error in E_B {error:.1e}", flush=True)
        rk.DOP853.attempt = RMS_ATTEMPT  # type: ignore[method-assign]
        fock.stable_step = capped


if __name__ == "__main__":
    main()
