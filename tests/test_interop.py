"""QuTiP export, and the Fock solver against qutip.mesolve on the exported problem."""

from __future__ import annotations

import numpy as np
import pytest

import qbattery as qb
from qbattery.errors import ModelError
from qbattery.interop import to_qutip

qutip = pytest.importorskip("qutip")

G, F, GAMMA = 0.2, 0.1, 0.05
TIGHT = {"rtol": 1e-10, "atol": 1e-12}
QUTIP_TIGHT = {"rtol": 1e-10, "atol": 1e-12, "nsteps": 100000}


def _mesolve(model: qb.Model, cutoffs: dict[str, int], t: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, list]:
    """Energies and amplitudes of every mode from QuTiP, and the final states."""
    p = to_qutip(model, cutoffs=cutoffs)
    e_ops = [p.number(n) for n in model.names] + [p.lowering[n] for n in model.names]
    out = qutip.mesolve(p.hamiltonian, p.initial_state, t, p.collapse_operators, e_ops=e_ops,
                        options=QUTIP_TIGHT)
    n = len(model.names)
    w = np.array([m.frequency for m in model.modes])[:, None]
    return w * np.real(np.array(out.expect[:n])), np.array(out.expect[n:]), out


@pytest.mark.parametrize(("n_th", "gamma_q"), [(0.0, 0.0), (1.0, GAMMA)])
def test_qubit_catalyst_matches_mesolve_at_equal_cutoff(n_th: float, gamma_q: float) -> None:
    """Acceptance: Eq. 15 with a qubit catalyst, same truncation, agreement to 1e-6."""
    model = qb.catalytic_model(G, G, F, GAMMA, gamma_q, n_th)
    cut = {"charger": 10, "battery": 10}
    t = np.linspace(0.0, 20.0, 11)
    # the comparison is of the same truncated problem, whatever its tails
    r = qb.solve(model, t, method="fock",
                 options=qb.SolverOptions(cutoff=cut, truncation_tol=0.5, **TIGHT))
    energy, amplitude, _ = _mesolve(model, cut, t)
    np.testing.assert_allclose(r.energy, energy, atol=1e-6)
    np.testing.assert_allclose(r.amplitude, amplitude, atol=1e-6)
    assert r.energy[2, -1] > 0.5


def test_several_drive_frequencies_export_a_time_dependent_hamiltonian() -> None:
    """Detuned second drive: QuTiP list format, and the same dynamics."""
    model = qb.Model(
        modes=(qb.Mode("charger"), qb.Mode("catalyst", "qubit", 1.05), qb.Mode("battery")),
        couplings=(qb.Coupling(("charger", "catalyst"), G),
                   qb.Coupling(("battery", "catalyst"), G)),
        drives=(qb.Drive("charger", F, 1.0), qb.Drive("battery", 0.08, 1.1)),
        baths=(qb.Bath("charger", GAMMA, occupation=0.2),),
    )
    cut = {"charger": 7, "battery": 7}
    p = to_qutip(model, cutoffs=cut)
    assert isinstance(p.hamiltonian, list) and len(p.hamiltonian) == 3
    t = np.linspace(0.0, 15.0, 7)
    r = qb.solve(model, t, method="fock",
                 options=qb.SolverOptions(cutoff=cut, truncation_tol=0.5, **TIGHT))
    energy, amplitude, _ = _mesolve(model, cut, t)
    np.testing.assert_allclose(r.energy, energy, atol=1e-6)
    np.testing.assert_allclose(r.amplitude, amplitude, atol=1e-6)


def test_export_contents() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA, GAMMA, 0.5)
    p = to_qutip(model, cutoffs=5)
    assert p.hamiltonian.dims == [[5, 2, 5], [5, 2, 5]]
    assert p.hamiltonian.isherm
    assert len(p.collapse_operators) == 4  # (N+1) and N terms on the charger and the qubit
    assert p.initial_state.tr() == pytest.approx(1.0)
    sm = qutip.tensor(qutip.qeye(5), qutip.destroy(2), qutip.qeye(5))
    assert (p.lowering["catalyst"] - sm).norm() < 1e-14
    # Eq. 15 at resonance: g (a q^+ + q a^+ + b q^+ + q b^+) + F (a + a^+)
    a = qutip.tensor(qutip.destroy(5), qutip.qeye(2), qutip.qeye(5))
    b = qutip.tensor(qutip.qeye(5), qutip.qeye(2), qutip.destroy(5))
    h = G * (a * sm.dag() + sm * a.dag() + b * sm.dag() + sm * b.dag()) + F * (a + a.dag())
    assert (p.hamiltonian - h).norm() < 1e-14


def test_auto_cutoffs_need_a_time_window() -> None:
    model = qb.catalytic_model(G, G, F, GAMMA)
    with pytest.raises(ModelError, match="stop: give the end of the time window"):
        to_qutip(model, cutoffs="auto")
    p = to_qutip(model, cutoffs="auto", stop=20.0)
    assert p.space.dims[1] == 2 and p.space.dims[0] > 5
