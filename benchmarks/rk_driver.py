"""The density-matrix engines with our in-place Runge-Kutta driver vs SciPy's (issue 17).

Three problems (rtol 1e-8, atol 1e-10, truncation_tol 1e-6):

- ``6b``: Fig. 6b, qubit catalyst at N = 1, ``method = "displaced"``, 201 times to t = 100
  (g t = 20);
- ``6a``: Fig. 6a, N = 0, ``displaced``, 201 times to t = 500 (g t = 100);
- ``fock``: the qubit catalyst at N = 0, ``method = "fock"``, fixed cutoff 24
  (dimension 1152), 51 times to t = 50 (as ``fock_vs_dynamiqs.py``).

Each problem runs with the drivers given (``--drivers own scipy tsit5``: our DOP853,
SciPy's, our Tsit5; ``integrate.DRIVER`` and the engines' ``METHOD`` set to each in
turn, alternating, best of ``--repeat``), printing the load, the wall
time, steps, right-hand sides, the Hilbert dimension and the largest difference of the
battery's energy and ergotropy and the catalyst's occupation between the drivers (and
against a saved run, ``--reference FILE.npz``; ``--save FILE.npz`` writes this run's).

    OPENBLAS_NUM_THREADS=1 python benchmarks/rk_driver.py --problems 6a 6b fock

``--threads N`` and ``--no-correlations`` set those SolverOptions fields (issue 17's
compiled kernel: ``OPENBLAS_NUM_THREADS`` must then allow N BLAS threads).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import os
import time
import warnings
from typing import Any

import numpy as np

import qbattery as qb
from qbattery.solvers import displaced, fock

integrate_module = importlib.import_module("qbattery.hilbert.integrate")

G, F, GAMMA = 0.2, 0.1, 0.05


def problem(name: str) -> tuple[qb.Model, np.ndarray, str, qb.SolverOptions]:
    base = {"rtol": 1e-8, "atol": 1e-10, "truncation_tol": 1e-6}
    if name == "6b":
        return (qb.catalytic_model(G, G, F, GAMMA, 0.0, 1.0), np.linspace(0, 100, 201),
                "displaced", qb.SolverOptions(**base))
    if name == "6a":
        return (qb.catalytic_model(G, G, F, GAMMA), np.linspace(0, 500, 201), "displaced",
                qb.SolverOptions(**base))
    if name == "fock":
        return (qb.catalytic_model(G, G, F, GAMMA, catalyst="qubit"), np.linspace(0, 50, 51),
                "fock", qb.SolverOptions(cutoff=24, on_truncation="warn", **base))
    raise SystemExit(f"unknown problem {name!r}")


def run(name: str, driver: str, **options: Any
        ) -> tuple[float, dict[str, Any], dict[str, np.ndarray]]:
    """One solve; ``driver`` "own", "scipy" or "tsit5" (our Tsit5, with its stability cap);
    ``options`` replace fields of the problem's SolverOptions (threads, correlations)."""
    model, times, method, opts = problem(name)
    opts = dataclasses.replace(opts, **options)
    integrate_module.DRIVER = "scipy" if driver == "scipy" else "own"
    fock.METHOD = displaced.METHOD = "Tsit5" if driver == "tsit5" else "DOP853"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        start = time.perf_counter()
        r = qb.solve(model, times, method=method, options=opts)
        seconds = time.perf_counter() - start
    data = {"E_B": r["battery"]["energy"], "W_B": r["battery"]["ergotropy"],
            "n_q": r["catalyst"]["occupation"]}
    return seconds, dict(r.stats), data


def largest(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{k} {np.abs(a[k] - b[k]).max():.1e}" for k in a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", nargs="+", default=["6a", "6b", "fock"])
    parser.add_argument("--drivers", nargs="+", default=["own", "scipy"])
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--save", help="write this run's results (first driver) to an .npz")
    parser.add_argument("--reference", help="compare with a saved .npz")
    parser.add_argument("--threads", type=int, default=1, help="SolverOptions.threads")
    parser.add_argument("--no-correlations", action="store_true",
                        help="SolverOptions(correlations=False)")
    args = parser.parse_args()
    options = {"threads": args.threads, "correlations": not args.no_correlations}
    ref = dict(np.load(args.reference)) if args.reference else {}
    saved: dict[str, np.ndarray] = {}
    for name in args.problems:
        best: dict[str, float] = {}
        results: dict[str, dict[str, np.ndarray]] = {}
        for _ in range(args.repeat):
            for driver in args.drivers:
                load = os.getloadavg()[0]
                seconds, stats, data = run(name, driver, **options)
                best[driver] = min(best.get(driver, float("inf")), seconds)
                results[driver] = data
                print(f"{name:5s} {driver:6s} {seconds:7.2f} s  load {load:.2f}  "
                      f"steps {stats.get('steps')} nfev {stats.get('nfev')} "
                      f"dim {stats.get('hilbert_dimension')} E_B(end) {data['E_B'][-1]:.8f}",
                      flush=True)
        first = results[args.drivers[0]]
        for driver in args.drivers[1:]:
            print(f"{name:5s} best {args.drivers[0]} {best[args.drivers[0]]:.2f} s vs {driver} "
                  f"{best[driver]:.2f} s; largest difference: {largest(first, results[driver])}")
        if ref:
            old = {k: ref[f"{name}/{k}"] for k in first if f"{name}/{k}" in ref}
            if old:
                print(f"{name:5s} vs reference: {largest({k: first[k] for k in old}, old)}")
        saved.update({f"{name}/{k}": v for k, v in first.items()})
    if args.save:
        np.savez(args.save, **saved)


if __name__ == "__main__":
    main()
