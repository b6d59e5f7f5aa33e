r"""The Bloch-Redfield dissipators on a truncated Fock space (the equation:
:mod:`qbattery.terms.redfield`).

H0 = sum_i omega_i x_i^dag x_i + (exchange couplings) conserves the total excitation
number, so its eigenbasis is found sector by sector: the basis states of the
truncated product space grouped by sum_i m_i (:func:`excitation_sectors`), one dense
``eigh`` per sector. x_i maps sector s to s - 1, so Lambda_L (x's elements with
E_n > E_m, weighted by S(E_n - E_m)/2) has one dense block per pair (s - 1, s), and
Lambda_R the transposed blocks: both are stored as these dense real blocks (sum_s
n_s n_(s-1) numbers, far below D^2) and applied block by block, and

    D_b rho = Lambda_L rho x^dag - x^dag Lambda_L rho + Lambda_R rho x - x Lambda_R rho + h.c.

costs two block products with Lambda and four sparse products with x per bath. The equation is
the same in the rotating frame (Lambda_L and x^dag change the sector by -1 and +1).

Heat of bath b (:class:`RedfieldBaths`, measured at each output time): into the bath,
-Tr(H_loc D_b rho) with H_loc = sum_i omega_i x_i^dag x_i (the ``heat`` row, so that the
balance of local energies, ``Result.power_balance()``, closes), and into the system,
Tr(H0 D_b rho) (``extra["system_heat"]``, the thermodynamic heat whose sum over the
baths is d<H0>/dt undriven).

Size: the largest sector is diagonalised densely and the Lambda blocks are dense;
spaces whose largest sector exceeds :data:`MAX_SECTOR` states are refused by name
(measured: see the constant).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import NDArray

from ..errors import ModelError
from ..terms import CompiledModel
from .lindblad import add_adjoint
from .space import FockSpace

__all__ = ["MAX_SECTOR", "RedfieldBaths", "RedfieldDissipator", "excitation_sectors",
           "undriven_hamiltonian"]

#: Largest excitation sector (states) the dense eigenbasis is built for. Measured on the
#: shared 2-core machine (one BLAS thread), charger-qubit-battery network with equal
#: cutoffs c: building Lambda takes 0.01 s (c = 20, largest sector 39, D = 800), 0.11 s
#: (c = 60, sector 119, D = 7200), 0.29 s (c = 80, sector 159, D = 12800); eigh grows as
#: the sector cubed, so a sector of 400 builds in a few seconds. One application of D_b
#: costs 0.04 s at D = 800 and ~0.6 s at D = 3200: the time per step, not the build,
#: limits the runs in practice.
MAX_SECTOR = 400

#: Largest rate of a transition of H0, in units of the bath's rate at its mode's
#: frequency (see :func:`_check_rates`): a flat density at N(1) = 1 reaches 1600x at the
#: paper's parameters (cutoffs 28 and 19), an ohmic one 2.4x.
RATE_LIMIT = 10.0

#: Matrix elements of x below this (relative to its largest) are not counted as
#: transitions in the statistics.
SMALL = 1e-10


def excitation_sectors(space: FockSpace) -> list[NDArray[np.int64]]:
    """Indices of the basis states with total excitation number s = 0, 1, ..."""
    total = space.levels.sum(axis=0)
    return [np.flatnonzero(total == s) for s in range(int(total.max()) + 1)]


def undriven_hamiltonian(problem: CompiledModel, space: FockSpace) -> sp.csr_matrix:
    """H0 = sum_i omega_i x_i^dag x_i + the couplings' static parts (lab frame)."""
    xs = space.lowering_operators
    h = sp.csr_matrix((space.size, space.size))
    for i, m in enumerate(problem.modes):
        h = h + m.frequency * (xs[i].T @ xs[i])
    for c in problem.couplings:
        part = c.static_hamiltonian(xs, 0.0)
        if part is not None:
            h = h + part
    return sp.csr_matrix(h)


@dataclass(frozen=True)
class Eigenbasis:
    """H0's eigenvalues and eigenvectors per excitation sector."""

    sectors: list[NDArray[np.int64]]
    energies: list[NDArray[np.float64]]
    vectors: list[NDArray[np.float64]]

    @classmethod
    def of(cls, h0: sp.csr_matrix, sectors: list[NDArray[np.int64]]) -> Eigenbasis:
        """Diagonalise ``h0`` in each sector (refusing an ``h0`` that mixes sectors)."""
        label = np.empty(h0.shape[0], dtype=np.int64)
        for s, idx in enumerate(sectors):
            label[idx] = s
        coo = h0.tocoo()
        if np.any(label[coo.row] != label[coo.col]):
            raise ModelError("master_equation", "H0 does not conserve the total excitation "
                             "number (only exchange couplings are allowed with \"redfield\")")
        energies, vectors = [], []
        for idx in sectors:
            e, v = np.linalg.eigh(h0[idx][:, idx].toarray())
            energies.append(e)
            vectors.append(v)
        return cls(sectors, energies, vectors)


