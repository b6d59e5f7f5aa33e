"""Engine timings of this tree against a previous tree of qbattery (e.g. before a refactor).

Runs each problem in a fresh subprocess for this tree and for ``--previous PATH``
(another checkout's ``src`` folder), alternating the two, and prints the best
time of each, their ratio and the largest difference of the battery energy.
The machine's load changes between runs; alternating keeps both under the same.

Problems: a warm two-mode Gaussian solve (Fig. 4a, 401 times to t = 200, the
user's loop case), 1000 resonant cells (Gaussian), the qubit catalyst to
g t = 20 (displaced frame, Fig. 6a), the oscillator catalyst to t = 20 (Fock).

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/engines_vs_previous.py --previous ../ref/src
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

PROBLEMS = {
    "gaussian 2 modes (warm, x200)": (
        "m = qb.bare_model(0.2, 0.1, 0.05, omega_f=1.2); t = np.linspace(0, 200, 401)",
        "qb.solve(m, t)", 200),
    "gaussian 1000 cells": (
        "g = np.random.default_rng(1).uniform(0.05, 0.3, 1000); "
        "m = qb.multicell_model(0.2, g, 0.1, 0.05, catalyst='oscillator'); "
        "t = np.linspace(0, 500, 401)", "qb.solve(m, t)", 3),
    "displaced fig6a g t <= 20": (
        "m = qb.catalytic_model(0.2, 0.2, 0.1, 0.05); t = np.linspace(0, 100, 201)",
        "qb.solve(m, t, method='displaced')", 1),
    "fock oscillator catalyst t <= 20": (
        "m = qb.catalytic_model(0.2, 0.2, 0.05, 0.05, catalyst='oscillator'); "
        "t = np.linspace(0, 20, 41)", "qb.solve(m, t, method='fock')", 1),
}

SCRIPT = """
import json, time, numpy as np, qbattery as qb
{setup}
r = {call}
best = float('inf')
for _ in range(3):
    t0 = time.perf_counter()
    for _ in range({number}):
        r = {call}
    best = min(best, (time.perf_counter() - t0) / {number})
print(json.dumps({{"seconds": best, "energy": r.energy[-1].tolist()}}))
"""


def run(src: Path, setup: str, call: str, number: int) -> dict:
    env = {**os.environ, "PYTHONPATH": str(src), "OPENBLAS_NUM_THREADS": "1"}
    code = SCRIPT.format(setup=setup, call=call, number=number)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--previous", required=True, help="src folder of the other tree")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent / "src"
    print(f"{'problem':34s} {'this tree':>11s} {'previous':>11s} {'ratio':>7s} {'max |dE|':>9s}")
    for name, (setup, call, number) in PROBLEMS.items():
        new, old = [], []
        for _ in range(args.rounds):
            new.append(run(here, setup, call, number))
            old.append(run(Path(args.previous), setup, call, number))
        tn = min(r["seconds"] for r in new)
        to = min(r["seconds"] for r in old)
        diff = max(abs(a - b) for a, b in zip(new[0]["energy"], old[0]["energy"], strict=True))
        print(f"{name:34s} {tn * 1e3:9.2f}ms {to * 1e3:9.2f}ms {tn / to:7.3f} {diff:9.1e}")


if __name__ == "__main__":
    main()
