"""Benchmark: a 10^4-point omega_f x g map of the bare model, and 1 -> 2 worker scaling.

The map is ``examples/bare.toml`` (g = 0.2, F = 0.1, gamma = 0.05, N = 0; t in [0, 300],
601 times) swept over drives.0.frequency = 0.6..1.4 (100 values) x couplings.0.strength =
0.05..0.4 (100 values), every energy and ergotropy time series stored in Zarr.

Peers, on points of the same map in the same process: the per-point exact Gaussian engine
(``qbattery.solve``) on 100 random points, and QuTiP ``mesolve`` (Fock space, cutoff set
from the exact occupations) on a few random points of low excitation (resonant points need
cutoffs that make mesolve take many minutes each). Their time for the whole map is
extrapolated from the time per point and labelled as such. Errors are max |E_B| differences
over the window against the sweep's stored values.

Run:  OPENBLAS_NUM_THREADS=1 python benchmarks/sweep_map.py [--qutip-points 1] [--repeat 2]
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

import qbattery as qb
from qbattery.sweeps import (
    SweepOptions,
    SweepPlan,
    compute_tile,
    open_sweep,
    parse_vary,
    run_sweep,
)

ROOT = Path(__file__).resolve().parents[1]
VARY = ("drives.0.frequency=0.6:1.4:100", "couplings.0.strength=0.05:0.4:100")


def qutip_battery_occupation(model: qb.Model, times: np.ndarray, cutoffs: list[int]
                             ) -> np.ndarray:
    import qutip

    a = qutip.tensor(qutip.destroy(cutoffs[0]), qutip.qeye(cutoffs[1]))
    b = qutip.tensor(qutip.qeye(cutoffs[0]), qutip.destroy(cutoffs[1]))
    wf = model.drives[0].frequency
    g = model.couplings[0].strength
    F = model.drives[0].amplitude
    gamma = model.baths[0].rate
    H = (1.0 - wf) * (a.dag() * a + b.dag() * b) + g * (a * b.dag() + a.dag() * b) \
        + F * (a + a.dag())
    rho0 = qutip.ket2dm(qutip.tensor(qutip.basis(cutoffs[0], 0), qutip.basis(cutoffs[1], 0)))
    out = qutip.mesolve(H, rho0, times, [np.sqrt(gamma) * a], e_ops=[b.dag() * b],
                        options={"nsteps": 1_000_000})
    return np.asarray(out.expect[0])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--qutip-points", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    sim = qb.load_toml(ROOT / "examples" / "bare.toml")
    plan = SweepPlan(sim, tuple(parse_vary(sim.model, v) for v in VARY))
    times = sim.time.times
    print(f"map: {plan.shape[0]} x {plan.shape[1]} = {plan.size} points, {times.size} times, "
          f"{plan.n_tiles} tiles of {plan.tile}, method {plan.method}; "
          f"{os.cpu_count()} cores")
    print(f"load average before: {os.getloadavg()[0]:.2f} (other jobs share the machine)")
    tmp = Path(tempfile.mkdtemp(prefix="qbattery-bench-"))
    seconds: dict[int, list[float]] = {1: [], 2: []}
    try:
        for rep in range(args.repeat):
            for workers in (1, 2):
                out = tmp / f"map{workers}-{rep}.zarr"
                start = time.perf_counter()
                report = run_sweep(plan, out, options=SweepOptions(workers=workers))
                seconds[workers].append(time.perf_counter() - start)
                size = sum(f.stat().st_size for f in out.rglob("*") if f.is_file()) / 1e6
                print(f"sweep, {workers} worker(s): {seconds[workers][-1]:.2f} s wall "
                      f"({report.executor}; store {size:.0f} MB; fresh store)")
        best = {w: min(v) for w, v in seconds.items()}
        print(f"best of {args.repeat}: 1 worker {best[1]:.2f} s, 2 workers {best[2]:.2f} s; "
              f"scaling 1 -> 2 workers: speed-up {best[1] / best[2]:.2f}x")
        print(f"load average after: {os.getloadavg()[0]:.2f}")
        ds1 = open_sweep(tmp / "map1-0.zarr").load()
        ds2 = open_sweep(tmp / "map2-0.zarr").load()
        print(f"1-worker and 2-worker stores identical: {ds1.identical(ds2)}")

        start = time.perf_counter()
        for i in range(plan.n_tiles):
            compute_tile(plan, i)
        alone = time.perf_counter() - start
        print(f"batched solver alone (build models, solve, maxima; no store): {alone:.2f} s "
              f"for the map, {alone / plan.size * 1e3:.3f} ms/point (1 core)")

        rng = np.random.default_rng(0)
        names = [a.name for a in plan.axes]
        picks = [tuple(float(rng.choice(a.values)) for a in plan.axes) for _ in range(100)]
        start = time.perf_counter()
        refs = [qb.solve(plan.model_at(v), times) for v in picks]
        per_point = (time.perf_counter() - start) / len(picks)
        err = max(float(np.abs(ds2["energy"].sel(dict(zip(names, v, strict=True))).values
                               - r.energy).max()) for v, r in zip(picks, refs, strict=True))
        print(f"per-point Gaussian engine: {per_point * 1e3:.2f} ms/point -> "
              f"{per_point * plan.size:.1f} s for the map (extrapolated, 1 core); "
              f"ratio to the 2-worker sweep {per_point * plan.size / best[2]:.0f}x; "
              f"max |E| difference {err:.2e}")

        low = [v for v, r in zip(picks, refs, strict=True) if r.occupation.max() < 1.5]
        chosen = low[:args.qutip_points]
        qt_time, qt_err = 0.0, 0.0
        for v in chosen:
            ref = refs[picks.index(v)]
            nmax = ref.occupation.max(axis=1)
            cutoffs = [int(np.ceil(n + 8 * np.sqrt(n) + 10)) for n in nmax]
            start = time.perf_counter()
            nb = qutip_battery_occupation(plan.model_at(v), times, cutoffs)
            qt_time += time.perf_counter() - start
            stored = ds2["energy"].sel(dict(zip(names, v, strict=True))).sel(mode="battery")
            qt_err = max(qt_err, float(np.abs(stored.values - nb).max()))
            print(f"  QuTiP point {dict(zip(names, v, strict=True))}: cutoffs {cutoffs}")
        if chosen:
            qt_per = qt_time / len(chosen)
            print(f"QuTiP mesolve: {qt_per:.1f} s/point on {len(chosen)} low-excitation "
                  f"points -> {qt_per * plan.size / 3600:.1f} h for the map (extrapolated, "
                  f"a lower bound: resonant points need larger cutoffs); ratio to the "
                  f"2-worker sweep {qt_per * plan.size / best[2]:.0f}x; max |E_B| "
                  f"difference {qt_err:.2e}")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