#: One dense block of Lambda: (rows, columns, real matrix) in the Fock basis.
Block = tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64]]


class RedfieldDissipator:
    """D_b of one bath: Lambda_L, Lambda_R as dense real blocks between adjacent sectors
    (30x faster than one sparse matrix: 0.04 s against 1.2 s at D = 3200) and x."""

    def __init__(self, x: sp.csr_matrix, stride: int, lower: list[Block], upper: list[Block]
                 ) -> None:
        self.x, self.xdag = x, sp.csr_matrix(x.T)
        self.lower, self.upper = lower, upper
        #: x is a weighted shift by ``stride`` in the flat index: x[r, r + R] = s_r.
        self.stride, self.weights = stride, np.asarray(x.diagonal(stride), dtype=float)

    @staticmethod
    def _lam(blocks: list[Block], rho: NDArray[np.complex128]) -> NDArray[np.complex128]:
        """Lambda rho, block by block (real blocks times the real and imaginary parts)."""
        y = np.zeros(rho.shape, dtype=complex)
        for rows, cols, block in blocks:
            part = rho[cols]
            y[rows] = block @ part.real + 1j * (block @ part.imag)
        return y

    def apply(self, rho: NDArray[np.complex128]) -> NDArray[np.complex128]:
        """D_b rho for a Hermitian ``rho`` (D, D): A + A^dag with
        A = y_L x^dag - x^dag y_L + y_R x - x y_R, y = Lambda rho; the products with x
        are weighted shifts of rows and columns (no sparse products, no transposes)."""
        r, s = self.stride, self.weights
        n = s.size
        a = np.zeros(rho.shape, dtype=complex)
        y = self._lam(self.lower, rho)
        a[:, :n] += y[:, r:] * s[None, :]          # y x^dag
        a[r:, :] -= s[:, None] * y[:n, :]          # x^dag y
        y = self._lam(self.upper, rho)
        a[:, r:] += y[:, :n] * s[None, :]          # y x
        a[:n, :] -= s[:, None] * y[r:, :]          # x y
        return add_adjoint(a)

    def matrix(self, which: str) -> sp.csr_matrix:
        """Lambda_L (``"lower"``) or Lambda_R (``"upper"``) as a sparse matrix."""
        blocks = self.lower if which == "lower" else self.upper
        n = self.x.shape[0]
        if not blocks:
            return sp.csr_matrix((n, n))
        rows = np.concatenate([np.repeat(r, c.size) for r, c, _ in blocks])
        cols = np.concatenate([np.tile(c, r.size) for r, c, _ in blocks])
        data = np.concatenate([b.ravel() for _, _, b in blocks])
        return sp.csr_matrix((data, (rows, cols)), shape=(n, n))

    @property
    def decay_bound(self) -> float:
        """A bound on the rates of D_b (4 ||Lambda||_inf ||x||_inf, both halves)."""
        def norm(a: sp.csr_matrix) -> float:
            return float(abs(a).sum(axis=1).max()) if a.nnz else 0.0
        return 4.0 * (norm(self.matrix("lower")) * norm(self.xdag)
                      + norm(self.matrix("upper")) * norm(self.x))


def _blocks(basis: Eigenbasis, x: sp.csr_matrix, spectrum: Any, stats: dict[str, list[Any]]
            ) -> tuple[list[Block], list[Block]]:
    """Lambda_L and Lambda_R of the bath on x (spectral function ``spectrum``)."""
    lower_blocks: list[Block] = []
    upper_blocks: list[Block] = []
    for s in range(1, len(basis.sectors)):
        a, b = basis.sectors[s - 1], basis.sectors[s]
        va, vb = basis.vectors[s - 1], basis.vectors[s]
        xe = va.T @ x[a][:, b].toarray() @ vb             # <m|x|n>, m in s - 1, n in s
        w = basis.energies[s][None, :] - basis.energies[s - 1][:, None]   # E_n - E_m
        big = np.abs(xe) > SMALL * max(1.0, float(np.abs(xe).max(initial=0.0)))
        stats["bohr"].append(w[big])
        stats["crossings"].append(int(np.count_nonzero(big & (w <= 0))))
        down = np.where(w > 0, 0.5 * spectrum(np.where(w > 0, w, 1.0)), 0.0)
        up = np.where(w > 0, 0.5 * spectrum(np.where(w > 0, -w, -1.0)), 0.0)
        stats["rate"].append(float(np.max(spectrum(w[big & (w > 0)]), initial=0.0)))
        lower_blocks.append((a, b, va @ (down * xe) @ vb.T))   # rows a, columns b
        upper_blocks.append((b, a, vb @ (up * xe).T @ va.T))   # rows b, columns a
    return lower_blocks, upper_blocks


