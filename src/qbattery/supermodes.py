r"""Supermodes: why a drive at omega is off-resonant without a catalyst (Eq. 6-8)
and resonant with one (Eq. 10-13, Appendix A).

Two pictures are computed for any model.

*Normal modes.* The single-excitation (linear) Hamiltonian M_ij = omega_i delta_ij
+ g_ij (qubits treated as oscillators, exact for oscillators and the weak
excitation limit of qubits) is diagonalised, M v_k = Omega_k v_k. Each normal
mode C_k = sum_i v_ik x_i has drive weight f_k = sum_i v_ik F_i (the drive
reads sum_k f_k (e^{i omega_f t} C_k + h.c.)); a drive at omega_f is resonant
with the driven normal modes at Omega_k = omega_f. Bare model: Omega = omega +- g,
f = F / sqrt(2) each (Eq. 7-8).

*Beyond the RWA* (dipole couplings g (x + x^dag)(y + y^dag)): the normal modes come
from the quadratic Hamiltonian H = r^T H_q r / 2 in quadratures
(:mod:`qbattery.terms.quadrature`) by symplectic diagonalisation: the eigenvalues of
J H_q are +-i Omega_k (two equal modes: omega sqrt(1 +- 2g/omega)). H_q must be
positive definite (H bounded below); otherwise the network is reported as unstable
(``stable`` False, ``instability`` the reason) and its frequencies are NaN. Each
normal mode's composition is the weight |u_i|^2 + |v_i|^2 of its Bogoliubov
vector on mode i (signed by the x-quadrature component).

*Catalyst picture (Appendix A).* For a catalyst q coupled to the other modes
with couplings g_i, the bright mode C_+ = sum_i g_i x_i / G, G = sqrt(sum g_i^2),
is the only combination that couples to q (with strength G). The orthogonal
complement is dark to the catalyst; it is organised so that one dark mode C_-
carries all of the drive's dark weight (F cos theta for one battery cell) and
the others carry none. When the non-catalyst modes share the frequency omega
and couple only through the catalyst, the dark modes are exact normal modes
at omega, so a drive at omega is resonant with C_- whatever the g_i are.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
from numpy.typing import NDArray

from .errors import ModelError
from .model import Coupling, Drive, Model
from .terms import compile_model
from .terms.quadrature import quadrature_matrices


@dataclass(frozen=True, eq=False)
class Supermodes:
    """Normal modes and the catalyst (bright/dark) decomposition of a model.

    Attributes:
        names: mode names (rows of the vectors).
        frequencies: normal-mode frequencies Omega_k, increasing.
        vectors: (modes, normal modes) orthonormal real eigenvectors of M.
        drive_weights: f_k, the drive amplitude seen by each normal mode.
        catalyst: catalyst mode name, or None.
        catalyst_weights: population of each normal mode on the catalyst.
        bright: (modes,) the bright mode C_+ (zero on the catalyst), if a catalyst exists.
        coupling_to_catalyst: G = sqrt(sum g_i^2).
        dark: (modes, dark modes) orthonormal dark modes; column 0 is the driven one C_-.
        dark_drive_weights: drive weight of each dark mode.
        bright_drive_weight: drive weight of C_+ (F sin theta for one cell).
        dark_frequencies: <C_d| M |C_d> for each dark mode.
        dark_leakage: largest |<C_d| M |C_+>| or coupling between dark modes; zero
            when the dark modes are exact normal modes.
        drive_frequencies: the drive frequencies of the model.
        stable: False when the quadratic Hamiltonian is not bounded below (dipole
            couplings stronger than the modes allow).
        instability: why it is unstable ("" when stable).
        beyond_rwa: the normal modes include counter-rotating couplings.
    """

    names: tuple[str, ...]
    frequencies: NDArray[np.float64]
    vectors: NDArray[np.float64]
    drive_weights: NDArray[np.float64]
    catalyst: str | None
    catalyst_weights: NDArray[np.float64]
    bright: NDArray[np.float64] | None
    coupling_to_catalyst: float
    dark: NDArray[np.float64] | None
    dark_drive_weights: NDArray[np.float64] | None
    bright_drive_weight: float
    dark_frequencies: NDArray[np.float64] | None
    dark_leakage: float
    drive_frequencies: tuple[float, ...]
    stable: bool = True
    instability: str = ""
    beyond_rwa: bool = False

    def resonances(self, *, tol: float = 1e-9) -> NDArray[np.float64]:
        """Frequencies of the normal modes the drive couples to (the resonant drive frequencies)."""
        scale = max(float(np.max(np.abs(self.drive_weights), initial=0.0)), 1e-300)
        return self.frequencies[np.abs(self.drive_weights) > tol * scale]

    def detuning(self) -> float:
        """Smallest |omega_f - Omega_k| over drives and driven normal modes."""
        res = self.resonances()
        if not self.drive_frequencies or res.size == 0:
            return float("nan")
        return float(min(np.min(np.abs(res - f)) for f in self.drive_frequencies))

    def table(self) -> str:
        """A readable report, as printed by ``qbattery modes``."""
        if not self.stable:
            return f"Unstable network: {self.instability}"
        head = ("Normal modes (symplectic, with counter-rotating couplings):" if self.beyond_rwa
                else "Normal modes (qubits in the single-excitation limit):")
        lines = [head,
                 f"  {'#':>3} {'frequency':>10} {'drive weight':>13} {'on catalyst':>12}  "
                 "composition"]
        for k in range(self.frequencies.size):
            comp = ", ".join(f"{n} {v:+.3f}" for n, v in zip(self.names, self.vectors[:, k],
                                                              strict=True) if abs(v) > 5e-4)
            lines.append(f"  {k + 1:>3} {self.frequencies[k]:>10.6f} {self.drive_weights[k]:>13.6f}"
                         f" {self.catalyst_weights[k]:>12.6f}  {comp}")
        res = ", ".join(f"{x:.6f}" for x in self.resonances())
        lines.append(f"Resonant drive frequencies (driven normal modes): {res or 'none'}")
        for f in self.drive_frequencies:
            lines.append(f"Drive at {f:.6f}: detuning from the nearest driven normal mode "
                         f"{self.detuning():.6f}")
        if self.catalyst is not None and self.bright is not None and self.dark is not None:
            assert self.dark_drive_weights is not None and self.dark_frequencies is not None
            def combo(v: NDArray[np.float64]) -> str:
                return " ".join(f"{x:+.3f} {n}" for n, x in zip(self.names, v, strict=True)
                                if abs(x) > 5e-4)
            lines += [f"Catalyst picture (catalyst: {self.catalyst}):",
                      f"  bright mode C+ = {combo(self.bright)}",
                      f"    couples to the catalyst with G = {self.coupling_to_catalyst:.6f}; "
                      f"drive weight {self.bright_drive_weight:.6f}"]
            for d in range(self.dark.shape[1]):
                label = "C-" if d == 0 else f"D{d}"
                lines.append(f"  dark mode {label} = {combo(self.dark[:, d])}")
                lines.append(f"    frequency {self.dark_frequencies[d]:.6f}; drive weight "
                             f"{self.dark_drive_weights[d]:.6f}; dark to the catalyst")
            lines.append(f"  largest coupling of the dark modes to other modes: "
                         f"{self.dark_leakage:.3g}"
                         + (" (exact normal modes)" if self.dark_leakage < 1e-12 else ""))
        return "\n".join(lines)


def _catalyst_name(model: Model, catalyst: str | None) -> str | None:
    if catalyst is not None:
        model.index(catalyst)
        return catalyst
    if "catalyst" in model.names:
        return "catalyst"
    nonlinear = [m.name for m in compile_model(model).modes if not m.kind.gaussian]
    return nonlinear[0] if len(nonlinear) == 1 else None


def supermodes(model: Model, *, catalyst: str | None = None) -> Supermodes:
    """Normal modes of ``model`` and its bright/dark decomposition around the catalyst.

    Args:
        model: any network.
        catalyst: the catalyst mode; default the mode named ``catalyst``, else
            the only qubit, else none.
    """
    if not isinstance(model, Model):
        raise ModelError("model", f"expected a qbattery.Model, got {type(model).__name__}")
    problem = compile_model(model)
    n = len(problem.modes)
    # The terms' Gaussian blocks: off the diagonal, A = -i M (exchange couplings); the
    # forcing is -i F on each driven mode.
    A = problem.drift().toarray()
    M = np.real(1j * A)
    np.fill_diagonal(M, problem.frequencies)
    drive = np.zeros(n)
    for b in problem.forcing().values():
        drive += np.real(1j * b)
    beyond = any(not c.provides("gaussian") and c.provides("quadrature")
                 for c in problem.couplings)
    if beyond:
        freqs, vecs, why = symplectic_modes(problem.twin())
    else:
        freqs, vecs = np.linalg.eigh(M)
        why = ""
    # sign convention: the first non-negligible component of each vector is positive
    lead = np.argmax(np.abs(vecs) > 1e-9, axis=0)
    vecs = vecs * np.sign(vecs[lead, np.arange(n)])
    cat = _catalyst_name(model, catalyst)
    cat_w = np.zeros(n) if cat is None else vecs[model.index(cat)] ** 2
    bright = dark = dark_w = dark_f = None
    big_g = bright_w = leak = 0.0
    if cat is not None:
        q = model.index(cat)
        others = [i for i in range(n) if i != q]
        g = M[:, q].copy()
        g[q] = 0.0
        big_g = float(np.linalg.norm(g))
        if big_g > 0 and others:
            bright = g / big_g
            # dark space: orthonormal complement of bright within the non-catalyst modes,
            # rotated so that column 0 carries all of the drive's dark component.
            dark = _dark_modes(bright, drive, others, n)
            bright_w = float(bright @ drive)
            dark_w = dark.T @ drive
            mdark = dark.T @ M @ dark
            dark_f = np.diag(mdark).copy()
            off = mdark - np.diag(dark_f)
            leak = float(max(np.max(np.abs(dark.T @ M @ bright), initial=0.0),
                             np.max(np.abs(off), initial=0.0)))
    return Supermodes(
        names=model.names, frequencies=freqs, vectors=vecs, drive_weights=vecs.T @ drive,
        catalyst=cat, catalyst_weights=cat_w, bright=bright, coupling_to_catalyst=big_g,
        dark=dark, dark_drive_weights=dark_w, bright_drive_weight=bright_w,
        dark_frequencies=dark_f, dark_leakage=leak,
        drive_frequencies=tuple(d.frequency for d in model.drives),
        stable=not why, instability=why, beyond_rwa=beyond,
    )


def symplectic_modes(problem: Any) -> tuple[NDArray[np.float64], NDArray[np.float64], str]:
    """(Omega_k increasing, (modes, normal modes) signed composition, "") of a compiled
    model's quadratic Hamiltonian; NaNs and the reason when H_q is not positive definite."""
    n = len(problem.modes)
    hq = quadrature_matrices(problem)[0]
    lowest = float(np.linalg.eigvalsh(hq)[0])
    if lowest <= 0:
        why = (f"the quadratic Hamiltonian H_q has eigenvalue {lowest:.6g} <= 0, so H is not "
               "bounded below (e.g. 2g > omega for two equal dipole-coupled modes); no "
               "normal-mode frequencies")
        return np.full(n, np.nan), np.zeros((n, n)), why
    J = np.block([[np.zeros((n, n)), np.eye(n)], [-np.eye(n), np.zeros((n, n))]])
    ev, vec = np.linalg.eig(J @ hq)
    pick = np.argsort(ev.imag)[:n]  # -i Omega_k (Omega_k > 0), one per normal mode
    freqs = -ev.imag[pick]
    order = np.argsort(freqs)
    freqs, vec = freqs[order], vec[:, pick][:, order]
    weight = np.abs(vec[:n]) ** 2 + np.abs(vec[n:]) ** 2
    weight /= weight.sum(axis=0)
    phase = vec[np.argmax(weight, axis=0), np.arange(n)]
    sign = np.where(np.real(vec[:n] / phase) >= 0, 1.0, -1.0)
    return freqs, sign * np.sqrt(weight), ""


