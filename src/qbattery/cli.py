"""Command-line interface: ``qbattery simulate | modes | reproduce | methods | ...``.

Commands are registered with :func:`command`; modules that add commands (for
example the sweep tools) register theirs in :data:`COMMAND_MODULES`. Every
error that bad input causes is printed as one line on stderr with exit status
2; no traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import QBatteryError

#: name -> (help, configure(parser), run(args) -> exit status)
Runner = Callable[[argparse.Namespace], int]
Command = tuple[str, Callable[[argparse.ArgumentParser], None], Runner]
COMMANDS: dict[str, Command] = {}

#: Modules imported by :func:`main` so that they can register more commands.
COMMAND_MODULES: list[str] = ["qbattery.sweeps.cli", "qbattery.merit_cli"]


def command(name: str, help: str, configure: Callable[[argparse.ArgumentParser], None]
            ) -> Callable[[Runner], Runner]:
    """Register ``run(args) -> int`` as the sub-command ``name``."""
    def wrap(run: Runner) -> Runner:
        COMMANDS[name] = (help, configure, run)
        return run
    return wrap


class _Parser(argparse.ArgumentParser):
    """ArgumentParser whose usage errors are one line and exit status 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        sys.stderr.write(f"qbattery: error: {message} (see '{self.prog} --help')\n")
        raise SystemExit(2)


def _parser() -> argparse.ArgumentParser:
    from . import __version__

    parser = _Parser(prog="qbattery", description="Simulate and design the charging of "
                     "quantum batteries (Rodríguez et al., 2022).")
    parser.add_argument("--version", action="version", version=f"qbattery {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, (help_, configure, _) in COMMANDS.items():
        configure(sub.add_parser(name, help=help_, description=help_))
    return parser


# -- simulate -----------------------------------------------------------------------------------
def _configure_simulate(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--out", required=True, help="result file (NetCDF, .nc)")
    p.add_argument("--plot", help="also plot energy and ergotropy of every mode (PNG)")
    p.add_argument("--method", help="override [solver] method")


@command("simulate", "solve a model file and write the result as NetCDF", _configure_simulate)
def _simulate(args: argparse.Namespace) -> int:
    from dataclasses import replace

    from .config import load_toml
    from .plotting import plot_result

    sim = load_toml(args.model)
    if args.method:
        sim = replace(sim, solver=replace(sim.solver, method=args.method))
    result = sim.run()
    out = Path(args.out)
    _check_parent("--out", out)
    result.to_netcdf(out)
    msg = f"{out}: method {result.method}, {result.stats['solve_seconds']:.3g} s solve"
    if args.plot:
        _check_parent("--plot", Path(args.plot))
        plot_result(result.to_xarray(), args.plot)
        msg += f"; plot {args.plot}"
    print(msg)
    print(importlib.import_module("qbattery.merit_cli").summary_table(result.to_xarray()))
    return 0


def _check_parent(flag: str, path: Path) -> None:
    from .errors import ModelError

    if not path.parent.exists():
        raise ModelError(flag, f"folder {str(path.parent)!r} does not exist")


# -- modes --------------------------------------------------------------------------------------
def _configure_modes(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--catalyst", help="name of the catalyst mode (default: 'catalyst' or the "
                   "only qubit)")


@command("modes", "print the supermodes of a model: frequencies, drive weights, dark modes",
         _configure_modes)
def _modes(args: argparse.Namespace) -> int:
    from .config import load_toml
    from .supermodes import supermodes

    sim = load_toml(args.model)
    print(supermodes(sim.model, catalyst=args.catalyst).table())
    return 0


# -- reproduce ----------------------------------------------------------------------------------
def _configure_reproduce(p: argparse.ArgumentParser) -> None:
    p.add_argument("figures", nargs="*", help="figure names (default: all); see --list")
    p.add_argument("--out", default="qbattery-figures", help="output folder "
                   "(default: ./qbattery-figures)")
    p.add_argument("--list", action="store_true", help="list the figures and exit")


@command("reproduce", "reproduce the paper's figures (PNG + NetCDF data)", _configure_reproduce)
def _reproduce(args: argparse.Namespace) -> int:
    from .figures import FIGURES, reproduce

    if args.list:
        width = max(map(len, FIGURES))
        for name, spec in FIGURES.items():
            print(f"{name:{width}s}  {spec.title.replace(chr(10), '; ')}")
        return 0
    reproduce(args.figures, out=args.out, progress=print)
    return 0


# -- methods ------------------------------------------------------------------------------------
@command("methods", "list the solver methods", lambda p: None)
def _methods(args: argparse.Namespace) -> int:
    from .solvers import methods

    for name, text in methods().items():
        print(f"{name:10s} {text}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qbattery`` script."""
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    parser = _parser()
    args = parser.parse_args(argv)
    _, _, run = COMMANDS[args.command]
    try:
        return run(args)
    except QBatteryError as err:
        sys.stderr.write(f"qbattery: error: {err}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("qbattery: interrupted\n")
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
