"""The declarative network model: modes, exchange couplings, drives, baths.

Conventions (see ``shared/paper/NOTES.md``): hbar = k_B = 1, frequencies and
rates in units of the bare frequency omega. The Hamiltonian is

    H(t) = sum_i omega_i x_i^dag x_i
         + sum_(i,j) g_ij (x_i x_j^dag + x_i^dag x_j)
         + sum_k F_k (exp(i omega_k t) x_k + exp(-i omega_k t) x_k^dag),

the rotating-wave drive that is resonant when omega_k = omega_i. (The paper
writes the phases as exp(-i omega_f t) a + h.c.; read literally with
H_0 = omega a^dag a that term would be resonant at omega_f = -omega. Its
interaction-picture Eq. 2, a static F (a + a^dag) at Delta = 0, is what both
forms mean, and is what qbattery solves.) In the frame rotating at omega_r
(``Model.frame_frequency``) the solvers use

    H_r(t) = sum_i (omega_i - omega_r) x_i^dag x_i + couplings
           + sum_k F_k (exp(i delta_k t) x_k + exp(-i delta_k t) x_k^dag),
    delta_k = omega_k - omega_r,

with x = a (oscillator) or x = sigma_- (qubit, so x^dag x is the excited-state
projector and the ground state has energy 0). Each bath adds the local
dissipator gamma (N + 1) D[x] + gamma N D[x^dag], D[c] rho = c rho c^dag -
{c^dag c, rho}/2, with N the bath occupation at the mode's frequency.

Every class validates itself when built; :class:`Model` checks the
cross-references. Errors are :class:`~qbattery.errors.ModelError` naming the
field, e.g. ``couplings[1].between: unknown mode 'batery'``.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .errors import ModelError

KINDS = ("oscillator", "qubit")
#: What a mode is for; ``"none"`` marks a mode with no role (e.g. a battery-named spectator).
ROLES = ("charger", "catalyst", "battery", "none")


def default_role(name: str) -> str:
    """Role implied by a mode's name: ``charger``, ``catalyst*``, ``battery*`` / ``cell*``,
    else ``"none"``."""
    if name == "charger":
        return "charger"
    if name.startswith("catalyst"):
        return "catalyst"
    if name.startswith(("battery", "cell")):
        return "battery"
    return "none"


@contextlib.contextmanager
def field_prefix(prefix: str) -> Iterator[None]:
    """Re-raise :class:`ModelError` from the body with ``prefix.`` prepended to the field."""
    try:
        yield
    except ModelError as err:
        raise err.renamed(f"{prefix}.{err.field}" if prefix else err.field) from None


def real_number(name: str, value: Any, *, minimum: float | None = None,
                positive: bool = False) -> float:
    """Convert ``value`` to a finite float, or raise a ModelError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ModelError(name, f"expected a real number, got {value!r}")
    number = float(value)
    if not math.isfinite(number):
        raise ModelError(name, f"must be finite, got {value!r}")
    if positive and number <= 0:
        raise ModelError(name, f"must be > 0, got {value!r}")
    if minimum is not None and number < minimum:
        raise ModelError(name, f"must be >= {minimum:g}, got {value!r}")
    return number


def complex_number(name: str, value: Any) -> complex:
    """Convert a number or a ``[re, im]`` pair to a finite complex."""
    if isinstance(value, complex):
        parts: Sequence[Any] = (value.real, value.imag)
    elif isinstance(value, list | tuple):
        if len(value) != 2:
            raise ModelError(name, f"expected a number or [re, im], got {value!r}")
        parts = value
    else:
        parts = (value, 0.0)
    re_ = real_number(name, parts[0])
    im_ = real_number(name, parts[1])
    return complex(re_, im_)