class RedfieldBaths:
    """The model's Bloch-Redfield baths on ``space`` (dissipators with an
    :meth:`~qbattery.terms.DissipatorTerm.eigenbasis_spectrum`), and their heat
    currents recorded at ``n_times`` output times. Empty (no cost) when there is none."""

    def __init__(self, problem: CompiledModel, space: FockSpace, n_times: int) -> None:
        self.rows = [k for k, d in enumerate(problem.dissipators)
                     if d.eigenbasis_spectrum() is not None]
        self.dissipators: tuple[RedfieldDissipator, ...] = ()
        self.stats: dict[str, Any] = {}
        n_d = len(problem.dissipators)
        self.heat = np.full((n_d, n_times), np.nan)
        self.system_heat = np.full((n_d, n_times), np.nan)
        if not self.rows:
            return
        sectors = excitation_sectors(space)
        largest = max(idx.size for idx in sectors)
        if largest > MAX_SECTOR:
            dims = space.cutoffs
            raise ModelError("master_equation", f"\"redfield\" diagonalises H0 densely by "
                             f"excitation sector; the space {{{dims}}} has a sector of "
                             f"{largest} states (limit {MAX_SECTOR}); lower the cutoffs or "
                             "shorten the run")
        self.h0 = undriven_hamiltonian(problem, space)
        self._h0_coo = self.h0.tocoo()  # Tr(H0 D rho) at every output
        basis = Eigenbasis.of(self.h0, sectors)
        xs = space.lowering_operators
        self.h_local = np.asarray(sum(m.frequency * np.asarray(
            (xs[i].T @ xs[i]).diagonal()) for i, m in enumerate(problem.modes)), dtype=float)
        stats: dict[str, list[Any]] = {"bohr": [], "crossings": [], "rate": []}
        out = []
        for k in self.rows:
            d = problem.dissipators[k]
            before = len(stats["rate"])
            lower, upper = _blocks(basis, xs[d.mode], d.eigenbasis_spectrum(), stats)
            _check_rates(d, float(problem.modes[d.mode].frequency), stats["rate"][before:])
            stride = int(np.prod(space.dims[d.mode + 1:]))
            out.append(RedfieldDissipator(xs[d.mode], stride, lower, upper))
        self.dissipators = tuple(out)
        self.stats = _summary(stats, largest)

    def record(self, k: int, rho: NDArray[np.complex128]) -> None:
        """The heat currents at output ``k`` (state ``rho``)."""
        if not self.rows:
            return
        herm = 0.5 * (rho + rho.conj().T)
        coo = self._h0_coo
        for row, d in zip(self.rows, self.dissipators, strict=True):
            drho = d.apply(herm)
            self.heat[row, k] = -float(np.real(self.h_local @ np.diagonal(drho)))
            self.system_heat[row, k] = float(np.real(np.sum(coo.data * drho[coo.col, coo.row])))

    def extra(self) -> dict[str, tuple[tuple[str, ...], NDArray[Any]]]:
        """``system_heat`` (bath, time): Tr(H0 D_b rho), into the system."""
        return {"system_heat": (("bath", "time"), self.system_heat)} if self.rows else {}

    def measured_heat(self) -> NDArray[np.float64] | None:
        """(dissipators, times) heat into each Redfield bath (NaN rows for the others)."""
        return self.heat if self.rows else None


def _check_rates(bath: Any, frequency: float, rates: list[float]) -> None:
    """Refuse a bath whose rate at some Bohr frequency of H0 (``rates``: the largest of
    each sector) exceeds :data:`RATE_LIMIT` times its rate at the mode's own frequency:
    a flat spectral density at T > 0 has S(w) ~ rate T / w at small w (the truncated
    sectors' edges have such w even where the network has none), and the Born-Markov
    equation does not hold there."""
    reference = float(bath.eigenbasis_spectrum()(np.array([frequency]))[0])
    largest = max(rates, default=0.0)
    if reference > 0 and largest > RATE_LIMIT * reference:
        raise ModelError(f"{bath.label}.spectral_density", f"a transition of H0 decays at "
                         f"{largest:.3g}, {largest / reference:.0f}x the bath's rate "
                         f"{reference:.3g} at the mode's frequency: a flat spectral density "
                         "at a temperature gives S(w) ~ rate T / w at the network's small "
                         "Bohr frequencies, where the Bloch-Redfield equation does not hold; "
                         "use spectral_density = \"ohmic\" or give an occupation")


def _summary(stats: dict[str, list[Any]], largest: int) -> dict[str, Any]:
    """Bohr frequencies (distinct to 1e-9), their smallest spacing, the largest rate."""
    bohr: NDArray[np.float64] = np.unique(np.round(np.concatenate(stats["bohr"]), 9)) \
        if stats["bohr"] else np.zeros(0)
    spacing = float(np.min(np.diff(bohr))) if len(bohr) > 1 else float("inf")
    rate = max(stats["rate"], default=0.0)
    return {"redfield_bohr_frequencies": len(bohr), "redfield_min_spacing": spacing,
            "redfield_max_rate": rate,
            "redfield_secular_ratio": spacing / rate if rate > 0 else float("inf"),
            "redfield_crossings": sum(stats["crossings"]), "redfield_largest_sector": largest}
