"""Fig. 6b (N = 1) to g t = 20: the displaced frame against an independent reference,
the Fock engine in the lab frame at the cutoffs qbattery's criterion gives (54 x 2 x 50
= 5400 levels, about 9 GiB: the engine's 8 GiB limit is raised for this one run).

Both at the default options (rtol 1e-8, atol 1e-10, truncation_tol 1e-6), 41 output
times; prints both times and the largest differences of every mode's energy and
ergotropy, relative to their largest values. Hours of CPU (the Fock run) on 2 cores.

    OPENBLAS_NUM_THREADS=1 python benchmarks/fig6b_reference.py [--gt 20] [--memory-gib 14]
        [--threads 2] [--save fig6b.npz]

(Both without the catalyst's mutual informations: at D = 5400 the charger-battery state
has 2700 levels, whose diagonalisation at every output would dominate the Fock run.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import qbattery as qb
import qbattery.solvers.fock as fock

G, F, GAMMA = 0.2, 0.1, 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", type=float, default=20.0, help="end of the window, g t")
    parser.add_argument("--memory-gib", type=float, default=14.0,
                        help="the Fock engine's memory limit for this run")
    parser.add_argument("--threads", type=int, default=1, help="SolverOptions.threads")
    parser.add_argument("--save", help="write both runs' energies and ergotropies (.npz)")
    args = parser.parse_args()
    opts = qb.SolverOptions(threads=args.threads, correlations=False)
    fock.MAX_MEMORY_BYTES = int(args.memory_gib * 2**30)
    model = qb.catalytic_model(G, G, F, GAMMA, 0.0, 1.0)
    t = np.linspace(0.0, args.gt / G, 41)
    start = time.perf_counter()
    ref = qb.solve(model, t, method="fock", options=opts)
    t_fock = time.perf_counter() - start
    start = time.perf_counter()
    ours = qb.solve(model, t, method="displaced", options=opts)
    t_disp = time.perf_counter() - start
    print(f"Fig. 6b (N = 1) to g t = {args.gt:g}: fock {t_fock:.0f} s (dimension "
          f"{ref.stats['hilbert_dimension']}), displaced {t_disp:.1f} s (dimension "
          f"{ours.stats['hilbert_dimension']})")
    for name in ("energy", "ergotropy"):
        for mode in ("charger", "catalyst", "battery"):
            a, b = ours[mode][name], ref[mode][name]
            diff = float(np.abs(a - b).max())
            print(f"{mode:>8} {name:>9}: largest difference {diff:.2e} "
                  f"({diff / float(np.abs(b).max()):.1e} relative)")
    if args.save:
        np.savez(args.save, time=t, **{
            f"{engine}/{mode}/{name}": np.asarray(r[mode][name])
            for engine, r in (("fock", ref), ("displaced", ours))
            for mode in ("charger", "catalyst", "battery") for name in ("energy", "ergotropy")})


if __name__ == "__main__":
    main()
