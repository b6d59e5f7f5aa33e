"""Builders for the paper's systems.

Mode names are fixed so results line up across models: ``charger`` (a),
``battery`` (b), ``catalyst`` (q) and, for multi-cell batteries, ``cell1`` ...
``cellk``. All frequencies and rates are in units of omega.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from .errors import ModelError
from .model import MAX_OCCUPATION, MAX_RATE, Bath, Coupling, Dissipator, Drive, Mode, Model
from .validation import real_number


def _baths(rates: dict[tuple[str, str], float], n_th: float) -> tuple[Bath, ...]:
    """A bath per positive rate. Every rate and ``n_th`` are checked first (finite,
    >= 0, bounded), so a negative or NaN rate is refused, never dropped."""
    n_th = real_number("n_th", n_th, minimum=0.0, magnitude=MAX_OCCUPATION)
    checked = {name: real_number(arg, rate, minimum=0.0, magnitude=MAX_RATE)
               for (name, arg), rate in rates.items()}
    return tuple(Bath(name, rate, occupation=n_th) for name, rate in checked.items() if rate > 0)


def bare_model(g: float, F: float, gamma: float = 0.0, n_th: float = 0.0, *,
               omega: float = 1.0, omega_f: float | None = None,
               gamma_b: float = 0.0) -> Model:
    """Charger driven by a laser, coupled directly to one battery (Eq. 1-2).

    H = omega (a^dag a + b^dag b) + g (a b^dag + a^dag b) + F (e^{i omega_f t} a + h.c.),
    with a bath gamma, N = n_th on the charger (and optionally gamma_b on the battery).

    Args:
        g: charger-battery coupling.
        F: drive amplitude.
        gamma: charger damping rate.
        n_th: bath occupation N(T).
        omega: charger and battery frequency.
        omega_f: drive frequency (default omega; omega + g drives the C_+ supermode).
        gamma_b: battery damping rate (0 in the paper).
    """
    omega_f = omega if omega_f is None else omega_f
    return Model(
        modes=(Mode("charger", "oscillator", omega), Mode("battery", "oscillator", omega)),
        couplings=(Coupling(("charger", "battery"), g),),
        drives=(Drive("charger", F, omega_f),),
        baths=_baths({("charger", "gamma"): gamma, ("battery", "gamma_b"): gamma_b}, n_th),
    )


def nonreciprocal_model(g: float, F: float, gamma: float = 0.0, n_th: float = 0.0, *,
                        rate: float | None = None, phase: float = -math.pi / 2,
                        gamma_b: float = 0.0, reservoir_n_th: float = 0.0,
                        omega: float = 1.0, omega_f: float | None = None,
                        drive: str = "charger") -> Model:
    """Charger and battery coupled coherently and through a shared engineered reservoir
    (the nonreciprocal battery of Ahmadi et al., arXiv:2401.05090).

    H = omega (a^dag a + b^dag b) + g (a b^dag + a^dag b) + F (e^{i omega_f t} x + h.c.)
    (x = a, or b with ``drive="battery"``), local baths gamma on a and gamma_b on b
    (N = n_th), and the shared reservoir Gamma (N_r + 1) D[L] + Gamma N_r D[L^dag] with
    L = a + e^{i phi} b (Gamma = ``rate``, phi = ``phase``, N_r = ``reservoir_n_th``).

    The first moments obey d<x>/dt = A <x> - i F, with (rotating frame of omega)

        A_aa = -(Gamma + gamma)/2,   A_ab = -i g - (Gamma/2) e^{i phi},
        A_bb = -(Gamma + gamma_b)/2, A_ba = -i g - (Gamma/2) e^{-i phi}.

    At the default Gamma = 2g, phi = -pi/2 (L = a - i b) the coherent and dissipative
    paths cancel in A_ab = 0 (the battery does not act back on the charger) and add in
    A_ba = -2 i g: energy flows one way, charger -> battery. phi = +pi/2 reverses the
    direction; phi = 0 gives a reciprocal shared loss. Driven at omega, the steady state
    is alpha_a = -i F / (g + gamma/2), alpha_b = -2 i g alpha_a / (g + gamma_b/2).

    Args:
        g: coherent charger-battery coupling.
        F: drive amplitude.
        gamma: charger's local damping rate.
        n_th: local baths' occupation N(T).
        rate: shared reservoir's rate Gamma (default 2|g|, the nonreciprocity condition
            for g > 0; for g < 0 it holds at phase = +pi/2;
            0 gives the reciprocal pair, the bare model with ``gamma_b``).
        phase: phi in L = a + e^{i phi} b.
        gamma_b: battery's local damping rate.
        reservoir_n_th: shared reservoir's occupation N_r.
        omega: charger and battery frequency.
        omega_f: drive frequency (default omega).
        drive: the driven mode, ``"charger"`` or ``"battery"`` (to test the one-way flow).
    """
    rate = 2.0 * abs(g) if rate is None else real_number("rate", rate, minimum=0.0,
                                                          magnitude=MAX_RATE)
    phase = real_number("phase", phase, magnitude=1e6)
    if drive not in ("charger", "battery"):
        raise ModelError("drive", f"expected 'charger' or 'battery', got {drive!r}")
    omega_f = omega if omega_f is None else omega_f
    jump = {"charger": 1.0, "battery": [math.cos(phase), math.sin(phase)]}
    shared = (Dissipator(jump, rate, occupation=reservoir_n_th),) if rate > 0 else ()
    return Model(
        modes=(Mode("charger", "oscillator", omega), Mode("battery", "oscillator", omega)),
        couplings=(Coupling(("charger", "battery"), g),),
        drives=(Drive(drive, F, omega_f),),
        baths=_baths({("charger", "gamma"): gamma, ("battery", "gamma_b"): gamma_b}, n_th),
        dissipators=shared,
    )


def catalytic_model(g_aq: float, g_bq: float, F: float, gamma_a: float = 0.0,
                    gamma_q: float = 0.0, n_th: float = 0.0, *, catalyst: str = "qubit",
                    omega: float = 1.0, omega_q: float | None = None,
                    omega_f: float | None = None) -> Model:
    """Charger and battery coupled only through a catalyst (Eq. 9, 15).

    H = omega (a^dag a + b^dag b) + omega_q q^dag q + g_aq (a q^dag + h.c.)
        + g_bq (b q^dag + h.c.) + F (e^{i omega_f t} a + h.c.),
    baths gamma_a on the charger and gamma_q on the catalyst, both at N = n_th.

    Args:
        g_aq: charger-catalyst coupling.
        g_bq: battery-catalyst coupling.
        F: drive amplitude.
        gamma_a: charger damping rate.
        gamma_q: catalyst damping rate.
        n_th: bath occupation N(T).
        catalyst: ``"qubit"`` or ``"oscillator"``.
        omega: charger and battery frequency.
        omega_q: catalyst frequency (default omega).
        omega_f: drive frequency (default omega).
    """
    omega_q = omega if omega_q is None else omega_q
    omega_f = omega if omega_f is None else omega_f
    return Model(
        modes=(Mode("charger", "oscillator", omega), Mode("catalyst", catalyst, omega_q),
               Mode("battery", "oscillator", omega)),
        couplings=(Coupling(("charger", "catalyst"), g_aq),
                   Coupling(("battery", "catalyst"), g_bq)),
        drives=(Drive("charger", F, omega_f),),
        baths=_baths({("charger", "gamma_a"): gamma_a, ("catalyst", "gamma_q"): gamma_q}, n_th),
    )


def multicell_model(g_a: float, g_cells: Iterable[float], F: float, gamma_a: float = 0.0,
                    gamma_q: float = 0.0, n_th: float = 0.0, *, catalyst: str | None = "qubit",
                    omega: float = 1.0, omega_q: float | None = None,
                    omega_f: float | None = None) -> Model:
    """A battery of k cells, each coupled to the catalyst with its own g_i (Appendix A).

    H = omega sum_i a_i^dag a_i + omega_q q^dag q + sum_i g_i (a_i q^dag + h.c.)
        + F (e^{i omega_f t} a_0 + h.c.), with a_0 the charger (coupling g_a).

    With ``catalyst=None`` it builds the bare multi-cell battery instead: every
    cell coupled directly to the charger with g_i, no catalyst.

    Args:
        g_a: charger-catalyst coupling (ignored when ``catalyst`` is None).
        g_cells: one coupling per cell.
        F: drive amplitude on the charger.
        gamma_a: charger damping rate.
        gamma_q: catalyst damping rate.
        n_th: bath occupation N(T).
        catalyst: ``"qubit"``, ``"oscillator"`` or None (bare).
        omega: charger and cell frequency.
        omega_q: catalyst frequency (default omega).
        omega_f: drive frequency (default omega).
    """
    cells = [real_number(f"g_cells[{i}]", g) for i, g in enumerate(g_cells)]
    if not cells:
        raise ModelError("g_cells", "a battery needs at least one cell")
    omega_q = omega if omega_q is None else omega_q
    omega_f = omega if omega_f is None else omega_f
    names = [f"cell{i + 1}" for i in range(len(cells))]
    modes = [Mode("charger", "oscillator", omega)]
    hub = "charger"
    couplings = []
    if catalyst is not None:
        modes.append(Mode("catalyst", catalyst, omega_q))
        couplings.append(Coupling(("charger", "catalyst"), g_a))
        hub = "catalyst"
    modes += [Mode(n, "oscillator", omega) for n in names]
    couplings += [Coupling((n, hub), g) for n, g in zip(names, cells, strict=True)]
    rates = {("charger", "gamma_a"): gamma_a}
    if catalyst is not None:
        rates[("catalyst", "gamma_q")] = gamma_q
    return Model(modes=tuple(modes), couplings=tuple(couplings),
                 drives=(Drive("charger", F, omega_f),), baths=_baths(rates, n_th))
