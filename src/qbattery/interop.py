r"""Export a model to QuTiP, to cross-check qbattery or continue in QuTiP.

:func:`to_qutip` returns the problem that ``method = "fock"`` solves, as QuTiP
objects on the same truncated space (basis order as ``qutip.tensor``, mode 0
first): the Hamiltonian in the frame rotating at ``model.frame_frequency``,

    H(t) = sum_i (omega_i - omega_r) x_i^dag x_i + sum_(i,j) g_ij (x_i x_j^dag + x_i^dag x_j)
         + sum_k F_k (exp(i delta_k t) x_k + exp(-i delta_k t) x_k^dag),
    delta_k = omega_k - omega_r,

(a ``Qobj`` when every drive is at the frame frequency, else QuTiP's list
format ``[H0, [V, f], [V.dag(), g]]`` with f(t) = exp(i delta t)), the collapse
operators sqrt(gamma (N + 1)) x and sqrt(gamma N) x^dag of every bath, the
initial product state, and each mode's lowering operator::

    import numpy as np, qutip, qbattery as qb
    from qbattery.interop import to_qutip

    model = qb.catalytic_model(0.2, 0.2, 0.1, gamma_a=0.05)
    p = to_qutip(model, cutoffs={"charger": 20, "battery": 20})
    times = np.linspace(0, 50, 101)
    out = qutip.mesolve(p.hamiltonian, p.initial_state, times, p.collapse_operators,
                        e_ops=[p.number("battery")])

QuTiP is optional: ``pip install "qbattery[qutip]"``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .envelopes import Envelope
from .errors import ModelError
from .hilbert import (
    FockSpace,
    estimate_cutoffs,
    initial_state,
    jump_operator,
    jumps,
    plan_cutoffs,
    rotating_hamiltonian,
)
from .model import Model

__all__ = ["QutipProblem", "to_qutip"]


@dataclass(frozen=True)
class QutipProblem:
    """A model as QuTiP objects (see :func:`to_qutip`).

    Attributes:
        hamiltonian: rotating-frame H: a ``Qobj`` or QuTiP's time-dependent list.
        collapse_operators: one ``Qobj`` per bath term.
        initial_state: the initial density matrix (``Qobj``).
        lowering: each mode's lowering operator x_i, by name.
        space: the truncated space (names, kinds, levels per mode).
    """

    hamiltonian: Any
    collapse_operators: list[Any]
    initial_state: Any
    lowering: dict[str, Any]
    space: FockSpace

    def number(self, name: str) -> Any:
        """x^dag x of the mode ``name`` (its energy is frequency times this)."""
        x = self.lowering[name]
        return x.dag() * x


def _phase(delta: float, sign: int, envelope: Envelope | None = None
           ) -> Callable[[float], complex]:
    def coefficient(t: float) -> complex:
        f = 1.0 if envelope is None else float(envelope(t))
        return complex(f * np.exp(1j * sign * delta * t))
    return coefficient


def to_qutip(model: Model, *, cutoffs: int | Mapping[str, int] | str,
             stop: float | None = None, tol: float = 1e-6, max_cutoff: int = 120
             ) -> QutipProblem:
    """The master equation of ``model`` on a truncated space, as QuTiP objects.

    Args:
        model: the network.
        cutoffs: levels for every oscillator (an int), per oscillator ({mode: int};
            missing modes are estimated), or ``"auto"``.
        stop: end of the time window, needed to estimate cutoffs.
        tol: top-level population the estimate aims at (as ``truncation_tol``).
        max_cutoff: largest estimated cutoff.

    Returns:
        A :class:`QutipProblem`. Estimated cutoffs come from the Gaussian twin of
        the model and are not checked here; qbattery's Fock solver checks them.
    """
    try:
        import qutip
    except ImportError:  # pragma: no cover - depends on the environment
        raise ModelError("qutip", "QuTiP is not installed; pip install \"qbattery[qutip]\"") \
            from None
    plan = plan_cutoffs(model, cutoffs)
    levels = dict(plan.fixed)
    if plan.auto:
        if stop is None:
            raise ModelError("stop", "give the end of the time window to estimate cutoffs for "
                             + ", ".join(plan.auto))
        levels.update(estimate_cutoffs(model, float(stop), plan.auto, tol=tol,
                                       max_cutoff=max_cutoff))
    space = FockSpace.of(model, levels)
    dims = [list(space.dims), list(space.dims)]

    def qobj(matrix: Any) -> Any:
        return qutip.Qobj(matrix, dims=dims)

    ham = rotating_hamiltonian(model, space)
    h0 = qobj(ham.static)
    hamiltonian: Any = h0
    if ham.oscillating or ham.modulated:
        hamiltonian = [h0]
        for delta, v in ham.oscillating:
            hamiltonian += [[qobj(v), _phase(delta, 1)], [qobj(v.conj().T), _phase(delta, -1)]]
        for env, delta, v in ham.modulated:  # f(t) (e^{i delta t} V + h.c.)
            hamiltonian += [[qobj(v), _phase(delta, 1, env)],
                            [qobj(v.conj().T), _phase(delta, -1, env)]]
    return QutipProblem(
        hamiltonian=hamiltonian,
        collapse_operators=[qobj(jump_operator(space, j)) for j in jumps(model)],
        initial_state=qobj(initial_state(model, space)),
        lowering={name: qobj(space.lowering(i)) for i, name in enumerate(model.names)},
        space=space,
    )
