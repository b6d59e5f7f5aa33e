"""Multi-cell batteries (Appendix A).

Parameters: charger-catalyst coupling g_a = 0.2, drive F = 0.1 at omega,
charger damping gamma = 0.05, N = 0 unless stated. The bare multi-cell battery
has every cell coupled directly to the charger with the same g_i.

- ``multicell_cells``: energy (dashed) and ergotropy (dotted) of each of three
  cells with unequal couplings g_i = 0.1, 0.2, 0.3, oscillator catalyst.
- ``multicell_cells_qubit``: the same for two cells (g_i = 0.15, 0.25) charged
  through a qubit catalyst (displaced-frame solver), t <= 100 (g t <= 25).
- ``multicell_vs_k``: ergotropy stored in all cells at t = 200 vs the number of
  cells k (g_i = 0.2 for every cell), catalytic vs bare, both driven at omega.
- ``appendix_claim``: for 200 random draws of (g_a, g_1, g_2, g_3) in
  [0.05, 0.35], the energy stored in the cells at t = 200 with the drive at
  omega: catalytic (oscillator catalyst) vs bare; the catalytic scheme needs no
  knowledge of the couplings.
"""

from __future__ import annotations

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from ..api import solve
from ..builders import multicell_model
from . import FigureSpec, displaced_note, register_figure, solve_dataset

G_A, F, GAMMA, T_STORE = 0.2, 0.1, 0.05, 200.0
#: Cell couplings of the qubit-catalyst multi-cell figure (two cells keep the
#: displaced frame's density matrix small: charger x qubit x 2 cells).
QUBIT_CELLS = (0.15, 0.25)


def _cells(names: tuple[str, ...]) -> list[int]:
    return [i for i, n in enumerate(names) if n.startswith("cell")]


def compute_cells(catalyst: str = "oscillator", couplings: tuple[float, ...] = (0.1, 0.2, 0.3),
                  stop: float = 400.0, points: int = 801, *, truncation_tol: float = 1e-6
                  ) -> xr.Dataset:
    """Per-cell energy and ergotropy for cells with the given couplings g_i."""
    model = multicell_model(G_A, couplings, F, GAMMA, catalyst=catalyst)
    return solve_dataset(model, stop, points, truncation_tol=truncation_tol,
                         method="displaced" if catalyst == "qubit" else "auto")


def draw_cells(ds: xr.Dataset, fig: Figure) -> None:
    ax = fig.add_subplot()
    x = ds["gt"]
    for k, mode in enumerate(m for m in ds["mode"].values if str(m).startswith("cell")):
        c = f"C{k}"
        ax.plot(x, ds["energy"].sel(mode=mode), "--", color=c, label=f"$E$ {mode}")
        ax.plot(x, ds["ergotropy"].sel(mode=mode), ":", lw=2, color=c, label=f"$W$ {mode}")
    if "catalyst" in ds["mode"].values:
        ax.plot(x, ds["energy"].sel(mode="catalyst"), "g-", label="$E$ catalyst")
    ax.set_xlabel("$g t$ ($g$ = largest coupling)")
    ax.set_ylabel("energy / $\\omega$")
    ax.set_title(str(ds.attrs.get("title", "")), fontsize=9)
    ax.legend(fontsize=7, ncols=2)


def compute_vs_k(ks: tuple[int, ...] = (1, 2, 3, 5, 8, 12, 20, 30, 50, 100)) -> xr.Dataset:
    """Stored ergotropy (sum over cells) at t = 200 vs k, catalytic and bare."""
    out = np.zeros((2, len(ks)))
    energy = np.zeros((2, len(ks)))
    for j, k in enumerate(ks):
        for i, cat in enumerate(("oscillator", None)):
            model = multicell_model(G_A, [0.2] * k, F, GAMMA, catalyst=cat)
            r = solve(model, [T_STORE])
            cells = _cells(model.names)
            out[i, j] = r.ergotropy[cells, -1].sum()
            energy[i, j] = r.energy[cells, -1].sum()
    return xr.Dataset(
        {"ergotropy": (("scheme", "k"), out, {"long_name": f"cells' ergotropy at t={T_STORE:g}"}),
         "energy": (("scheme", "k"), energy, {"long_name": f"cells' energy at t={T_STORE:g}"})},
        coords={"scheme": ["catalytic (oscillator)", "bare"], "k": list(ks)})


