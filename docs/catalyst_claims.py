"""Measure the paper's claims about the qubit catalyst (numbers for docs/qubit-catalyst.md).

For each case (Fig. 6a: N = 0; Fig. 6b: N = 1; Fig. 7: gamma_q = 0.05) solve the
qubit-catalyst model exactly (displaced-frame solver) on [0, g t_max], and again
with a 100x tighter truncation tolerance to show how converged each number is; print
the catalyst's largest energy, smallest ground-state fidelity and purity, the
largest mutual informations and logarithmic negativities, and the battery's
energy and ergotropy at the end next to the bare model (drive at omega) and the
oscillator catalyst (both exact, Gaussian).

    OPENBLAS_NUM_THREADS=1 python docs/catalyst_claims.py [--gt-n0 100] [--gt-n1 10]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import qbattery as qb

G, F, GAMMA = 0.2, 0.1, 0.05
KEYS = ("catalyst_ground_fidelity", "catalyst_purity", "mutual_information_catalyst_battery",
        "mutual_information_charger_battery", "log_negativity_catalyst_battery",
        "log_negativity_catalyst_charger")


def summary(r: qb.Result) -> dict[str, float]:
    ex = {k: r.extra[k][1] for k in KEYS}
    return {
        "E_C max": float(r["catalyst"]["energy"].max()),
        "E_C end": float(r["catalyst"]["energy"][-1]),
        "fidelity min": float(ex["catalyst_ground_fidelity"].min()),
        "purity min": float(ex["catalyst_purity"].min()),
        "I(C:B) max": float(ex["mutual_information_catalyst_battery"].max()),
        "I(A:B) max": float(ex["mutual_information_charger_battery"].max()),
        "E_N(C:B) max": float(ex["log_negativity_catalyst_battery"].max()),
        "E_N(C:A) max": float(ex["log_negativity_catalyst_charger"].max()),
        "E_B end": float(r["battery"]["energy"][-1]),
        "W_B end": float(r["battery"]["ergotropy"][-1]),
    }


def case(name: str, n_th: float, gamma_q: float, gt: float, points: int,
         tols: tuple[float, float]) -> None:
    model = qb.catalytic_model(G, G, F, GAMMA, gamma_q, n_th)
    t = np.linspace(0.0, gt / G, points)
    rows = {}
    for tol in tols:
        start = time.perf_counter()
        r = qb.solve(model, t, method="displaced", options=qb.SolverOptions(truncation_tol=tol))
        rows[tol] = summary(r)
        print(f"{name}: truncation_tol={tol:g}, cutoffs {r.stats['cutoffs']}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)
    bare = qb.solve(qb.bare_model(G, F, GAMMA, n_th), t)
    osc = qb.solve(qb.catalytic_model(G, G, F, GAMMA, gamma_q, n_th, catalyst="oscillator"), t)
    print(f"{name}: N={n_th:g}, gamma_q={gamma_q:g}, window g t <= {gt:g} ({points} points)")
    print(f"  {'quantity':14s} {f'tol {tols[0]:g}':>12s} {f'tol {tols[1]:g}':>12s} "
          f"{'difference':>11s}")
    for key in rows[tols[0]]:
        a, b = rows[tols[0]][key], rows[tols[1]][key]
        print(f"  {key:14s} {a:12.6g} {b:12.6g} {abs(a - b):11.2e}")
    print(f"  bare model (drive at omega): E_B end {bare['battery']['energy'][-1]:.6g}, "
          f"W_B end {bare['battery']['ergotropy'][-1]:.6g}, E_B max "
          f"{bare['battery']['energy'].max():.6g}")
    print(f"  oscillator catalyst: E_B end {osc['battery']['energy'][-1]:.6g}, "
          f"E_C max {osc['catalyst']['energy'].max():.6g}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt-n0", type=float, default=100.0)
    parser.add_argument("--gt-n1", type=float, default=10.0)
    parser.add_argument("--points", type=int, default=101)
    args = parser.parse_args()
    case("Fig. 6a", 0.0, 0.0, args.gt_n0, args.points, (1e-6, 1e-8))
    case("Fig. 7", 0.0, GAMMA, args.gt_n0, args.points, (1e-6, 1e-8))
    case("Fig. 6b", 1.0, 0.0, args.gt_n1, args.points, (1e-4, 1e-6))


if __name__ == "__main__":
    main()
