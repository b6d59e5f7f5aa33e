"""Fock solver vs dynamiqs (and optionally QuTiP) on the qubit catalyst at fixed cutoffs.

Issue 17's baseline. Problem: ``qb.catalytic_model(0.2, 0.2, 0.1, 0.05,
catalyst="qubit")``, N = 0, drive at omega, t <= 50 (g t <= 10), 51 output times,
the same cutoff c for the charger and the battery (dimension 2 c^2). All methods
solve the same truncated problem in the frame rotating at omega,

    H = g (a q^dag + a^dag q) + g (b q^dag + b^dag q) + F (a + a^dag),   L = sqrt(gamma) a,

at rtol 1e-8, atol 1e-10 in double precision. The dynamiqs operators are built with
``dq.destroy`` and checked against ``qbattery.interop.to_qutip``. dynamiqs' JIT
compilation is excluded from its time: a first call on a tsave of the same shape
over a short window compiles, the second (timed) call reuses it; the first call's
time is printed as "compile". The cutoffs are below what the truncation check asks
for at this window (the Fock solver warns, the comparison is on the same truncated
space). Prints per cutoff the times, ratios, CPU/wall of each (dynamiqs may use
more than one thread) and the largest differences in <n_b> (= E_B, omega = 1) and
<n_q>. Needs dynamiqs (``pip install -e ".[bench]"``); run single-threaded:

    OPENBLAS_NUM_THREADS=1 python benchmarks/fock_vs_dynamiqs.py --cutoffs 12 16 20

Ours computes what dynamiqs does (expectation values; ``correlations = false``, so
not the catalyst's mutual informations, ``--correlations`` adds them) on
``--threads`` threads (``SolverOptions.threads``); a first small solve loads the
compiled kernels (numba's cache), as dynamiqs' compile call is excluded too.
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np

import qbattery as qb
from qbattery.interop import to_qutip

try:
    import dynamiqs as dq
    import jax
except ImportError:
    sys.exit('fock_vs_dynamiqs.py needs dynamiqs: pip install -e ".[bench]"')

G, F, GAMMA = 0.2, 0.1, 0.05
T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[float, float, T]:
    """(wall seconds, process CPU seconds, result) of one call."""
    w0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - w0, time.process_time() - c0, out


def dynamiqs_problem(c: int) -> tuple[Any, Any, Any, list[Any]]:
    """H, L, rho0 and [n_b, n_q] in dynamiqs' current layout (modes charger, qubit,
    battery, as qbattery orders them)."""
    a, q, b = dq.destroy(c, 2, c)
    h = G * (a @ q.dag() + a.dag() @ q) + G * (b @ q.dag() + b.dag() @ q) \
        + F * (a + a.dag())
    jump = np.sqrt(GAMMA) * a
    rho0 = dq.fock_dm((c, 2, c), (0, 0, 0))
    return h, jump, rho0, [b.dag() @ b, q.dag() @ q]


def check_against_qutip(model: qb.Model, c: int, h: Any, jump: Any) -> Any:
    """Largest difference of H and L to qbattery's own export; the QuTiP problem."""
    p = to_qutip(model, cutoffs=c)
    dh = np.abs(p.hamiltonian.full() - h.to_numpy()).max()
    dl = np.abs(p.collapse_operators[0].full() - jump.to_numpy()).max()
    if len(p.collapse_operators) != 1 or dh > 1e-14 or dl > 1e-14:
        sys.exit(f"dynamiqs and qbattery operators differ: |dH| {dh:.2e}, |dL| {dl:.2e}")
    return p


def run_dynamiqs(c: int, times: np.ndarray, rtol: float, atol: float, warm: float
                 ) -> dict[str, Any]:
    h, jump, rho0, ops = dynamiqs_problem(c)
    method = dq.method.Tsit5(rtol=rtol, atol=atol, max_steps=10**7)

    def call(tsave: np.ndarray) -> Any:
        out = dq.mesolve(h, [jump], rho0, tsave, exp_ops=ops, method=method,
                         save_states=False, progress_meter=False)
        jax.block_until_ready(out.expects)
        return out

    short = np.linspace(0.0, warm, times.size)  # same shape: no recompilation
    w_compile, _, _ = timed(lambda: call(short))
    wall, cpu, out = timed(lambda: call(times))
    expects = np.real(np.asarray(out.expects))
    return {"h": h, "jump": jump, "compile": w_compile, "wall": wall, "cpu": cpu,
            "n_b": expects[0], "n_q": expects[1],
            "steps": _steps(out)}