def _name(name: str, value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ModelError(name, f"expected a non-empty string, got {value!r}")
    return value


@dataclass(frozen=True)
class Mode:
    """One subsystem: a harmonic oscillator or a qubit.

    Args:
        name: unique name, used in couplings, drives, baths and results.
        kind: ``"oscillator"`` or ``"qubit"``.
        frequency: omega_i (> 0), in units of omega.
        initial_occupation: initial thermal occupation <n> of the fluctuations
            (oscillator), or initial excited population in [0, 1] (qubit).
        initial_amplitude: initial coherent amplitude <a> (oscillators only).
        role: ``charger``, ``catalyst``, ``battery`` or ``none``; None (the default)
            means the role implied by the name (:func:`default_role`). A role equal to
            that default is stored as None, so model files stay as they were.

    The initial state is the displaced thermal state D(alpha) rho_th(n0) D(alpha)^dag:
    ground by default, thermal, coherent, or both.
    """

    name: str
    kind: str = "oscillator"
    frequency: float = 1.0
    initial_occupation: float = 0.0
    initial_amplitude: complex = 0j
    role: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "name", _name("name", self.name))
        if self.role is not None:
            if self.role not in ROLES:
                raise ModelError("role", f"unknown role {self.role!r}; known roles: "
                                 f"{', '.join(ROLES)}")
            if self.role == default_role(self.name):
                object.__setattr__(self, "role", None)
        if self.kind not in KINDS:
            raise ModelError("kind", f"unknown kind {self.kind!r}; known kinds: {', '.join(KINDS)}")
        object.__setattr__(self, "frequency",
                           real_number("frequency", self.frequency, positive=True))
        occ = real_number("initial_occupation", self.initial_occupation, minimum=0.0)
        if self.kind == "qubit" and occ > 1.0:
            raise ModelError("initial_occupation",
                             f"a qubit's excited population must be in [0, 1], got {occ!r}")
        object.__setattr__(self, "initial_occupation", occ)
        amp = complex_number("initial_amplitude", self.initial_amplitude)
        if self.kind == "qubit" and amp != 0:
            raise ModelError("initial_amplitude",
                             "a qubit has no coherent initial state; use initial_occupation")
        object.__setattr__(self, "initial_amplitude", amp)


@dataclass(frozen=True)
class Coupling:
    """Exchange coupling g (x y^dag + x^dag y) between two modes."""

    between: tuple[str, str]
    strength: float

    def __post_init__(self) -> None:
        pair = self.between
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ModelError("between", f"expected two mode names, got {pair!r}")
        pair = (_name("between", pair[0]), _name("between", pair[1]))
        if pair[0] == pair[1]:
            raise ModelError("between", f"a mode cannot couple to itself ({pair[0]!r})")
        object.__setattr__(self, "between", pair)
        object.__setattr__(self, "strength", real_number("strength", self.strength))


@dataclass(frozen=True)
class Drive:
    """Coherent drive F (exp(i omega_f t) x + exp(-i omega_f t) x^dag) on one mode.

    Resonant with a mode of frequency omega_f (see the module docstring for the
    sign convention and the paper's typo)."""

    mode: str
    amplitude: float
    frequency: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", _name("mode", self.mode))
        object.__setattr__(self, "amplitude", real_number("amplitude", self.amplitude))
        object.__setattr__(self, "frequency", real_number("frequency", self.frequency))


@dataclass(frozen=True)
class Bath:
    """Markovian thermal bath on one mode: rate gamma and occupation N (or temperature T).

    Exactly one of ``occupation`` and ``temperature`` may be given; with
    neither the bath is at zero temperature. A temperature is converted with
    N = 1 / (exp(omega_i / T) - 1) at the mode's frequency.
    """

    mode: str
    rate: float
    occupation: float | None = None
    temperature: float | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", _name("mode", self.mode))
        object.__setattr__(self, "rate", real_number("rate", self.rate, minimum=0.0))
        if self.occupation is not None and self.temperature is not None:
            raise ModelError("occupation", "give occupation or temperature, not both")
        if self.occupation is not None:
            object.__setattr__(self, "occupation",
                               real_number("occupation", self.occupation, minimum=0.0))
        if self.temperature is not None:
            object.__setattr__(self, "temperature",
                               real_number("temperature", self.temperature, minimum=0.0))

    def occupation_at(self, frequency: float) -> float:
        """Bath occupation N at ``frequency``."""
        if self.occupation is not None:
            return self.occupation
        if not self.temperature:
            return 0.0
        return 1.0 / math.expm1(frequency / self.temperature)