def draw_vs_k(ds: xr.Dataset, fig: Figure) -> None:
    ax = fig.add_subplot()
    for scheme, style in zip(ds["scheme"].values, ("o-", "s--"), strict=True):
        ax.plot(ds["k"], ds["ergotropy"].sel(scheme=scheme), style, label=str(scheme))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("number of cells $k$ ($g_i$ = 0.2 each)")
    ax.set_ylabel(f"ergotropy in the cells at $t$={T_STORE:g}")
    ax.set_title(str(ds.attrs.get("title", "")), fontsize=9)
    ax.legend(fontsize=8)


def compute_claim(draws: int = 200, seed: int = 2022) -> xr.Dataset:
    """Energy stored in three cells at t = 200 for random couplings, drive at omega."""
    rng = np.random.default_rng(seed)
    couplings = rng.uniform(0.05, 0.35, (draws, 4))
    stored = np.zeros((2, draws))
    for d in range(draws):
        for i, cat in enumerate(("oscillator", None)):
            model = multicell_model(couplings[d, 0], couplings[d, 1:], F, GAMMA, catalyst=cat)
            r = solve(model, [T_STORE])
            stored[i, d] = r.energy[_cells(model.names), -1].sum()
    return xr.Dataset(
        {"stored_energy": (("scheme", "draw"), stored),
         "g": (("draw", "coupling"), couplings)},
        coords={"scheme": ["catalytic (oscillator)", "bare"],
                "coupling": ["g_a", "g_1", "g_2", "g_3"]},
        attrs={"seed": seed})


def draw_claim(ds: xr.Dataset, fig: Figure) -> None:
    ax = fig.add_subplot()
    cat = ds["stored_energy"].sel(scheme="catalytic (oscillator)")
    bare = ds["stored_energy"].sel(scheme="bare")
    ax.scatter(bare, cat, s=8)
    lim = [float(min(bare.min(), cat.min())), float(max(bare.max(), cat.max()))]
    ax.plot(lim, lim, "k:", lw=1, label="equal")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(f"bare battery: energy in cells at t={T_STORE:g}")
    ax.set_ylabel(f"catalytic: energy in cells at t={T_STORE:g}")
    ratio = (cat / bare).values
    ax.set_title(f"{ds.attrs.get('title', '')}\n{ratio.size} random couplings; catalytic/bare "
                 f"median {np.median(ratio):.3g}, min {ratio.min():.3g}", fontsize=8)
    ax.legend(fontsize=8)


register_figure(FigureSpec(
    "multicell_cells", "Three cells g_i=0.1,0.2,0.3, oscillator catalyst, drive at ω; "
    f"g_a={G_A}, F={F}, γ={GAMMA}", lambda: compute_cells("oscillator"), draw_cells))
register_figure(FigureSpec(
    "multicell_cells_qubit", "Two cells g_i=0.15,0.25, qubit catalyst, drive at ω; "
    f"g_a={G_A}, F={F}, γ={GAMMA}\n{displaced_note(1e-4)}",
    lambda: compute_cells("qubit", QUBIT_CELLS, 100.0, 201, truncation_tol=1e-4), draw_cells))
register_figure(FigureSpec(
    "multicell_vs_k", f"Stored ergotropy vs number of cells; g_a={G_A}, F={F}, γ={GAMMA}, "
    "drive at ω", compute_vs_k, draw_vs_k))
register_figure(FigureSpec(
    "appendix_claim", "Appendix A: drive at ω with unknown couplings (3 cells)",
    compute_claim, draw_claim))
