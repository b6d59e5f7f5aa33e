"""How the displaced-frame solver's cutoff and time grow with the bath occupation N.

Fig. 6 parameters (g_aq = g_bq = 0.2, F = 0.1, gamma_a = 0.05, gamma_q = 0), window
[0, g t] with 41 output times, rtol 1e-8, atol 1e-10, truncation_tol 1e-6, automatic
cutoffs. For each N prints the largest frame cutoffs the run used and the Hilbert-space
dimension they make, the number of cutoff growths and shrinks, the wall time of the
solve and the battery's energy at the end. The lab-frame (Fock) cutoffs that
qbattery's criterion would give for the same window are printed for comparison (no
Fock run: it is much slower).

    OPENBLAS_NUM_THREADS=1 python benchmarks/displaced_thermal.py [--gt 4] [--nth 0 0.25 0.5 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import qbattery as qb
from qbattery.hilbert import estimate_cutoffs

G, F, GAMMA = 0.2, 0.1, 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", type=float, default=4.0, help="end of the window, g t")
    parser.add_argument("--nth", type=float, nargs="+", default=[0.0, 0.25, 0.5, 1.0])
    parser.add_argument("--threads", type=int, default=1, help="SolverOptions.threads")
    parser.add_argument("--no-correlations", action="store_true",
                        help="SolverOptions(correlations=False)")
    args = parser.parse_args()
    opts = qb.SolverOptions(rtol=1e-8, atol=1e-10, truncation_tol=1e-6,
                            threads=args.threads, correlations=not args.no_correlations)
    t = np.linspace(0.0, args.gt / G, 41)
    print(f"Fig. 6 parameters, window g t <= {args.gt:g}, truncation_tol 1e-6")
    print(f"{'N':>5} {'largest frame cutoffs':>28} {'dim':>6} {'grew':>5} {'shrank':>6} "
          f"{'seconds':>8} {'E_B end':>9} {'lab-frame cutoffs':>28}")
    for n_th in args.nth:
        model = qb.catalytic_model(G, G, F, GAMMA, 0.0, n_th)
        start = time.perf_counter()
        r = qb.solve(model, t, method="displaced", options=opts)
        seconds = time.perf_counter() - start
        lab = estimate_cutoffs(model, float(t[-1]), ("charger", "battery"), tol=1e-6,
                               max_cutoff=200)
        lab_text = ", ".join(f"{k}={v}" for k, v in lab.items())
        largest = r.extra["cutoff_at"][1].max(axis=1)
        frame = ", ".join(f"{m.name}={d}" for m, d in zip(model.modes, largest, strict=True)
                          if m.kind == "oscillator")
        print(f"{n_th:5.2f} {frame:>28} {int(np.prod(largest)):6d} "
              f"{r.stats['cutoff_growths']:5d} {r.stats['cutoff_shrinks']:6d} {seconds:8.2f} "
              f"{r['battery']['energy'][-1]:9.4f} {lab_text:>28}")


if __name__ == "__main__":
    main()
