r"""The equations of motion in a moving displaced frame (used by ``method = "displaced"``).

The oscillators of a charger-catalyst-battery network carry large coherent
amplitudes and small fluctuations. Writing rho = D(alpha) rho' D(alpha)^dag,
D(alpha) = prod_i exp(alpha_i a_i^dag - alpha_i^* a_i) over the oscillators,
and evolving alpha(t) together with rho', the frame state rho' keeps near-zero
mean amplitudes and needs only a small Fock cutoff.

Derivation (rotating frame of ``model.frame_frequency`` omega_r, x -> x e^{-i omega_r t};
x = a or sigma_-). The frame Hamiltonian is the Fock engine's: (omega_i - omega_r) n_i
static, an exchange coupling g (x_i x_j^dag + h.c.) static, a dipole coupling's
counter-rotating part g (e^{2 i omega_r t} x_i^dag x_j^dag + h.c.), a rotating drive
F (e^{i delta t} x + h.c.), a linear drive that plus F (e^{i phi} e^{i sigma t} x^dag + h.c.),
delta = omega_f - omega_r, sigma = omega_f + omega_r. Substituting a -> a + alpha:

- the quadratic part of H is unchanged (every operator of the Fock engine, the
  counter-rotating ones at 2 omega_r included);
- H gains linear terms L_i(t) a_i^dag + h.c., with
  L_i = Delta_i alpha_i + sum_(j osc) g_ij (alpha_j + e^{2 i omega_r t} alpha_j^*)
  + F_i e^{-i phi} e^{-i delta t} + F_i e^{i phi} e^{i sigma t}
  (the alpha_j^* part only for dipole couplings, the sigma part only for linear drives);
- every oscillator-qubit coupling gives a qubit drive: exchange g (alpha_o sigma_q^+ + h.c.),
  dipole (from g (a sigma^+ + e^{2 i omega_r t} a^dag sigma^+ + h.c.))
  g [(alpha_o + e^{2 i omega_r t} alpha_o^*) sigma_q^+ + h.c.], not rotating-wave;
- gamma (N+1) D[a + alpha] + gamma N D[a^dag + alpha^*] = the same dissipators
  plus -i [(i gamma / 2)(alpha^* a - alpha a^dag), .] (independent of N);
- the moving frame adds -D^dag dD/dt, i.e. -i [i (alpha_dot^* a - alpha_dot a^dag), .].

Choosing alpha from the exact first-moment equations (the terms' blocks: ``drift_entries``
A, ``anomalous_entries`` A_a and B_a, ``forcing`` and ``counter_forcing``),

    alpha_dot = A alpha + B <sigma> + sum_nu e^{i nu t} (A_a alpha^* + B_a <sigma>^*)
                + sum_k e^{-i delta_k t} b_k,

(A = -i (Delta + g) - gamma/2 on the oscillators, B = -i g to the qubits, A_a, B_a = -i g
at nu = 2 omega_r for dipole couplings, b = -i F e^{-i phi} at delta and -i F e^{i phi}
at -sigma for a linear drive) cancels every linear term except the qubit means', so

    d rho'/dt = -i [H', rho'] + (the same dissipators on rho'),
    H' = H_quadratic + (qubit drives)
         + sum_(o osc, q qubit) [ g_oq ((alpha_o + c_oq e^{2 i omega_r t} alpha_o^*) sigma_q^+
               - (<sigma_q> + c_oq e^{2 i omega_r t} <sigma_q>^*) a_o^dag) + h.c. ],

c_oq = 1 for a dipole coupling and 0 for an exchange one (in general the blocks of
:mod:`qbattery.solvers.displaced_terms`). Within the RWA no term has A_a, B_a or a
counter-rotating forcing and the equations are those of the exchange model.

d<a'>/dt is then linear and homogeneous in <a'>, <a'^dag>: <a'> stays zero up to
truncation (a wrong sign in the frame term makes it grow, which the tests
check). Observables are rebuilt exactly: <a> = alpha + <a'>,
<n> = |alpha|^2 + <n'> + 2 Re(alpha^* <a'>), <x_i x_j> = <x_i' x_j'> + alpha_i <x_j'>
+ alpha_j <x_i'> + alpha_i alpha_j (alpha = 0 on qubits); a mode's ergotropy uses the
spectrum of the frame's reduced state (a local unitary image of the true one);
entropies and correlations are frame invariant.

Storage: the state vector is real, [alpha as (Re, Im) pairs, M] with M = Re rho' +
Im rho' (see :mod:`qbattery.hilbert.lindblad`): half the numbers of the complex
rho', Hermitian by construction.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..hilbert import (
    FockSpace,
    Lindblad,
    RotatingHamiltonian,
    anomalous_operators,
    ladder,
    pair_operators,
    resize,
    rotating_hamiltonian,
    stable_step,
)
from ..model import Model
from ..observables import PackedTrace
from ..terms import CompiledModel, compiled
from ..terms.base import dense_block
from .displaced_terms import AffineSparse, CounterRotating, Row, anomalous_groups, frame_drives

__all__ = ["AffineSparse", "DisplacedEquations", "max_step", "resize"]


#: The envelope values of a model without envelopes.
_NO_ENVELOPES = np.ones(0)


class DisplacedEquations:
    """d/dt (alpha, rho') on a fixed truncated space.

    The time-dependent generator is -i H'(t) - (1/2) sum c^dag c =
    G0 + sum_k coeff_k(t) O_k with coeff = Ga alpha + Gac alpha^* + Gs <sigma>
    + Gsc <sigma>^* + Gp e^{-i delta t} + Gpc e^{i delta t} (detuned qubit drives)
    + Gm f(t) e^{-i delta t} + Gmc f(t) e^{i delta t} (terms with an envelope f),
    and beyond the RWA the counter-rotating coefficients of :class:`CounterRotating`
    (the first-moment equation gains its anomalous drift).

    Envelopes: a coupling or drive with an envelope f(t) enters the first-moment
    drift A(t) = A_0 + sum_e f_e(t) A_e, B(t) likewise, the forcing and the frame
    drives of its coefficients with the factor f(t), and H' with f(t) times its
    operator (the derivation holds at every instant: alpha(t) follows the exact
    first moments of the time-dependent model).
    """

    def __init__(self, model: Model | CompiledModel, space: FockSpace, *,
                 threads: int = 1) -> None:
        problem = compiled(model)
        self.space = space
        n = len(problem.modes)
        # Gaussian (displaceable) modes carry the frame; the others (qubits) do not.
        self.osc = [i for i in range(n) if problem.modes[i].kind.gaussian]
        self.qub = [i for i in range(n) if not problem.modes[i].kind.gaussian]
        self.no = len(self.osc)
        mods = problem.modulated()
        self.envelopes = [t.envelope for t in mods if t.envelope is not None]
        env_of = {id(t): e for e, t in enumerate(mods)}
        # d alpha/dt = A(t) alpha + B(t) <sigma> + forcing: the drift matrix's blocks.
        drift = problem.unmodulated().drift().toarray()
        self.A = drift[np.ix_(self.osc, self.osc)]
        self.B = drift[np.ix_(self.osc, self.qub)]
        blocks = [self._blocks(t.drift_entries(problem.frame_frequency), n) for t in mods]
        self.A_env = [a for a, _ in blocks]
        self.B_env = [b for _, b in blocks]
        self._forcing(problem, env_of)
        ops, rows, crows = frame_drives(problem, space, self.osc, self.qub, env_of)
        ham = self._hamiltonian_rows(problem, space, ops, rows)
        sizes = {"a": self.no, "ac": self.no, "s": len(self.qub), "sc": len(self.qub),
                 "p": self.pdelta.size, "pc": self.pdelta.size,
                 "m": self.mdelta.size, "mc": self.mdelta.size}
        self.G = {key: np.zeros((len(ops), size), dtype=complex) for key, size in sizes.items()}
        for r, (key, k, g, _) in enumerate(rows):
            self.G[key][r, k] = g
        self.counter = CounterRotating.build(
            anomalous_groups(problem, self.osc, self.qub, env_of), crows, len(ops), self.no,
            len(self.qub))
        self.beyond_rwa = bool(self.counter)  # the counter-rotating parts are nonzero
        # rows whose coefficient carries an envelope factor: (row indices, envelope index)
        self.row_env = [(np.array([r for r, row in enumerate(rows) if row[3] == e]), e)
                        for e in range(len(self.envelopes))]
        self.row_env = [(r, e) for r, e in self.row_env if r.size]
        self.lind = Lindblad(space, problem.jumps(), threads=threads)
        self.hamiltonian = ham
        static = -1j * ham.static - sp.diags(self.lind.half_decay)
        self.gen = AffineSparse(static, ops)
        self.sigma = [sp.coo_matrix(space.lowering_operators[j]) for j in self.qub]
        self.sigma_mean = PackedTrace(self.sigma, space.size)  # <sigma_-> of each qubit
        self._linear_map()
        self.pairs = pair_operators(problem, space)
        self.anomalous = anomalous_operators(problem, space)
        self.anomalous_pairs = problem.anomalous_pairs
        self.last_t = 0.0

    def _linear_map(self) -> None:
        """[d alpha/dt; coeff] = L @ v for v = [alpha, alpha^*, s, s^*, phases] (s the
        qubit means; phases those of the forcing, the detuned and the enveloped
        parts), and the phases' frequencies: one product per right-hand side."""
        no, nq, G = self.no, len(self.qub), self.G
        phases = ("p", "pc", "m", "mc")
        self._freqs = np.concatenate([-self.fdelta, self.pdelta, -self.pdelta,
                                      self.mdelta, -self.mdelta])
        self._phase0 = 2 * no + 2 * nq
        top = np.hstack([self.A, np.zeros((no, no)), self.B, np.zeros((no, nq)), self.F,
                         *(np.zeros((no, G[k].shape[1])) for k in phases)])
        bottom = np.hstack([G["a"], G["ac"], G["s"], G["sc"],
                            np.zeros((G["a"].shape[0], self.F.shape[1])),
                            *(G[k] for k in phases)])
        self._L = np.vstack([top, bottom]).astype(complex)

    def _hamiltonian_rows(self, problem: CompiledModel, space: FockSpace,
                          ops: list[sp.spmatrix], rows: list[Row]) -> RotatingHamiltonian:
        """H without the oscillators' drives (they are in alpha); appends the operators
        and rows of its detuned (``p``) and enveloped (``m``) parts."""
        qubit_drives = [d for d in problem.drives if d.mode not in self.osc]
        ham = rotating_hamiltonian(problem, space, drives=qubit_drives)
        self.pdelta = np.array([delta for delta, _ in ham.oscillating])
        for k, (_, v) in enumerate(ham.oscillating):  # as RotatingHamiltonian.at: e^{i d t} V
            ops += [v, v.conj().T]
            rows += [("p", k, -1j, -1), ("pc", k, -1j, -1)]
        self.menv = [env for env, _, _ in ham.modulated]
        # each enveloped part's envelope among the terms' (evaluated once per time)
        where = {id(env): e for e, env in enumerate(self.envelopes)}
        self._menv_index = np.array([where[id(env)] for env in self.menv], dtype=int)
        self.mdelta = np.array([delta for _, delta, _ in ham.modulated])
        for k, (_, _, v) in enumerate(ham.modulated):
            ops += [v, v.conj().T]
            rows += [("m", k, -1j, -1), ("mc", k, -1j, -1)]
        return ham

    def _blocks(self, entries: list[tuple[int, int, complex]], n: int
                ) -> tuple[NDArray[np.complex128], NDArray[np.complex128]]:
        """The (oscillator, oscillator) and (oscillator, qubit) blocks of drift entries."""
        full = dense_block(entries, n)
        return full[np.ix_(self.osc, self.osc)], full[np.ix_(self.osc, self.qub)]

    def _forcing(self, problem: CompiledModel, env_of: dict[int, int]) -> None:
        """Forcing columns F (oscillators), their detunings and envelope indices (-1: none):
        every drive's rotating and counter-rotating forcing."""
        n, pos, wr = len(problem.modes), set(self.osc), problem.frame_frequency
        fcols, fdelta, fenv = [], [], []
        for d in problem.drives:
            if d.mode in pos:
                for delta, b in [*d.forcing(n, wr), *d.counter_forcing(n, wr)]:
                    fcols.append(b[self.osc])
                    fdelta.append(delta)
                    fenv.append(env_of.get(id(d), -1))
        self.F = np.column_stack(fcols) if fcols else np.zeros((self.no, 0), dtype=complex)
        self.fdelta = np.array(fdelta)
        self.fenv = np.array(fenv, dtype=int)

    def factors(self, t: float) -> NDArray[np.float64]:
        """Every envelope's value at ``t``."""
        return np.array([float(env(t)) for env in self.envelopes])

    def drift_at(self, f: NDArray[np.float64]) -> tuple[NDArray[np.complex128],
                                                        NDArray[np.complex128]]:
        """A(t), B(t) given the envelope values ``f``."""
        A, B = self.A, self.B
        for fe, Ae, Be in zip(f, self.A_env, self.B_env, strict=True):
            A, B = A + fe * Ae, B + fe * Be
        return A, B

    def split(self, y: NDArray[np.float64]) -> tuple[NDArray[np.complex128],
                                                     NDArray[np.float64]]:
        """(alpha, packed rho') of the real state vector [alpha as (Re, Im) pairs, M]
        (views of ``y``)."""
        dim, no = self.space.size, self.no
        return y[:2 * no].view(np.complex128), y[2 * no:].reshape(dim, dim)

    def join(self, alpha: NDArray[np.complex128], m: NDArray[np.float64]
             ) -> NDArray[np.float64]:
        """The real state vector of alpha and the packed rho' (inverse of :meth:`split`)."""
        pairs = np.ascontiguousarray(alpha, dtype=complex).view(np.float64)
        return np.concatenate([pairs, m.ravel()])

    def _envelopes(self, t: float, v: NDArray[np.complex128]) -> NDArray[np.float64]:
        """The envelope values f(t), with the phases in ``v`` that carry one (forcing,
        enveloped Hamiltonian parts) scaled by it."""
        f = self.factors(t)
        nf, k0 = self.fdelta.size, self._phase0
        v[k0:k0 + nf] *= np.where(self.fenv >= 0, f[self.fenv], 1.0)
        if self.menv:
            menv = f[self._menv_index]
            nm, np_ = menv.size, self.pdelta.size
            at = k0 + nf + 2 * np_
            v[at:at + nm] *= menv
            v[at + nm:at + 2 * nm] *= menv
        return f

    def rhs(self, t: float, y: NDArray[np.float64],
            out: NDArray[np.float64] | None = None) -> NDArray[np.float64]:
        """d/dt of the real state vector ``y`` (into ``out`` if given)."""
        self.last_t = t
        no, nq = self.no, len(self.qub)
        alpha, m = self.split(y)
        sig = self.sigma_mean(m)
        v = np.empty(self._L.shape[1], dtype=complex)
        v[:no], v[2 * no:2 * no + nq] = alpha, sig
        np.conjugate(alpha, out=v[no:2 * no])
        np.conjugate(sig, out=v[2 * no + nq:2 * no + 2 * nq])
        np.exp(1j * t * self._freqs, out=v[self._phase0:])
        f = self._envelopes(t, v) if self.envelopes else _NO_ENVELOPES
        w: NDArray[np.complex128] = self._L @ v
        dalpha, coeff = w[:no], w[no:]
        for fe, Ae, Be in zip(f, self.A_env, self.B_env, strict=True):
            dalpha += fe * (Ae @ alpha + Be @ sig)
        if self.beyond_rwa:
            dalpha += self.counter.drift(t, alpha, sig, f)
            coeff += self.counter.coefficients(t, alpha, sig)
        for rows, e in self.row_env:
            coeff[rows] *= f[e]
        if out is None:
            out = np.empty(y.size)
        out[:2 * no] = dalpha.view(np.float64)
        self.lind.apply_packed(m, self.gen.at(coeff), out=out[2 * no:].reshape(m.shape))
        return out


def max_step(eqs: DisplacedEquations, method: str = "DOP853"
             ) -> Callable[[NDArray[np.float64]], float]:
    """Explicit-RK stability cap at the current state (see :func:`stable_step`).

    H' = H_static + sum_q (Omega_q sigma_q^+ + h.c.) - sum_o (beta_o a_o^dag + h.c.),
    Omega_q = sum_o g_oq alpha_o, beta_o = sum_q g_oq <sigma_q>, so its spread is
    at most the spread of H_static and any qubit drive + sum_q 2 |Omega_q|
    + sum_o 2 |beta_o| lambda_o, lambda_o the largest eigenvalue of a + a^dag on
    d_o levels. The qubit drives add coherently: in the paper's models alpha_A +
    alpha_B -> 0 as the battery saturates, and bounding each |alpha_o| separately
    would halve the step for nothing. Within a step of length h, |Omega_q| grows
    by at most h |d Omega_q / dt|, which the cap allows for; |<sigma_q>| (at most
    1/2) gets a 25 % margin. The cap is re-evaluated after every step, and an
    instability needs many steps beyond it to grow.

    Beyond the RWA, Omega_q and beta_o gain k^T e^{i nu t} alpha^*, k e^{i nu t} <sigma>^*
    (k = i B_a): |Omega_q| gains |k^T alpha^*|, its rate |k^T alpha_dot^*| + |nu| |k^T alpha^*|.

    With envelopes, every coupling enters at its envelope's peak (|Omega_q| <=
    |g_0^T alpha| + sum_e peak_e |g_e^T alpha|, which also bounds it within a step
    whatever the envelopes do there), and d alpha/dt is taken at the time of the
    last right-hand side evaluation.
    """
    spread = eqs.hamiltonian.spread()
    decay = eqs.lind.max_decay
    # g[o, q], the oscillator-qubit couplings: constant ones, then one per envelope
    gs = [(1j * eqs.B, 1.0)] + [(1j * Be, env.peak) for env, Be in
                                zip(eqs.envelopes, eqs.B_env, strict=True) if np.any(Be)]
    ks = [(1j * Ba, 1.0 if e < 0 else eqs.envelopes[e].peak, abs(nu))
          for nu, e, _, Ba in eqs.counter.groups if np.any(Ba)]
    g_abs = sum((p * np.abs(g) for g, p, *_ in gs + ks), np.zeros_like(eqs.B, dtype=float))
    lam = np.array([np.linalg.eigvalsh((ladder(d) + ladder(d).T).toarray())[-1]
                    for d in (eqs.space.dims[o] for o in eqs.osc)]) if eqs.no else np.zeros(0)
    peaks = np.array([eqs.envelopes[e].peak if e >= 0 else 1.0 for e in eqs.fenv])
    drive = (np.abs(eqs.F) * peaks).sum(axis=1) if peaks.size else np.zeros(eqs.no)

    def coherent(v: NDArray[np.complex128]) -> NDArray[np.float64]:
        return sum((p * np.abs(g.T @ v) for g, p in gs), np.zeros(len(eqs.qub)))

    def cap(y: NDArray[np.float64]) -> float:
        alpha, m = eqs.split(y)
        sig = eqs.sigma_mean(m)
        A, B = eqs.drift_at(eqs.factors(eqs.last_t)) if eqs.envelopes else (eqs.A, eqs.B)
        rate = A @ alpha + B @ sig
        if eqs.beyond_rwa:
            rate = rate + eqs.counter.drift(eqs.last_t, alpha, sig, eqs.factors(eqs.last_t))
        omega = coherent(alpha)
        omega_rate = coherent(rate) + g_abs.T @ drive
        for k, p, nu in ks:
            kc = p * np.abs(k.T @ alpha.conj())
            omega = omega + kc
            omega_rate = omega_rate + p * np.abs(k.T @ rate.conj()) + nu * kc
        beta = 2.0 * float(lam @ (g_abs @ np.minimum(1.25 * np.abs(sig), 0.5)))

        def bound(h: float) -> float:
            return spread + 2.0 * float(np.sum(omega + h * omega_rate)) + beta

        return stable_step(bound(stable_step(bound(0.0), decay, method)), decay, method)
    return cap
