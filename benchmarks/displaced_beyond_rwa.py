"""The qubit catalyst beyond the rotating-wave approximation: displaced frame vs Fock.

The paper's parameters (g_aq = g_bq = 0.2, F = 0.1, gamma_a = 0.05, N = 0, drive at
omega), the RWA model (exchange couplings, rotating drive) or the full one (dipole
couplings, linear drive), default tolerances, output every Delta t = 2.5. Prints one
JSON line: wall time, Hilbert dimension (largest and final), the battery's E_B and W_B
at g t = 20 and at the end.

    OPENBLAS_NUM_THREADS=1 python benchmarks/displaced_beyond_rwa.py full displaced 20
    (model: rwa | full; method: displaced | fock; end of the window in g t)
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time

import numpy as np

import qbattery as qb

G, F, GAMMA = 0.2, 0.1, 0.05


def main() -> None:
    which, method, gt = sys.argv[1], sys.argv[2], float(sys.argv[3])
    model = qb.catalytic_model(G, G, F, GAMMA)
    if which == "full":
        model = dataclasses.replace(
            model, couplings=tuple(dataclasses.replace(c, form="dipole") for c in model.couplings),
            drives=tuple(dataclasses.replace(d, form="linear") for d in model.drives))
    stop = gt / G
    t = np.linspace(0.0, stop, int(stop // 2.5) + 1)
    t0 = time.perf_counter()
    r = qb.solve(model, t, method=method)
    wall = time.perf_counter() - t0
    b, k20 = model.index("battery"), int(np.argmin(np.abs(t - 20.0 / G)))
    energy, ergotropy = r.occupation[b], r.ergotropy[b]  # omega_B = 1
    largest = (int(np.prod(r.extra["cutoff_at"][1], axis=0).max()) if "cutoff_at" in r.extra
               else int(r.stats["hilbert_dimension"]))
    print(json.dumps({"model": which, "method": method, "gt": gt, "wall_s": round(wall, 2),
                      "dimension": largest, "final_dimension": int(r.stats["hilbert_dimension"]),
                      "E_B_20": float(energy[k20]), "W_B_20": float(ergotropy[k20]),
                      "E_B_end": float(energy[-1]), "W_B_end": float(ergotropy[-1])}))


if __name__ == "__main__":
    main()
