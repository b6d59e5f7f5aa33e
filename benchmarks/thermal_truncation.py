"""What truncation_tol costs in energy for a thermal mode, against the closed form.

A driven charger (F = 0.1, bath gamma = 0.05 at N = 1) coupled to a battery (g = 0.2):
Gaussian, so ``method = "gaussian"`` is exact. ``displaced`` (rtol 1e-10, 201 times to
t = 100) at automatic and fixed cutoffs; errors relative to the battery's largest
energy. (The test ``test_thermal_truncation_error_is_bounded_by_the_tails_energy``
checks the bound d (N + 1) truncation_tol on a shorter window.)

    OPENBLAS_NUM_THREADS=1 python benchmarks/thermal_truncation.py
"""

from __future__ import annotations

import time

import numpy as np

import qbattery as qb


def main() -> None:
    model = qb.bare_model(0.2, 0.1, 0.05, 1.0)  # the paper's Eq. 1-2 at N = 1
    times = np.linspace(0, 100, 201)
    exact = qb.solve(model, times, method="gaussian")
    scale = float(np.max(exact["battery"]["energy"]))
    for cutoff in ("auto", {"charger": 22}, {"charger": 24}, {"battery": 30}):
        start = time.perf_counter()
        r = qb.solve(model, times, method="displaced",
                     options=qb.SolverOptions(rtol=1e-10, atol=1e-12, cutoff=cutoff,
                                              correlations=False))
        seconds = time.perf_counter() - start
        errors = {f"{m}/{q}": np.abs(np.asarray(r[m][q]) - np.asarray(exact[m][q])).max() / scale
                  for m in ("battery", "charger") for q in ("energy", "ergotropy")}
        print(f"cutoff {cutoff}: {seconds:.1f} s, {r.stats['cutoffs']}; "
              + ", ".join(f"{k} {v:.1e}" for k, v in errors.items()))


if __name__ == "__main__":
    main()
