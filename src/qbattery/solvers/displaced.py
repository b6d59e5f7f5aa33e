r"""Exact Lindblad solver in a moving displaced frame (``method = "displaced"``).

The oscillators of a charger-catalyst-battery network carry large coherent
amplitudes and small fluctuations. Writing rho = D(alpha) rho' D(alpha)^dag,
D(alpha) = prod_i exp(alpha_i a_i^dag - alpha_i^* a_i) over the oscillators,
and evolving alpha(t) together with rho', the frame state rho' keeps near-zero
mean amplitudes and needs only a small Fock cutoff.

Derivation (rotating frame of ``model.frame_frequency``; x = a or sigma_-).
Substituting a -> a + alpha in the master equation:
- H(a + alpha) keeps its quadratic part and gains linear terms
  L_i a_i^dag + h.c., L_i = Delta_i alpha_i + sum_(j osc) g_ij alpha_j
  + F_i e^{-i delta_i t}, plus a qubit drive g_ij (alpha_i sigma_j^+ + h.c.)
  for every oscillator-qubit coupling;
- gamma (N+1) D[a + alpha] + gamma N D[a^dag + alpha^*] = the same dissipators
  plus -i [(i gamma / 2)(alpha^* a - alpha a^dag), .] (independent of N);
- the moving frame adds -D^dag dD/dt, i.e. -i [i (alpha_dot^* a - alpha_dot a^dag), .].
Choosing alpha from the exact first-moment equations,

    alpha_dot_i = -i (Delta_i alpha_i + sum_(j osc) g_ij alpha_j
                      + sum_(j qubit) g_ij <sigma_j> + F_i e^{-i delta_i t}) - gamma_i alpha_i / 2,

cancels every linear term except -g_ij (<sigma_j> a_i^dag + h.c.), so

    d rho'/dt = -i [H', rho'] + (the same dissipators on rho'),
    H' = H_quadratic + (qubit drives)
         + sum_(i osc, j qubit) g_ij (alpha_i sigma_j^+ - <sigma_j> a_i^dag + h.c.).

d<a'>/dt is then linear and homogeneous in <a'>: <a'> stays zero up to
truncation (a wrong sign in the frame term makes it grow, which the tests
check). Observables are rebuilt exactly: <a> = alpha + <a'>,
<n> = |alpha|^2 + <n'> + 2 Re(alpha^* <a'>); a mode's ergotropy uses the
spectrum of the frame's reduced state (a local unitary image of the true one);
entropies and correlations are frame invariant.

Cutoffs follow the fluctuations only (the Gaussian twin's thermal occupation).
When a top-level population exceeds ``truncation_tol`` an automatic cutoff
grows and the run resumes from the last output time, where every tail was
still within tolerance (the state is embedded in the larger space), so no
work before that time is repeated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray
from threadpoolctl import threadpool_limits

from ..config import SolverOptions
from ..hilbert import (
    FockSpace,
    Lindblad,
    NeedsLargerCutoff,
    RotatingHamiltonian,
    TruncationMonitor,
    catalyst_observables,
    integrate,
    jumps,
    levels_needed,
    marginals,
    mode_observables,
    pair_operators,
    plan_cutoffs,
    rotating_hamiltonian,
    stable_step,
    tails,
)
from ..hilbert.states import initial_state
from ..hilbert.truncation import SAFETY
from ..model import Model
from ..result import Extra, SolverOutput
from . import SolverSpec, register
from .fock import CATALYST

#: Fewest levels an automatic frame cutoff starts with.
MIN_FRAME_LEVELS = 6


def _supports(model: Model) -> str | None:
    return None


class AffineSparse:
    """M(c) = base + sum_k c_k terms_k on a fixed sparsity pattern (no re-allocation)."""

    def __init__(self, base: sp.spmatrix, terms: list[sp.spmatrix]) -> None:
        pattern = abs(sp.csr_matrix(base, dtype=complex))
        for t in terms:
            pattern = pattern + abs(t)
        pattern = sp.csr_matrix(pattern)
        pattern.sum_duplicates()
        pattern.sort_indices()
        n = pattern.shape[1]
        coo = pattern.tocoo()
        self._keys = coo.row.astype(np.int64) * n + coo.col
        self.matrix = sp.csr_matrix((np.zeros(pattern.nnz, dtype=complex), pattern.indices,
                                     pattern.indptr), shape=pattern.shape)
        self.base = self._align(base)
        self.terms = np.array([self._align(t) for t in terms]).reshape(len(terms), pattern.nnz)

    def _align(self, m: sp.spmatrix) -> NDArray[np.complex128]:
        c = sp.coo_matrix(m)
        out = np.zeros(self._keys.size, dtype=complex)
        idx = np.searchsorted(self._keys, c.row.astype(np.int64) * m.shape[1] + c.col)
        np.add.at(out, idx, c.data)
        return out

    def at(self, coeffs: NDArray[np.complex128]) -> sp.csr_matrix:
        self.matrix.data[:] = self.base + coeffs @ self.terms
        return self.matrix


class DisplacedEquations:
    """d/dt (alpha, rho') on a fixed truncated space.

    The time-dependent generator is -i H'(t) - (1/2) sum c^dag c =
    G0 + sum_k coeff_k(t) O_k with coeff = Ga alpha + Gac alpha^* + Gs <sigma>
    + Gsc <sigma>^* + Gp e^{-i delta t} + Gpc e^{i delta t} (detuned qubit drives).
    """

    def __init__(self, model: Model, space: FockSpace) -> None:
        self.space = space
        wr = model.frame_frequency
        n = len(model.modes)
        self.osc = [i for i in range(n) if model.modes[i].kind == "oscillator"]
        self.qub = [i for i in range(n) if model.modes[i].kind == "qubit"]
        pos = {i: k for k, i in enumerate(self.osc)}
        qpos = {j: k for k, j in enumerate(self.qub)}
        no, nq = len(self.osc), len(self.qub)
        self.A = np.zeros((no, no), dtype=complex)
        for i in self.osc:
            self.A[pos[i], pos[i]] = -1j * (model.modes[i].frequency - wr)
        for i, rate, _ in model.bath_terms():
            if i in pos:
                self.A[pos[i], pos[i]] -= 0.5 * rate
        self.B = np.zeros((no, nq), dtype=complex)
        self.osc_qubit: list[tuple[tuple[int, int], float]] = []
        x = space.lowering_operators
        ops: list[sp.spmatrix] = []
        rows: list[tuple[str, int, complex]] = []
        for c in model.couplings:
            i, j = model.index(c.between[0]), model.index(c.between[1])
            if i in pos and j in pos:
                self.A[pos[i], pos[j]] += -1j * c.strength
                self.A[pos[j], pos[i]] += -1j * c.strength
            elif i in pos or j in pos:
                o, q = (i, j) if i in pos else (j, i)
                self.B[pos[o], qpos[q]] += -1j * c.strength
                self.osc_qubit.append(((o, q), c.strength))
                # -i g (alpha_o sigma_q^+ + alpha_o^* sigma_q - <s_q> a_o^dag - <s_q>^* a_o)
                ops += [x[q].T, x[q], x[o].T, x[o]]
                g = -1j * c.strength
                rows += [("a", pos[o], g), ("ac", pos[o], g), ("s", qpos[q], -g),
                         ("sc", qpos[q], -g)]
        fcols, fdelta = [], []
        qubit_drives = []
        for d in model.drives:
            k = model.index(d.mode)
            if k in pos:
                col = np.zeros(no, dtype=complex)
                col[pos[k]] = -1j * d.amplitude
                fcols.append(col)
                fdelta.append(d.frequency - wr)
            else:
                qubit_drives.append(d)
        self.F = np.column_stack(fcols) if fcols else np.zeros((no, 0), dtype=complex)
        self.fdelta = np.array(fdelta)
        ham = rotating_hamiltonian(model, space, drives=qubit_drives)
        self.pdelta = np.array([delta for delta, _ in ham.oscillating])
        for k, (_, v) in enumerate(ham.oscillating):  # as RotatingHamiltonian.at: e^{i d t} V
            ops += [v, v.T]
            rows += [("p", k, -1j), ("pc", k, -1j)]
        sizes = {"a": no, "ac": no, "s": nq, "sc": nq, "p": self.pdelta.size,
                 "pc": self.pdelta.size}
        self.G = {key: np.zeros((len(ops), size), dtype=complex) for key, size in sizes.items()}
        for r, (key, k, g) in enumerate(rows):
            self.G[key][r, k] = g
        self.lind = Lindblad(space, jumps(model))
        self.static_hamiltonian = ham.static
        static = -1j * ham.static - sp.diags(self.lind.half_decay)
        self.gen = AffineSparse(static, ops)
        self.sigma = [sp.coo_matrix(x[j]) for j in self.qub]
        self.pairs = pair_operators(model, space)
        self.no = no
        self.opos, self.qpos = pos, qpos

    def split(self, y: NDArray[np.complex128]) -> tuple[NDArray[np.complex128],
                                                         NDArray[np.complex128]]:
        dim = self.space.size
        return y[:self.no], np.ascontiguousarray(y[self.no:]).reshape(dim, dim)

    def sigma_mean(self, rho: NDArray[np.complex128]) -> NDArray[np.complex128]:
        """<sigma_-> of each qubit, tr(sigma rho)."""
        return np.array([np.sum(op.data * rho[op.col, op.row]) for op in self.sigma],
                        dtype=complex)

    def rhs(self, t: float, y: NDArray[np.complex128]) -> NDArray[np.complex128]:
        alpha, rho = self.split(y)
        sig = self.sigma_mean(rho)
        dalpha = self.A @ alpha + self.B @ sig + self.F @ np.exp(-1j * self.fdelta * t)
        ph = np.exp(1j * self.pdelta * t)
        G = self.G
        coeff = (G["a"] @ alpha + G["ac"] @ alpha.conj() + G["s"] @ sig + G["sc"] @ sig.conj()
                 + G["p"] @ ph + G["pc"] @ ph.conj())
        drho = self.lind.apply(rho, self.gen.at(coeff))
        return np.concatenate([dalpha, drho.ravel()])


def embed(rho: NDArray[np.complex128], old: FockSpace, new: FockSpace
          ) -> NDArray[np.complex128]:
    """rho on ``old`` as a state of the larger ``new`` (zeros in the added levels)."""
    t = rho.reshape(old.dims + old.dims)
    pad = [(0, b - a) for a, b in zip(old.dims, new.dims, strict=True)] * 2
    return np.pad(t, pad).reshape(new.size, new.size)


def twin_estimate(model: Model, names: tuple[str, ...], stop: float,
                  options: SolverOptions) -> dict[str, int]:
    """Cutoffs for the fluctuations from the Gaussian twin.

    The twin (qubits replaced by oscillators) is solved exactly on [0, stop];
    each automatic oscillator gets the levels a thermal state of its largest
    fluctuation occupation needs (mean amplitude removed; at least
    ``MIN_FRAME_LEVELS``).
    """
    from . import solve

    twin = model.with_qubits_as_oscillators()
    res = solve(twin, np.linspace(0.0, max(stop, 1e-9), 129), method="gaussian")
    fluct = res.extra["fluctuation"][1]
    out = {}
    for name in names:
        occ = float(np.max(fluct[model.index(name)]))
        out[name] = max(MIN_FRAME_LEVELS, levels_needed(
            0.0, occ, SAFETY * options.truncation_tol, options.max_cutoff))
    return out


class _ResumableMonitor(TruncationMonitor):
    """Stops at the first excess of an automatic cutoff, so the run can resume from
    the last output time (whose tails were all within tolerance)."""

    ABORT = 1.0


def _max_step(eqs: DisplacedEquations, static_spread: float
              ) -> Callable[[NDArray[np.complex128]], float]:
    """Explicit-RK stability cap at the current state (see :func:`stable_step`).

    H' = static + sum over oscillator-qubit couplings of
    g (alpha sigma^+ - <sigma> a^dag + h.c.), whose spread is at most
    2 g (|alpha| + |<sigma>| sqrt(d - 1)) each; alpha moves little within a
    step, and a 25 % margin covers it.
    """
    decay = eqs.lind.max_decay

    def cap(y: NDArray[np.complex128]) -> float:
        alpha, rho = eqs.split(y)
        sig = eqs.sigma_mean(rho)
        extra = 0.0
        for (o, q), g in eqs.osc_qubit:
            extra += 2.0 * g * (abs(alpha[eqs.opos[o]]) + abs(sig[eqs.qpos[q]])
                                * np.sqrt(eqs.space.dims[o] - 1.0))
        return stable_step(static_spread + 1.25 * extra, decay, "DOP853")
    return cap


def _run(model: Model, times: NDArray[np.float64], options: SolverOptions) -> SolverOutput:
    plan = plan_cutoffs(model, options.cutoff)
    auto = twin_estimate(model, plan.auto, float(times[-1]), options)
    cutoffs = {**plan.fixed, **auto}
    n_modes, n_t = len(model.modes), times.size
    occ = np.zeros((n_modes, n_t))
    amp = np.zeros((n_modes, n_t), dtype=complex)
    coh = np.zeros((len(model.couplings), n_t), dtype=complex)
    erg = np.zeros((n_modes, n_t))
    disp = np.zeros((n_modes, n_t), dtype=complex)
    tail = np.zeros((n_modes, n_t))
    cutoff_used = np.zeros((n_modes, n_t), dtype=int)
    catalyst: dict[str, NDArray[np.float64]] = {}
    freq = np.array([m.frequency for m in model.modes])
    pairs_idx = [(model.index(c.between[0]), model.index(c.between[1])) for c in model.couplings]

    space = FockSpace.of(model, cutoffs)
    eqs = DisplacedEquations(model, space)
    alpha0 = np.array([model.modes[i].initial_amplitude for i in eqs.osc], dtype=complex)
    y = np.concatenate([alpha0, initial_state(model, space, displacements=[
        m.initial_amplitude for m in model.modes]).ravel()])
    start, t0 = 0, 0.0
    monitor = _ResumableMonitor(space, options, plan.auto)
    stats: dict[str, Any] = {"steps": 0, "nfev": 0, "cutoff_growths": 0}
    last: dict[str, Any] = {"k": -1, "y": y, "t": 0.0}

    def on_output(k: int, t: float, yk: NDArray[np.complex128]) -> None:
        k += start
        alpha, rho = eqs.split(yk)
        populations = marginals(rho, space)
        tail[:, k] = tails(populations, space)
        monitor.check(t + t0, populations)
        a = np.zeros(n_modes, dtype=complex)
        a[eqs.osc] = alpha
        o, x, c, w = mode_observables(rho, space, model, eqs.pairs)
        occ[:, k] = o + np.abs(a) ** 2 + 2 * np.real(a.conj() * x)
        amp[:, k] = a + x
        erg[:, k] = w + freq * (occ[:, k] - o)
        for p, (i, j) in enumerate(pairs_idx):
            coh[p, k] = c[p] + np.conj(a[j]) * x[i] + a[i] * np.conj(x[j]) + np.conj(a[j]) * a[i]
        disp[:, k] = a
        cutoff_used[:, k] = space.dims
        if CATALYST in model.names:
            q = model.index(CATALYST)
            for name, value in catalyst_observables(rho, space, model, catalyst=CATALYST,
                                                    displacement=a[q]).items():
                catalyst.setdefault(name, np.zeros(n_t))[k] = value
        last.update(k=k, y=yk.copy(), t=t + t0)

    def rhs(t: float, yy: NDArray[np.complex128]) -> NDArray[np.complex128]:
        return eqs.rhs(t + t0, yy)

    def on_step(t: float, yy: NDArray[np.complex128]) -> None:
        monitor.check(t + t0, marginals(eqs.split(yy)[1], space))

    while True:
        sub = times[start:] - t0
        spread = RotatingHamiltonian(eqs.static_hamiltonian).spread()
        with threadpool_limits(limits=1, user_api="blas"):
            try:
                run = integrate(rhs, y, sub, rtol=options.rtol, atol=options.atol,
                                on_output=on_output, on_step=on_step, method="DOP853",
                                max_step=_max_step(eqs, spread))
            except NeedsLargerCutoff as need:
                stats["cutoff_growths"] += 1
                cutoffs = {**cutoffs, **need.cutoffs}
                new = FockSpace.of(model, cutoffs)
                alpha, rho = eqs.split(np.asarray(last["y"]))
                y = np.concatenate([alpha, embed(rho, space, new).ravel()])
                space, eqs = new, DisplacedEquations(model, new)
                monitor = _ResumableMonitor(space, options, plan.auto)
                start = int(last["k"]) + 1  # outputs up to last["k"] are final
                t0 = float(last["t"])
                last["y"] = y  # a second growth before the next output restarts from here
                continue
        stats["steps"] += run["steps"]
        stats["nfev"] += run["nfev"]
        break
    monitor.finish()
    # Kept outputs had every tail within tolerance (else the segment was redone);
    # the final segment's monitor also saw every step since its start.
    max_tail = np.maximum(tail.max(axis=1), monitor.max_tail)
    extra: Extra = {
        "displacement": (("mode", "time"), disp),
        "cutoff": (("mode",), np.array(space.dims)),
        "cutoff_at": (("mode", "time"), cutoff_used),
        "max_tail": (("mode",), max_tail),
        "tail": (("mode", "time"), tail),
    }
    extra.update({name: (("time",), values) for name, values in catalyst.items()})
    stats["cutoffs"] = ", ".join(f"{n}={d}" for n, d in cutoffs.items())
    return SolverOutput(occupation=occ, amplitude=amp, pair_coherence=coh, ergotropy=erg,
                        extra=extra, stats={"hilbert_dimension": space.size, **stats})


SPEC = register(SolverSpec(
    name="displaced", run=_run, supports=_supports, priority=10,
    description="density matrix in a frame that follows the oscillators' mean amplitudes "
                "(small cutoffs for coherently charged oscillators); any network",
))
