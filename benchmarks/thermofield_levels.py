"""Issue 17 idea, measured: does a thermofield (Bogoliubov) frame make the thermal qubit
catalyst small?

A thermal bath gamma (N+1) D[a] + gamma N D[a^dag] on the charger a is exactly the
reduced dynamics of a and an auxiliary mode b (Hamiltonian -omega b^dag b) with the jumps
sqrt(gamma) A, sqrt(gamma) B, A = c a + s b^dag, B = c b + s a^dag, c = sqrt(N + 1),
s = sqrt(N) (the cross terms trace out). In the variables (A, B), a = c A - s B^dag, the
thermal part of the state is the vacuum and both jumps are at zero temperature; the
charger-qubit coupling g (a^dag sigma + h.c.) becomes
g c (A^dag sigma + h.c.) - g s (B sigma + B^dag sigma^dag), an anti-Jaynes-Cummings term
that lets the qubit pump quanta into A and B.

This script solves the undriven charger (N = 1, gamma = 0.05) + qubit (g = 0.2) in
that frame with QuTiP (cutoff --levels for A and B) to t = 100 (g t = 20), checks the
charger's occupation and the qubit's population against the direct solve (charger
cutoff 30), and prints how many quanta the frame's modes hold and their top-level tails.

    OPENBLAS_NUM_THREADS=1 python benchmarks/thermofield_levels.py [--levels 22] [--drive 0]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import qutip as qt

G, GAMMA, N = 0.2, 0.05, 1.0


def _ground() -> qt.Qobj:
    return next(qt.basis(2, j) for j in (0, 1)
                if abs(qt.expect(qt.sigmap() * qt.sigmam(), qt.basis(2, j))) < 1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", type=int, default=22)
    parser.add_argument("--drive", type=float, default=0.0, help="F on the charger")
    args = parser.parse_args()
    d, F = args.levels, args.drive
    c, s = np.sqrt(N + 1), np.sqrt(N)
    A = qt.tensor(qt.destroy(d), qt.qeye(d), qt.qeye(2))
    B = qt.tensor(qt.qeye(d), qt.destroy(d), qt.qeye(2))
    sm = qt.tensor(qt.qeye(d), qt.qeye(d), qt.sigmam())
    H = G * c * (A.dag() * sm + A * sm.dag()) - G * s * (B * sm + B.dag() * sm.dag()) \
        + F * c * (A + A.dag()) - F * s * (B + B.dag())
    psi0 = qt.tensor(qt.basis(d, 0), qt.basis(d, 0), _ground())
    t = np.linspace(0, 100, 11)
    n_charger = c ** 2 * A.dag() * A + s ** 2 * B * B.dag() - c * s * (A.dag() * B.dag() + B * A)
    top = [qt.tensor(qt.projection(d, d - 1, d - 1), qt.qeye(d), qt.qeye(2)),
           qt.tensor(qt.qeye(d), qt.projection(d, d - 1, d - 1), qt.qeye(2))]
    opts = {"atol": 1e-10, "rtol": 1e-8}
    start = time.perf_counter()
    r = qt.mesolve(H, psi0, t, [np.sqrt(GAMMA) * A, np.sqrt(GAMMA) * B],
                   e_ops=[A.dag() * A, B.dag() * B, sm.dag() * sm, n_charger, *top], options=opts)
    seconds = time.perf_counter() - start
    a = qt.tensor(qt.destroy(30), qt.qeye(2))
    sq = qt.tensor(qt.qeye(30), qt.sigmam())
    direct = qt.mesolve(G * (a.dag() * sq + a * sq.dag()) + F * (a + a.dag()),
                        qt.tensor(qt.thermal_dm(30, N), _ground().proj()), t,
                        [np.sqrt(GAMMA * (N + 1)) * a, np.sqrt(GAMMA * N) * a.dag()],
                        e_ops=[a.dag() * a, sq.dag() * sq], options=opts)
    print(f"thermofield frame, {d} levels each for A and B (dimension {2 * d * d}), "
          f"{seconds:.1f} s; direct solve: charger cutoff 30")
    print(f"{'t':>6} {'<A^dag A>':>10} {'<B^dag B>':>10} {'tail A':>9} {'tail B':>9} "
          f"{'n_charger':>10} {'direct':>10} {'p_qubit':>9} {'direct':>9}")
    for k in range(t.size):
        print(f"{t[k]:6.1f} {r.expect[0][k]:10.4f} {r.expect[1][k]:10.4f} {r.expect[4][k]:9.1e} "
              f"{r.expect[5][k]:9.1e} {r.expect[3][k]:10.6f} {direct.expect[0][k]:10.6f} "
              f"{r.expect[2][k]:9.6f} {direct.expect[1][k]:9.6f}")


if __name__ == "__main__":
    main()
