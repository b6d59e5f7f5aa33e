"""The declarative network model: modes, exchange couplings, drives, baths.

Conventions (see ``shared/paper/NOTES.md``): hbar = k_B = 1, frequencies and
rates in units of the bare frequency omega. The Hamiltonian is

    H(t) = sum_i omega_i x_i^dag x_i
         + sum_(i,j) g_ij (x_i x_j^dag + x_i^dag x_j)
         + sum_k F_k (exp(i omega_k t) x_k + exp(-i omega_k t) x_k^dag),

the rotating-wave drive that is resonant when omega_k = omega_i (``form`` of couplings
and drives: ``"dipole"`` g (x + x^dag)(y + y^dag) and ``"linear"`` 2 F cos(omega_k t +
phase)(x + x^dag) go beyond the rotating-wave approximation). (The paper
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
{c^dag c, rho}/2, with N the bath occupation at the mode's frequency; a
:class:`Dissipator` the same with a correlated jump L = sum_i c_i x_i in place of
x, and :class:`Dephasing` gamma_phi D[x^dag x].

Every class validates itself when built (types, finiteness, signs, printable
mode names, and the bounds MIN_FREQUENCY, MAX_FREQUENCY, MAX_RATE and
MAX_OCCUPATION below, so that nothing a solver computes overflows);
:class:`Model` checks the cross-references. Errors are
:class:`~qbattery.errors.ModelError` naming the field, e.g.
``couplings[1].between: unknown mode 'batery'``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from .baths import Bath, Dephasing, Dissipator
from .envelopes import Envelope, envelope_from
from .errors import ModelError
from .kinds import MODE_KINDS, mode_kind
from .validation import (
    MAX_FREQUENCY,
    MAX_OCCUPATION,
    MAX_RATE,
    choice,
    complex_number,
    field_prefix,
    frequency_value,
    mode_name,
    real_number,
)

_name = mode_name

#: The mode kinds a model accepts (:mod:`qbattery.kinds`).
KINDS = tuple(MODE_KINDS)

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
        kind = mode_kind(self.kind)
        object.__setattr__(self, "frequency", frequency_value("frequency", self.frequency))
        occ = real_number("initial_occupation", self.initial_occupation, minimum=0.0,
                          magnitude=MAX_OCCUPATION)
        amp = complex_number("initial_amplitude", self.initial_amplitude,
                             magnitude=math.sqrt(MAX_OCCUPATION))
        kind.check_initial(occ, amp)
        object.__setattr__(self, "initial_occupation", occ)
        object.__setattr__(self, "initial_amplitude", amp)


#: Coupling forms: g (x y^dag + x^dag y), and g (x + x^dag)(y + y^dag) (its RWA part: exchange).
COUPLING_FORMS = ("exchange", "dipole")
#: Drive forms: F (e^{i w t} x + h.c.), and 2 F cos(w t + phase)(x + x^dag).
DRIVE_FORMS = ("rotating", "linear")


@dataclass(frozen=True)
class Coupling:
    """Coupling f(t) g (x y^dag + x^dag y) (``form = "exchange"``) or
    f(t) g (x + x^dag)(y + y^dag) (``form = "dipole"``, beyond the RWA) between two modes.

    ``envelope`` (:mod:`qbattery.envelopes`): f(t); absent, the coupling is constant.
    """

    between: tuple[str, str]
    strength: float
    envelope: Envelope | None = None
    form: str = "exchange"

    def __post_init__(self) -> None:
        pair = self.between
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            raise ModelError("between", f"expected two mode names, got {pair!r}")
        pair = (_name("between", pair[0]), _name("between", pair[1]))
        if pair[0] == pair[1]:
            raise ModelError("between", f"a mode cannot couple to itself ({pair[0]!r})")
        object.__setattr__(self, "between", pair)
        object.__setattr__(self, "strength",
                           real_number("strength", self.strength, magnitude=MAX_RATE))
        object.__setattr__(self, "envelope", envelope_from(self.envelope))
        object.__setattr__(self, "form", choice("form", self.form, COUPLING_FORMS))


@dataclass(frozen=True)
class Drive:
    """Coherent drive f(t) F (exp(i omega_f t) x + exp(-i omega_f t) x^dag) on one mode
    (``form = "rotating"``), or f(t) 2 F cos(omega_f t + phase)(x + x^dag)
    (``form = "linear"``, beyond the RWA; ``phase`` only for this form).

    Resonant with a mode of frequency omega_f (see the module docstring for the
    sign convention and the paper's typo). ``envelope`` (:mod:`qbattery.envelopes`):
    f(t), a pulse or a switch; absent, the drive is on at all times."""

    mode: str
    amplitude: float
    frequency: float = 1.0
    envelope: Envelope | None = None
    form: str = "rotating"
    phase: float = 0.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "mode", _name("mode", self.mode))
        object.__setattr__(self, "amplitude",
                           real_number("amplitude", self.amplitude, magnitude=MAX_RATE))
        object.__setattr__(self, "frequency", frequency_value("frequency", self.frequency))
        object.__setattr__(self, "envelope", envelope_from(self.envelope))
        object.__setattr__(self, "form", choice("form", self.form, DRIVE_FORMS))
        phase = real_number("phase", self.phase, magnitude=MAX_FREQUENCY)
        if phase and self.form != "linear":
            raise ModelError("phase", 'only a drive of form "linear" takes a phase')
        object.__setattr__(self, "phase", phase)


@dataclass(frozen=True)
class Model:
    """A network of modes with exchange couplings, coherent drives and thermal baths.

    Args:
        modes: the subsystems (at least one, unique names).
        couplings: exchange couplings between pairs of distinct modes (each pair once).
        drives: coherent drives.
        baths: thermal baths (at most one per mode).
        dissipators: correlated jumps (:class:`Dissipator`).
        dephasing: pure dephasing (:class:`Dephasing`).
    """

    modes: tuple[Mode, ...]
    couplings: tuple[Coupling, ...] = ()
    drives: tuple[Drive, ...] = ()
    baths: tuple[Bath, ...] = ()
    dissipators: tuple[Dissipator, ...] = ()
    dephasing: tuple[Dephasing, ...] = ()
    _index: dict[str, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for attr, cls in (("modes", Mode), ("couplings", Coupling), ("drives", Drive),
                          ("baths", Bath), ("dissipators", Dissipator),
                          ("dephasing", Dephasing)):
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
        for i, jump in enumerate(self.dissipators):
            for name in jump.modes:
                known(f"dissipators[{i}].jump.{name}", name)
            with field_prefix(f"dissipators[{i}]"):
                jump.occupation_at([self.modes[index[m]].frequency for m in jump.modes])
        for i, p in enumerate(self.dephasing):
            known(f"dephasing[{i}].mode", p.mode)

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
        """Whether any mode is not Gaussian (a qubit): the model is then nonlinear."""
        return any(not mode_kind(m.kind).gaussian for m in self.modes)

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
