"""Displaced-frame solver vs qutip.mesolve on Fig. 6a / 6b (qubit catalyst).

QuTiP solves the master equation in the plain Fock basis, at the cutoff that
qbattery's truncation criterion gives for the lab-frame state (the exact Fock
distribution of the Gaussian twin, top level below 1e-7 of the population:
``to_qutip(model, cutoffs="auto", stop=...)``); ``--qutip-cutoff`` overrides
it. The displaced-frame solver uses its own automatic, checked cutoffs. Both at
rtol = 1e-8, atol = 1e-10, the same output times. Prints both times (ours: best
of ``--repeat``), their ratio and the largest differences in the battery's
energy and ergotropy, and the solve time of the long window (g t = ``--long``,
101 and 401 output times, best of ``--repeat``) alone.

``--dynamiqs`` also runs dynamiqs' ``mesolve`` (Tsit5, ``dia`` layout, double
precision, the same tolerances) on QuTiP's problem (same Fock space, operators and
initial state, converted with ``dq.asqarray``), after one compiling call on a short
window; it compares the battery's energy only (ergotropy needs the states). Needs
dynamiqs (``pip install -e ".[bench]"``); ``--skip-qutip`` leaves QuTiP out.

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/displaced_vs_qutip.py \
        [--nth 0] [--gt 20] [--long 100] [--dynamiqs] [--skip-qutip]
"""

from __future__ import annotations

import argparse
import time
from typing import Any

import numpy as np
import qutip
from _common import best_of, mesolve_battery

import qbattery as qb
from qbattery.interop import to_qutip

G, F, GAMMA = 0.2, 0.1, 0.05


def run_dynamiqs(p: Any, times: np.ndarray, omega_b: float) -> tuple[float, np.ndarray, str]:
    """(wall seconds, E_B(t), description) of dynamiqs' mesolve on QuTiP problem ``p``."""
    import dynamiqs as dq
    import jax

    dq.set_layout("dia")
    dq.set_precision("double")
    dims = tuple(p.space.dims)

    def arr(x: qutip.Qobj) -> Any:
        return dq.asqarray(x.full(), dims=dims, layout=dq.dia)

    h = arr(p.hamiltonian)
    jumps = [arr(c) for c in p.collapse_operators]
    rho0 = dq.asqarray(p.initial_state.full(), dims=dims)
    n_b = arr(p.number("battery"))
    method = dq.method.Tsit5(rtol=1e-8, atol=1e-10, max_steps=10**7)

    def call(tsave: np.ndarray) -> Any:
        out = dq.mesolve(h, jumps, rho0, tsave, exp_ops=[n_b], method=method,
                         save_states=False, progress_meter=False)
        jax.block_until_ready(out.expects)
        return out

    call(np.linspace(0.0, 0.5, times.size))  # compile (same shapes: no recompilation)
    start = time.perf_counter()
    out = call(times)
    wall = time.perf_counter() - start
    energy = omega_b * np.real(np.asarray(out.expects)[0])
    return wall, energy, f"dynamiqs {dq.__version__} (JAX {jax.__version__}, dia, Tsit5)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--nth", type=float, default=0.0, help="bath occupation N")
    parser.add_argument("--gt", type=float, default=20.0, help="end of the window, g t")
    parser.add_argument("--points", type=int, default=21)
    parser.add_argument("--qutip-cutoff", type=int, default=0, help="0: automatic")
    parser.add_argument("--long", type=float, default=0.0,
                        help="also time the displaced solver alone to this g t")
    parser.add_argument("--repeat", type=int, default=3, help="best of this many (ours)")
    parser.add_argument("--dynamiqs", action="store_true", help="also run dynamiqs mesolve")
    parser.add_argument("--skip-qutip", action="store_true", help="do not run QuTiP")
    parser.add_argument("--threads", type=int, default=1, help="SolverOptions.threads")
    parser.add_argument("--no-correlations", action="store_true",
                        help="SolverOptions(correlations=False)")
    args = parser.parse_args()

    model = qb.catalytic_model(G, G, F, GAMMA, 0.0, args.nth)
    times = np.linspace(0.0, args.gt / G, args.points)
    opts = qb.SolverOptions(rtol=1e-8, atol=1e-10,
                            threads=args.threads, correlations=not args.no_correlations)

    t_ours, ours = best_of(lambda: qb.solve(model, times, method="displaced", options=opts),
                           args.repeat)
    print(f"Fig. 6{'a' if args.nth == 0 else 'b'} (N = {args.nth:g}) to g t = {args.gt:g}, "
          f"{args.points} output times, rtol 1e-8, atol 1e-10")
    print(f"qbattery displaced: {t_ours:8.2f} s  (frame cutoffs {ours.stats['cutoffs']}, "
          f"dimension {ours.stats['hilbert_dimension']}, {ours.stats['cutoff_growths']} "
          f"growth(s), largest tail {ours.extra['max_tail'][1].max():.1e})")

    cut = args.qutip_cutoff or "auto"
    p = to_qutip(model, cutoffs=cut, stop=float(times[-1]), tol=1e-6)
    scale = float(np.max(ours["battery"]["energy"]))
    if args.dynamiqs:
        t_dq, e_dq, what = run_dynamiqs(p, times, model.modes[-1].frequency)
        de = np.max(np.abs(ours["battery"]["energy"] - e_dq))
        print(f"dynamiqs mesolve  : {t_dq:8.2f} s  ({what}, Fock space {p.space.dims}, "
              f"dimension {p.space.size}, after compiling)")
        print(f"ratio dynamiqs / qbattery: {t_dq / t_ours:.1f}; largest difference: battery "
              f"energy {de:.2e} ({de / scale:.1e} relative)")
    if not args.skip_qutip:
        t_qutip, e_q, w_q = mesolve_battery(model, p, times, rtol=1e-8, atol=1e-10)
        print(f"qutip mesolve     : {t_qutip:8.2f} s  (QuTiP {qutip.__version__}, Fock space "
              f"{p.space.dims}, dimension {p.space.size})")
        print(f"ratio qutip / qbattery: {t_qutip / t_ours:.1f}")
        de = np.max(np.abs(ours["battery"]["energy"] - e_q))
        dw = np.max(np.abs(ours["battery"]["ergotropy"] - w_q))
        print(f"largest difference: battery energy {de:.2e} ({de / scale:.1e} relative), "
              f"ergotropy {dw:.2e}; E_B at the end {ours['battery']['energy'][-1]:.6f}")

    if args.long:
        for points in (101, 401):
            t_long = np.linspace(0.0, args.long / G, points)
            wall, r = best_of(lambda t=t_long: qb.solve(model, t, method="displaced",
                                                         options=opts), args.repeat)
            print(f"long window g t = {args.long:g} ({points} times): {wall:.2f} s (best of "
                  f"{args.repeat}); cutoffs grew "
                  f"{r.stats['cutoff_growths']}x, shrank {r.stats['cutoff_shrinks']}x (dropped "
                  f"{r.stats['shrink_dropped']:.1e}), end {r.stats['cutoffs']}; "
                  f"E_B end {r['battery']['energy'][-1]:.6f}, W_B end "
                  f"{r['battery']['ergotropy'][-1]:.6f}; largest tail "
                  f"{r.extra['max_tail'][1].max():.1e}")

if __name__ == "__main__":
    main()