def _steps(out: Any) -> str:
    infos = getattr(out, "infos", None)
    for name in ("nsteps", "num_steps"):
        value = getattr(infos, name, None)
        if value is not None:
            return str(int(np.asarray(value).sum()))
    return "?"


def run_qutip(p: Any, times: np.ndarray, rtol: float, atol: float) -> dict[str, Any]:
    import qutip

    n_b, n_q = p.number("battery"), p.number("catalyst")
    wall, cpu, out = timed(lambda: qutip.mesolve(
        p.hamiltonian, p.initial_state, times, p.collapse_operators, e_ops=[n_b, n_q],
        options={"rtol": rtol, "atol": atol, "nsteps": 10**7, "progress_bar": ""}))
    return {"wall": wall, "cpu": cpu, "n_b": np.real(np.array(out.expect[0])),
            "n_q": np.real(np.array(out.expect[1])), "version": qutip.__version__}


def accuracy(model: qb.Model, c: int, times: np.ndarray, mine: dict[str, Any],
             ours: Any, d: dict[str, Any], args: argparse.Namespace) -> None:
    """Each run's largest error in <n_b> against ours at rtol 1e-11, atol 1e-13 (a
    different method: DOP853 against dynamiqs' Tsit5), and dynamiqs at tighter rtol."""
    opts = qb.SolverOptions(cutoff=c, rtol=1e-11, atol=1e-13, on_truncation="warn", **mine)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = qb.solve(model, times, method="fock", options=opts)["battery"]["energy"]
    mine_error = np.abs(ours["battery"]["energy"] - ref).max()
    their_error = np.abs(d["n_b"] - ref).max()
    print(f"  errors against ours at rtol 1e-11: ours {mine_error:.1e}, dynamiqs "
          f"{their_error:.1e} (rtol {args.rtol:g})")
    for rtol in args.accuracy:
        e = run_dynamiqs(c, times, rtol, rtol / 100, args.warm)
        print(f"  dynamiqs at rtol {rtol:g}, atol {rtol / 100:g}: {e['wall']:8.2f} s "
              f"({e['steps']} steps), error {np.abs(e['n_b'] - ref).max():.1e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cutoffs", type=int, nargs="+", default=[12, 16],
                        help="levels per oscillator (charger and battery)")
    parser.add_argument("--stop", type=float, default=50.0, help="end of the window")
    parser.add_argument("--points", type=int, default=51, help="output times")
    parser.add_argument("--rtol", type=float, default=1e-8)
    parser.add_argument("--atol", type=float, default=1e-10)
    parser.add_argument("--layout", choices=("dia", "dense"), default="dia",
                        help="dynamiqs matrix layout")
    parser.add_argument("--warm", type=float, default=0.5,
                        help="window of dynamiqs' compiling call")
    parser.add_argument("--qutip-max-cutoff", type=int, default=16,
                        help="run QuTiP mesolve up to this cutoff (0: never)")
    parser.add_argument("--threads", type=int, default=1, help="SolverOptions.threads")
    parser.add_argument("--correlations", action="store_true",
                        help="also the catalyst's mutual informations (not in dynamiqs' run)")
    parser.add_argument("--accuracy", type=float, nargs="*", default=None, metavar="RTOL",
                        help="equal accuracy: also run dynamiqs at these rtol (atol = rtol/100) "
                        "and print every run's error against ours at rtol 1e-11")
    args = parser.parse_args()

    dq.set_layout(args.layout)
    dq.set_precision("double")
    model = qb.catalytic_model(G, G, F, GAMMA, catalyst="qubit")
    times = np.linspace(0.0, args.stop, args.points)
    print(f"qubit catalyst, N = 0, t <= {args.stop:g} (g t <= {G * args.stop:g}), "
          f"{args.points} output times, rtol {args.rtol:g}, atol {args.atol:g}; "
          f"dynamiqs {dq.__version__} (JAX {jax.__version__}, {jax.devices()[0]}, "
          f"layout {args.layout}, Tsit5), qbattery fock (DOP853)")
    rows = []
    mine = {"threads": args.threads, "correlations": args.correlations}
    with warnings.catch_warnings():  # load the compiled kernels (serial and threaded)
        warnings.simplefilter("ignore")
        qb.solve(model, [0.0, 0.5], method="fock",
                 options=qb.SolverOptions(cutoff=12, on_truncation="warn", **mine))
    print(f"qbattery: threads {args.threads}, correlations {args.correlations}")
    for c in args.cutoffs:
        opts = qb.SolverOptions(cutoff=c, rtol=args.rtol, atol=args.atol,
                                on_truncation="warn", **mine)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            w_ours, c_ours, ours = timed(lambda opts=opts: qb.solve(
                model, times, method="fock", options=opts))
        dim = ours.stats["hilbert_dimension"]
        tail = ours.extra["max_tail"][1].max()
        print(f"\ncutoff {c} (dimension {dim}; largest top-level tail {tail:.1e})")
        print(f"  qbattery fock : {w_ours:8.2f} s (cpu/wall {c_ours / w_ours:.2f}; "
              f"{ours.stats['steps']} steps, {ours.stats['nfev']} rhs)")
        d = run_dynamiqs(c, times, args.rtol, args.atol, args.warm)
        p = check_against_qutip(model, c, d["h"], d["jump"])
        print(f"  dynamiqs      : {d['wall']:8.2f} s (cpu/wall {d['cpu'] / d['wall']:.2f}; "
              f"compile call {d['compile']:.2f} s; {d['steps']} steps)")
        e_ours = ours["battery"]["energy"]
        nq_ours = ours["catalyst"]["occupation"]
        de_d = np.abs(e_ours - d["n_b"]).max()
        dq_d = np.abs(nq_ours - d["n_q"]).max()
        row = {"c": c, "dim": dim, "ours": w_ours, "dq": d["wall"], "compile": d["compile"],
               "de_d": de_d, "dq_d": dq_d, "qutip": None}
        if c <= args.qutip_max_cutoff:
            qt = run_qutip(p, times, args.rtol, args.atol)
            row.update(qutip=qt["wall"], de_q=np.abs(e_ours - qt["n_b"]).max(),
                       dq_q=np.abs(nq_ours - qt["n_q"]).max())
            print(f"  qutip mesolve : {qt['wall']:8.2f} s (QuTiP {qt['version']}, "
                  f"cpu/wall {qt['cpu'] / qt['wall']:.2f})")
        print(f"  ratio ours / dynamiqs {w_ours / d['wall']:.2f}"
              + (f", qutip / dynamiqs {row['qutip'] / d['wall']:.2f}, "
                 f"ours / qutip {w_ours / row['qutip']:.2f}" if row["qutip"] else ""))
        print(f"  largest difference vs dynamiqs: <n_b> {de_d:.1e}, <n_q> {dq_d:.1e}"
              + (f"; vs qutip: <n_b> {row['de_q']:.1e}, <n_q> {row['dq_q']:.1e}"
                 if row["qutip"] else "")
              + f" (E_B at the end {e_ours[-1]:.6f})")
        rows.append(row)
        if args.accuracy is not None:
            accuracy(model, c, times, mine, ours, d, args)
    print("\n| cutoff | D | qbattery fock | dynamiqs " + args.layout
          + " (compile) | QuTiP | ours/dq | |ΔE_B| dq | |Δn_q| dq |")
    for r in rows:
        qt = f"{r['qutip']:.2f} s" if r["qutip"] else "–"
        print(f"| {r['c']} | {r['dim']} | {r['ours']:.2f} s | {r['dq']:.2f} s "
              f"({r['compile']:.1f} s) | {qt} | {r['ours'] / r['dq']:.2f} | "
              f"{r['de_d']:.1e} | {r['dq_d']:.1e} |")


if __name__ == "__main__":
    main()
