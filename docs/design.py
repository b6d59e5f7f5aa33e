"""Worked design questions for docs/design.md: run them and print the numbers.

1. Best drive frequency of the bare model (g = 0.2, F = 0.1, gamma = 0.05 on the
   charger) for the battery's ergotropy at g t = 20 (and at g t = 100).
2. Best catalyst couplings (g_aq, g_bq) and frequency omega_q of the qubit catalyst at
   F = 0.1, gamma = 0.05, on a short window (affordable: exact density-matrix solves).
3. Time of maximal average power of the battery for each protocol of
   ``qbattery compare``, and 4. each protocol's efficiency (battery ergotropy / drive work).

    OPENBLAS_NUM_THREADS=1 python docs/design.py [--qubit-budget 60] [--qubit-gt 5] [--workers 2]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import qbattery as qb
from qbattery.optimize import optimize
from qbattery.sweeps.protocols import PROTOCOLS, ProtocolParams

G, F, GAMMA = 0.2, 0.1, 0.05


def bare_frequency() -> None:
    for gt in (20, 100):
        stop = gt / G
        sim = qb.Simulation(qb.bare_model(G, F, GAMMA), qb.TimeGrid(stop, 201))
        start = time.perf_counter()
        out = optimize(sim, f"ergotropy[battery]@{stop:g}", {"drives.0.frequency": (0.5, 1.5)},
                       budget=200)
        x = out["optimum"]["drives.0.frequency"]
        at_omega = sim.run()["battery"]["ergotropy"][-1]
        print(f"[1] g t = {gt}: best omega_f = {x:.5f} (omega {'+' if x > 1 else '-'} "
              f"{abs(x - 1):.5f}), W_B = {out['value']:.4f} (drive at omega: {at_omega:.4f}); "
              f"{out['evaluations']} solves, {time.perf_counter() - start:.2f} s")


def qubit_catalyst(budget: int, gt: float, workers: int) -> None:
    stop = gt / G
    model = qb.catalytic_model(G, G, F, GAMMA, catalyst="qubit")
    sim = qb.Simulation(model, qb.TimeGrid(stop, int(4 * gt) + 1))
    start = time.perf_counter()
    bounds = {"couplings.0.strength": (0.05, 0.4), "couplings.1.strength": (0.05, 0.4),
              "modes.catalyst.frequency": (0.8, 1.2)}
    out = optimize(sim, f"ergotropy[battery]@{stop:g}", bounds, budget=budget, workers=workers)
    nominal = sim.run()["battery"]["ergotropy"][-1]
    opt = ", ".join(f"{k} = {v:.4f}" for k, v in out["optimum"].items())
    print(f"[2] qubit catalyst, g t = {gt:g} (t = {stop:g}): best {opt}; W_B = "
          f"{out['value']:.4f} (g_aq = g_bq = 0.2, omega_q = 1: {nominal:.4f}); "
          f"{out['evaluations']} solves, {time.perf_counter() - start:.1f} s")


def protocols(stop: float, points: int) -> None:
    params = ProtocolParams(G, F, GAMMA)
    t = np.linspace(0, stop, points)
    for proto in PROTOCOLS:
        start = time.perf_counter()
        ds = qb.solve(proto.model(params), t).to_xarray()
        b = ds.sel(mode="battery")
        k = int(np.argmax(b["ergotropy"].values))
        eff = ds["efficiency"].values
        kc = int(np.searchsorted(t, float(b["charging_time"])))
        print(f"[3,4] {proto.name:20s} max avg power {float(b['max_average_power']):.5f} at "
              f"t = {float(b['charging_time']):g} (g t = {G * float(b['charging_time']):.3g}); "
              f"W_B there {float(b['ergotropy'].values[kc]):.4f}; W_B(end) "
              f"{float(b['ergotropy'].values[-1]):.4f}, max {float(b['ergotropy'].values[k]):.4f}"
              f" at t = {t[k]:g}; efficiency at the charging time {eff[kc]:.4f}, at t = {stop:g}"
              f" {eff[-1]:.4f}, max {eff.max():.4f} at t = {t[int(np.argmax(eff))]:g}; "
              f"drive work {float(ds['drive_work'].values[:, -1].sum()):.4f} "
              f"[{ds.attrs['method']}, {time.perf_counter() - start:.1f} s]")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--qubit-budget", type=int, default=60)
    p.add_argument("--qubit-gt", type=float, default=5.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--stop", type=float, default=200.0)
    p.add_argument("--points", type=int, default=401)
    p.add_argument("--skip-qubit", action="store_true")
    args = p.parse_args()
    bare_frequency()
    protocols(args.stop, args.points)
    if not args.skip_qubit:
        qubit_catalyst(args.qubit_budget, args.qubit_gt, args.workers)


if __name__ == "__main__":
    main()
