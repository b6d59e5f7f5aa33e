"""Issue 17's "low-rank representation" idea, measured first: the spectrum of the
displaced-frame state of the qubit catalyst (Fig. 6a, N = 0; Fig. 6b, N = 1) at a few
times. Prints the frame's dimension and the rank that keeps all but 1e-4 / 1e-6 / 1e-8
of the weight (rho's eigenvalues summed from the largest), and the entropy.

    OPENBLAS_NUM_THREADS=1 python benchmarks/state_rank.py
"""

from __future__ import annotations

import numpy as np

import qbattery as qb

DISCARDED = (1e-4, 1e-6, 1e-8)


def main() -> None:
    for n_th, windows in ((1.0, (5.0, 10.0, 20.0)), (0.0, (5.0, 10.0, 20.0, 100.0))):
        model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, n_th)
        for gt in windows:
            r = qb.solve(model, np.linspace(0, gt / 0.2, 3), method="displaced",
                         options=qb.SolverOptions(rtol=1e-8, atol=1e-10, threads=2,
                                                  correlations=False))
            state = r.final_state
            ev = np.sort(np.linalg.eigvalsh(state.rho))[::-1]
            rest = 1 - np.cumsum(ev)
            ranks = "/".join(str(int(np.argmax(rest < w)) + 1) for w in DISCARDED)
            kept = ev[ev > 0]
            print(f"N = {n_th:g}, g t = {gt:5.1f}: D = {state.rho.shape[0]} {state.dims}, "
                  f"rank {ranks} (discarded 1e-4/1e-6/1e-8), "
                  f"S = {-np.sum(kept * np.log(kept)):.2f}", flush=True)


if __name__ == "__main__":
    main()
