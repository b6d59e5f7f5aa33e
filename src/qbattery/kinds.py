r"""Mode kinds: what a subsystem is, independent of any engine.

A mode kind knows its number of levels (or that it is unbounded, and then an
engine truncates it), its lowering operator x on d levels, its energy levels
(ground energy 0: omega_i x^dag x), its initial state, the mean commutator
<[x, x^dag]> (which enters heat currents), and whether it is Gaussian (a
linear mode whose moments close: an oscillator). Engines read these
attributes; they never compare kind names.

- :class:`Oscillator`: x = a = sum_{m>=1} sqrt(m) |m-1><m|, unbounded,
  Gaussian; initial state D(alpha0) rho_th(n0) D(alpha0)^dag.
- :class:`Qubit`: x = sigma_- (|g> = |0>, |e> = |1>: the two-level truncation
  of a), two levels, not Gaussian; initial state diag(1 - p0, p0).

A new kind is one subclass here plus its entry in :data:`MODE_KINDS` (the
names a model file accepts). This module sits at the bottom of the layers:
the model validates initial states with it, the engines read its operators.
"""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np
import scipy.linalg as sla
import scipy.sparse as sp
from numpy.typing import NDArray

__all__ = ["MODE_KINDS", "ModeKind", "Oscillator", "Qubit", "coherent_vector",
           "displaced_thermal", "ladder", "mode_kind"]

#: Extra levels used to build a displaced state before truncating it.
_PAD = 40


def ladder(dim: int) -> sp.csr_matrix:
    """Truncated lowering operator sum_{m=1}^{dim-1} sqrt(m) |m-1><m| (real, sparse)."""
    return sp.diags(np.sqrt(np.arange(1.0, dim)), 1, shape=(dim, dim), format="csr")


def displaced_thermal(occupation: float, amplitude: complex, dim: int) -> NDArray[np.complex128]:
    """D(alpha) rho_th(n) D(alpha)^dag on ``dim`` levels, renormalised to trace 1.

    Built exactly on a larger space (padded so that the first ``dim`` levels are
    converged) and truncated; the population lost at the top is what the
    truncation check reports at t = 0.
    """
    alpha = complex(amplitude)
    big = dim + _PAD + math.ceil(abs(alpha) ** 2 + 10 * abs(alpha))
    if occupation > 0:
        ratio = occupation / (1.0 + occupation)
        p = (1.0 - ratio) * ratio ** np.arange(big)
    else:
        p = np.zeros(big)
        p[0] = 1.0
    rho = np.diag(p).astype(complex)
    if alpha != 0:
        a = ladder(big).toarray()
        disp = sla.expm(alpha * a.T - np.conj(alpha) * a)
        rho = disp @ rho @ disp.conj().T
    out = rho[:dim, :dim]
    return np.asarray(out / np.trace(out).real)


def coherent_vector(amplitude: complex, dim: int) -> NDArray[np.complex128]:
    """|alpha> = exp(-|alpha|^2/2) sum_m alpha^m / sqrt(m!) |m>, truncated (not renormalised)."""
    m = np.arange(dim)
    log_norm = -0.5 * abs(amplitude) ** 2 - 0.5 * np.array([math.lgamma(k + 1) for k in m])
    if amplitude == 0:
        out = np.zeros(dim, dtype=complex)
        out[0] = 1.0
        return out
    return np.asarray(np.exp(log_norm + m * np.log(complex(amplitude))), dtype=complex)