@dataclass(frozen=True)
class Model:
    """A network of modes with exchange couplings, coherent drives and thermal baths.

    Args:
        modes: the subsystems (at least one, unique names).
        couplings: exchange couplings between pairs of distinct modes (each pair once).
        drives: coherent drives.
        baths: thermal baths (at most one per mode).
    """

    modes: tuple[Mode, ...]
    couplings: tuple[Coupling, ...] = ()
    drives: tuple[Drive, ...] = ()
    baths: tuple[Bath, ...] = ()
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for attr, cls in (("modes", Mode), ("couplings", Coupling), ("drives", Drive),
                          ("baths", Bath)):
            items = getattr(self, attr)
            if not isinstance(items, list | tuple):
                raise ModelError(attr, f"expected a list, got {type(items).__name__}")
            for i, item in enumerate(items):
                if not isinstance(item, cls):
                    raise ModelError(f"{attr}[{i}]", f"expected a {cls.__name__}, got {item!r}")
            object.__setattr__(self, attr, tuple(items))
        if not self.modes:
            raise ModelError("modes", "a model needs at least one mode")
        index: dict[str, int] = {}
        for i, mode in enumerate(self.modes):
            if mode.name in index:
                raise ModelError(f"modes[{i}].name", f"duplicate mode name {mode.name!r}")
            index[mode.name] = i
        object.__setattr__(self, "_index", index)

        def known(path: str, name: str) -> None:
            if name not in index:
                raise ModelError(path, f"unknown mode {name!r}; modes are {', '.join(index)}")

        pairs: set[frozenset[str]] = set()
        for i, c in enumerate(self.couplings):
            for name in c.between:
                known(f"couplings[{i}].between", name)
            key = frozenset(c.between)
            if key in pairs:
                raise ModelError(f"couplings[{i}].between",
                                 f"duplicate coupling between {c.between[0]!r} "
                                 f"and {c.between[1]!r}")
            pairs.add(key)
        for i, d in enumerate(self.drives):
            known(f"drives[{i}].mode", d.mode)
        bathed: set[str] = set()
        for i, b in enumerate(self.baths):
            known(f"baths[{i}].mode", b.mode)
            if b.mode in bathed:
                raise ModelError(f"baths[{i}].mode", f"mode {b.mode!r} already has a bath")
            bathed.add(b.mode)

    # -- look-ups ---------------------------------------------------------------------------
    @property
    def roles(self) -> tuple[str, ...]:
        """Each mode's role (given, or implied by its name)."""
        return tuple(m.role or default_role(m.name) for m in self.modes)

    @property
    def names(self) -> tuple[str, ...]:
        """Mode names in order."""
        return tuple(m.name for m in self.modes)

    def index(self, name: str) -> int:
        """Position of the mode called ``name``."""
        try:
            return self._index[name]
        except KeyError:
            raise ModelError("mode", f"unknown mode {name!r}; modes are {', '.join(self._index)}") \
                from None

    @property
    def has_qubit(self) -> bool:
        """Whether any mode is a qubit."""
        return any(m.kind == "qubit" for m in self.modes)

    @property
    def frame_frequency(self) -> float:
        """Frequency of the rotating frame the solvers work in.

        The first drive's frequency (all drives share it in the common case);
        with no drive, the mean mode frequency. Observables that depend on the
        frame (mean amplitudes, coherences) are reported in this frame.
        """
        if self.drives:
            return self.drives[0].frequency
        return sum(m.frequency for m in self.modes) / len(self.modes)

    def bath_terms(self) -> list[tuple[int, float, float]]:
        """``(mode index, rate, occupation)`` for every bath with a positive rate."""
        out = []
        for b in self.baths:
            i = self.index(b.mode)
            if b.rate > 0:
                out.append((i, b.rate, b.occupation_at(self.modes[i].frequency)))
        return out

    def with_qubits_as_oscillators(self) -> Model:
        """The same network with every qubit replaced by an oscillator.

        Used to estimate cutoffs: it is the linear (Gaussian) model whose
        amplitudes bound the qubit model's in the weak-excitation limit.
        """
        modes = tuple(replace(m, kind="oscillator") if m.kind == "qubit" else m
                      for m in self.modes)
        return replace(self, modes=modes)
