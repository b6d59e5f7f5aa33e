"""Fig. 6b (N = 1, ``displaced``, 201 times to g t = 20) against the stored lab-frame Fock
reference (``tests/data/fig6b_fock_d5400.npz``, D = 5400, 41 times): time, final
cutoffs, and each mode's largest energy and ergotropy error relative to the battery's
largest energy (issue 17's "1e-5 in E_B and W_B").

    OPENBLAS_NUM_THREADS=1 python benchmarks/fig6b_accuracy.py --threads 2
    OPENBLAS_NUM_THREADS=1 python benchmarks/fig6b_accuracy.py --cutoff charger=22
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

import qbattery as qb

REFERENCE = Path(__file__).parent.parent / "tests" / "data" / "fig6b_fock_d5400.npz"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tol", type=float, default=1e-6, help="truncation_tol")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--cutoff", default="auto",
                        help='"auto" or fixed levels, e.g. charger=22,battery=31')
    args = parser.parse_args()
    cutoff: object = args.cutoff
    if args.cutoff != "auto":
        cutoff = {k: int(v) for k, v in (kv.split("=") for kv in args.cutoff.split(","))}
    ref = np.load(REFERENCE)
    model = qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 1.0)
    times = np.linspace(0, 100, 201)
    opts = qb.SolverOptions(rtol=1e-8, atol=1e-10, truncation_tol=args.tol,
                            threads=args.threads, correlations=False, cutoff=cutoff)
    start = time.perf_counter()
    r = qb.solve(model, times, method="displaced", options=opts)
    seconds = time.perf_counter() - start
    at = [int(np.argmin(abs(times - t))) for t in ref["time"]]
    scale = float(ref["battery/energy"].max())
    errors = {f"{mode}/{q}": np.abs(np.asarray(r[mode][q])[at] - ref[f"{mode}/{q}"]).max() / scale
              for mode in ("battery", "charger") for q in ("energy", "ergotropy")}
    stats = r.stats
    print(f"truncation_tol {args.tol:g}, cutoff {args.cutoff}, {args.threads} threads: "
          f"{seconds:.2f} s, D {stats['hilbert_dimension']} ({stats['cutoffs']}), "
          f"steps {stats['steps']}, growths {stats['cutoff_growths']}, "
          f"shrinks {stats['cutoff_shrinks']}")
    print("  " + ", ".join(f"{k} {v:.2e}" for k, v in errors.items()))


if __name__ == "__main__":
    main()