class ModeKind:
    """What every mode kind provides (see the module doc)."""

    #: The name used in model files (``kind = "..."``).
    name: ClassVar[str]
    #: Number of levels, or None for an unbounded mode (truncated by the engines).
    levels: ClassVar[int | None]
    #: Whether the mode is linear (its Gaussian moments close).
    gaussian: ClassVar[bool]
    #: s in the operator identity x [x, x^dag] = s x: 1 for an oscillator, -1 for a qubit
    #: (sigma (1 - 2 sigma^dag sigma) = -sigma). A raising jump D[x^dag] feeds the mean
    #: amplitude of an oscillator (D^dag[a^dag](a) = a / 2) and damps a qubit's
    #: (D^dag[sigma^dag](sigma) = -sigma / 2).
    amplitude_sign: ClassVar[float]

    @property
    def truncated(self) -> bool:
        """Whether engines truncate this mode (and must check its top level)."""
        return self.levels is None

    def check_dim(self, name: str, dim: int) -> None:
        """Refuse ``dim`` levels for a mode called ``name`` (ValueError naming the cutoff)."""
        from .errors import ModelError

        if self.levels is not None and dim != self.levels:
            raise ModelError(f"cutoff.{name}", f"a {self.name} has {self.levels} levels, "
                             f"got {dim}")
        if dim < 2:
            raise ModelError(f"cutoff.{name}", f"expected >= 2 levels, got {dim}")

    def check_initial(self, occupation: float, amplitude: complex) -> None:
        """Refuse an initial state this kind cannot have (ModelError naming the field)."""

    def lowering(self, dim: int) -> sp.csr_matrix:
        """x on ``dim`` levels."""
        return ladder(dim)

    def energies(self, frequency: float, dim: int) -> NDArray[np.float64]:
        """Local energy levels omega * (0, 1, ..., dim - 1) of x^dag x (ground energy 0)."""
        return frequency * np.arange(dim, dtype=float)

    def commutator(self, occupation: NDArray[np.float64]) -> NDArray[np.float64]:
        """<[x, x^dag]> given <x^dag x>."""
        raise NotImplementedError

    def initial_state(self, occupation: float, amplitude: complex, dim: int
                      ) -> NDArray[np.complex128]:
        """The initial single-mode density matrix on ``dim`` levels."""
        raise NotImplementedError


class Oscillator(ModeKind):
    """Harmonic oscillator: unbounded, Gaussian, x = a."""

    name = "oscillator"
    levels = None
    gaussian = True
    amplitude_sign = 1.0

    def commutator(self, occupation: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.ones_like(np.asarray(occupation, dtype=float))

    def initial_state(self, occupation: float, amplitude: complex, dim: int
                      ) -> NDArray[np.complex128]:
        return displaced_thermal(occupation, amplitude, dim)


class Qubit(ModeKind):
    """Two-level system: x = sigma_-, not Gaussian; <[sigma_-, sigma_+]> = 1 - 2 p_e."""

    name = "qubit"
    levels = 2
    gaussian = False
    amplitude_sign = -1.0

    def check_initial(self, occupation: float, amplitude: complex) -> None:
        from .errors import ModelError

        if occupation > 1.0:
            raise ModelError("initial_occupation",
                             f"a qubit's excited population must be in [0, 1], got {occupation!r}")
        if amplitude != 0:
            raise ModelError("initial_amplitude",
                             "a qubit has no coherent initial state; use initial_occupation")

    def commutator(self, occupation: NDArray[np.float64]) -> NDArray[np.float64]:
        return 1.0 - 2.0 * np.asarray(occupation, dtype=float)

    def initial_state(self, occupation: float, amplitude: complex, dim: int
                      ) -> NDArray[np.complex128]:
        return np.diag([1.0 - occupation, occupation]).astype(complex)


#: Mode kinds by model-file name.
MODE_KINDS: dict[str, ModeKind] = {k.name: k for k in (Oscillator(), Qubit())}


def mode_kind(name: str) -> ModeKind:
    """The kind called ``name`` (ModelError naming ``kind`` if unknown)."""
    from .errors import ModelError

    try:
        return MODE_KINDS[name]
    except KeyError:
        raise ModelError("kind", f"unknown kind {name!r}; known kinds: "
                         + ", ".join(MODE_KINDS)) from None