def _dark_modes(bright: NDArray[np.float64], drive: NDArray[np.float64], others: list[int],
                n: int) -> NDArray[np.float64]:
    """Orthonormal complement of ``bright`` within the non-catalyst modes ``others``,
    rotated so that column 0 carries all of the drive's dark component (when it has one).

    Built in the k = len(others) dimensional space: the right singular vectors of the
    bright row give the complement exactly (no rank-deficient QR), then a full-rank QR
    of [c, 1] puts the drive's dark direction c first."""
    b = bright[others]
    comp = np.linalg.svd(b[None, :])[2][1:].T  # (k, k - 1)
    c = comp.T @ drive[others]
    if comp.shape[1] and float(np.linalg.norm(c)) > 1e-14 * max(float(np.linalg.norm(drive)),
                                                                 1e-300):
        rot, _ = np.linalg.qr(np.column_stack([c / np.linalg.norm(c), np.eye(c.size)]))
        rot[:, 0] *= 1.0 if rot[:, 0] @ c >= 0 else -1.0
        comp = comp @ rot
    dark = np.zeros((n, comp.shape[1]))
    dark[others] = comp
    return dark


def constant_segments(model: Model) -> list[tuple[float, float, Model | None]]:
    """The model as it is on each segment between its envelopes' breakpoints (from t = 0
    on): ``(start, stop, model)`` with every envelope replaced by its constant value, or
    ``None`` where an envelope varies (a ramp, a pulse). A model without envelopes is one
    segment [0, inf)."""
    items: list[Drive | Coupling] = [*model.drives, *model.couplings]
    points = sorted({b for d in items if d.envelope is not None
                     for b in d.envelope.breakpoints() if b > 0})
    edges = [0.0, *points, float("inf")]
    out: list[tuple[float, float, Model | None]] = []
    for a, b in itertools.pairwise(edges):
        probe = b if np.isfinite(b) else a + 1.0  # beyond the last breakpoint: constant

        def fixed(item: Any, field: str, a: float = a, probe: float = probe) -> Any:
            if item.envelope is None:
                return item
            c = item.envelope.constant_between(a, probe)
            return None if c is None else replace(item, envelope=None,
                                                  **{field: c * getattr(item, field)})

        drives = [fixed(d, "amplitude") for d in model.drives]
        couplings = [fixed(c, "strength") for c in model.couplings]
        if any(x is None for x in (*drives, *couplings)):
            out.append((a, b, None))
        else:
            out.append((a, b, replace(model, drives=tuple(drives), couplings=tuple(couplings))))
    return out
