"""Fock solver vs qutip.mesolve on Fig. 6a (qubit catalyst, N = 0) at equal cutoff.

Both solve the same truncated problem (qbattery.interop.to_qutip exports it):
the cutoffs are those qbattery's "auto" choice ends with (its truncation checks
pass), the tolerances are the same (rtol, atol), and the output times are the
same. Prints each time, the ratio, and the largest differences in the battery's
energy and ergotropy. Run single-threaded for reproducible timings:

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/fock_vs_qutip.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import qutip
from _common import mesolve_battery

import qbattery as qb
from qbattery.interop import to_qutip

G, F, GAMMA = 0.2, 0.1, 0.05


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gt", type=float, default=20.0, help="end of the window, g t")
    parser.add_argument("--points", type=int, default=21, help="output times")
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-10)
    args = parser.parse_args()

    model = qb.catalytic_model(G, G, F, GAMMA)  # Fig. 6a: qubit catalyst, gamma_q = 0, N = 0
    times = np.linspace(0.0, args.gt / G, args.points)
    opts = qb.SolverOptions(rtol=args.rtol, atol=args.atol)

    start = time.perf_counter()
    ours = qb.solve(model, times, method="fock", options=opts)
    t_ours = time.perf_counter() - start
    cut = {n: int(d) for n, d, k in zip(model.names, ours.extra["cutoff"][1],
                                          (m.kind for m in model.modes), strict=True)
           if k == "oscillator"}
    print(f"Fig. 6a to g t = {args.gt:g}, {args.points} output times, cutoffs {cut} "
          f"(Hilbert dimension {ours.stats['hilbert_dimension']}), rtol={args.rtol:g}, "
          f"atol={args.atol:g}")
    print(f"qbattery fock : {t_ours:8.2f} s (auto cutoffs, {ours.stats['cutoff_attempts']} "
          f"attempt(s); steps {ours.stats['steps']}, rhs evaluations {ours.stats['nfev']}; "
          f"largest tail {ours.extra['max_tail'][1].max():.2e})")

    p = to_qutip(model, cutoffs=cut)
    dims = p.space.dims
    t_qutip, e_q, w_q = mesolve_battery(model, p, times, rtol=args.rtol, atol=args.atol)
    print(f"qutip mesolve : {t_qutip:8.2f} s (QuTiP {qutip.__version__}, same space {dims})")
    print(f"ratio qutip / qbattery: {t_qutip / t_ours:.2f}")
    de = np.max(np.abs(ours["battery"]["energy"] - e_q))
    dw = np.max(np.abs(ours["battery"]["ergotropy"] - w_q))
    print(f"largest difference: battery energy {de:.2e}, ergotropy {dw:.2e} "
          f"(battery energy at the end {ours['battery']['energy'][-1]:.6f})")


if __name__ == "__main__":
    main()
