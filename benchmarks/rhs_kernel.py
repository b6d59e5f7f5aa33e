"""One packed Lindblad right-hand side: the compiled pass by diagonals against SciPy's
CSR products, by dimension (issue 17).

Two generators: the Fock engine's qubit catalyst (``catalytic_model(0.2, 0.2, 0.1,
0.05)``, N = 0, cutoff c for charger and battery: D = 2 c^2) and the displaced frame's
on Fig. 6b (N = 1; cutoffs (c_a, 2, c_b), frame coefficients fixed at 0.1 + 0.05i).
For each D prints the time of ``Lindblad.apply_packed`` (best of 3 repeats) on the CSR
path (``lindblad.KERNEL = "numpy"``), the compiled one on 1 thread and on 2
(``Lindblad.threads``, numba's count set once around the timing as an integration
does; below ``kernels.PARALLEL_MIN_DIM`` the compiled one stays serial), and the
largest difference of the compiled results from the CSR one.

    OPENBLAS_NUM_THREADS=1 python benchmarks/rhs_kernel.py
"""

from __future__ import annotations

import argparse
import timeit
from typing import Any

import numpy as np

import qbattery as qb
from qbattery.hilbert import FockSpace, Lindblad, jumps, kernels, lindblad
from qbattery.solvers.displaced_frame import DisplacedEquations
from qbattery.solvers.fock import PackedGenerator
from qbattery.terms import compiled


def fock_case(c: int) -> tuple[Lindblad, Any]:
    problem = compiled(qb.catalytic_model(0.2, 0.2, 0.1, 0.05))
    space = FockSpace.of(problem, {"charger": c, "catalyst": 2, "battery": c})
    lind = Lindblad(space, jumps(problem))
    return lind, PackedGenerator(qb.hilbert.rotating_hamiltonian(problem, space), lind).at(0.0)


def displaced_case(ca: int, cb: int) -> tuple[Lindblad, Any]:
    problem = compiled(qb.catalytic_model(0.2, 0.2, 0.1, 0.05, 0.0, 1.0))
    eqs = DisplacedEquations(problem, FockSpace.of(problem, {"charger": ca, "catalyst": 2,
                                                             "battery": cb}))
    return eqs.lind, eqs.gen.at(np.full(len(eqs.G["a"]), 0.1 + 0.05j))


def timed(lind: Lindblad, stacked: Any, m: np.ndarray, kernel: str, threads: int,
          number: int) -> tuple[float, np.ndarray]:
    lindblad.KERNEL = kernel
    lind.threads = threads
    out = np.empty_like(m)
    with kernels.using_threads(threads):  # as an integration sets it, once
        lind.apply_packed(m, stacked, out=out)
        best = min(timeit.repeat(lambda: lind.apply_packed(m, stacked, out=out),
                                 number=number, repeat=3)) / number
    return best, out.copy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fock", type=int, nargs="*", default=[4, 8, 10, 16, 24])
    parser.add_argument("--displaced", nargs="*", default=["4x4", "6x6", "8x11", "12x14",
                                                           "20x25"])
    args = parser.parse_args()
    cases = [(f"fock c={c}", *fock_case(c)) for c in args.fock]
    for spec in args.displaced:
        ca, cb = (int(x) for x in spec.split("x"))
        cases.append((f"displaced {spec}", *displaced_case(ca, cb)))
    print(f"{'case':>16} {'D':>5} {'CSR':>10} {'1 thread':>10} {'2 threads':>10}  max diff")
    for name, lind, stacked in cases:
        d = stacked.shape[1]
        m = np.random.default_rng(0).standard_normal((d, d))
        number = max(3, int(2e6 / d**2))
        csr, ref = timed(lind, stacked, m, "numpy", 1, number)
        one, a = timed(lind, stacked, m, "numba", 1, number)
        two, b = timed(lind, stacked, m, "numba", 2, number)
        diff = max(float(np.abs(a - ref).max()), float(np.abs(b - ref).max()))
        print(f"{name:>16} {d:>5} {csr * 1e6:>8.1f}us {one * 1e6:>8.1f}us "
              f"{two * 1e6:>8.1f}us  {diff:.1e}")
    lindblad.KERNEL = "numba"


if __name__ == "__main__":
    main()
