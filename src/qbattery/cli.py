"""Command-line interface: ``qbattery simulate | modes | reproduce | methods | ...``.

Commands are registered with :func:`command`; modules that add commands (for
example the sweep tools) register theirs in :data:`COMMAND_MODULES`.

Every failure ends in one line on stderr, ``qbattery: error: ...``, never a
traceback: exit status 2 for bad input (naming the field, argument or path), 1
for the environment (disk full, permissions, read-only files, memory) and for
unexpected errors, 130 when interrupted, 143 when terminated (SIGTERM).
``--debug`` (anywhere on the command line) lets the exception and its traceback
through instead, for bug reports.
Warnings are printed as one line each (``qbattery: warning: ...``) after a
successful run.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import signal
import sys
import warnings
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

from .errors import ModelError, QBatteryError
from .io import check_output, figure_writer, netcdf_writer, write_all

#: Exit statuses: bad input, the environment (or an unexpected error), interrupted (Ctrl-C),
#: terminated (SIGTERM).
BAD_INPUT, ENVIRONMENT, INTERRUPTED, TERMINATED = 2, 1, 130, 143

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
    parser.add_argument("--debug", action="store_true", help="show the traceback of an error "
                        "(for bug reports); accepted anywhere on the command line")
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
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@command("simulate", "solve a model file and write the result as NetCDF", _configure_simulate)
def _simulate(args: argparse.Namespace) -> int:
    from .config import load_toml, with_method
    from .plotting import result_figure

    out = check_output("--out", args.out)
    plot = None if args.plot is None else check_output("--plot", args.plot, image=True)
    if plot is not None and plot.resolve() == out.resolve():
        raise ModelError("--plot", f"{str(plot)!r} is the --out file")
    for flag, path in (("--out", out), ("--plot", plot)):
        if path is not None and path.resolve() == Path(args.model).resolve():
            raise ModelError(flag, f"{str(path)!r} is the model file")
    sim = load_toml(args.model)
    if args.method is not None:
        sim = with_method(sim, args.method, flag="--method")
    from .progress import interactive, time_bar

    with time_bar(0.0, float(sim.time.times[-1]), "simulate",
                  enabled=interactive(args.quiet)) as progress:
        result = sim.run(progress=progress)
    ds = result.to_xarray()
    outputs = [(out, "--out", netcdf_writer(ds))]
    msg = f"{out}: method {result.method}, {result.stats['solve_seconds']:.3g} s solve"
    if plot is not None:
        outputs.append((plot, "--plot", figure_writer(result_figure(ds), plot)))
        msg += f"; plot {plot}"
    write_all(outputs)
    print(msg)
    print(importlib.import_module("qbattery.merit_cli").summary_table(ds))
    return 0


# -- modes --------------------------------------------------------------------------------------
def _configure_modes(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", help="model file (TOML)")
    p.add_argument("--catalyst", help="name of the catalyst mode (default: 'catalyst' or the "
                   "only qubit)")


@command("modes", "print the supermodes of a model: frequencies, drive weights, dark modes",
         _configure_modes)
def _modes(args: argparse.Namespace) -> int:
    from .config import load_toml
    from .supermodes import constant_segments, supermodes

    sim = load_toml(args.model)
    segments = constant_segments(sim.model)
    if len(segments) == 1:
        print(supermodes(sim.model, catalyst=args.catalyst).table())
        return 0
    for a, b, model in segments:  # envelopes: the model as it is on each segment
        print(f"== t in [{a:g}, {b:g}): ", end="")
        if model is None:
            print("an envelope varies here (ramp or pulse); no constant normal modes\n")
        else:
            print("\n" + supermodes(model, catalyst=args.catalyst).table() + "\n")
    return 0


# -- reproduce ----------------------------------------------------------------------------------
def _configure_reproduce(p: argparse.ArgumentParser) -> None:
    p.add_argument("figures", nargs="*", help="figure names (default: all); see --list")
    p.add_argument("--out", default="qbattery-figures", help="output folder "
                   "(default: ./qbattery-figures)")
    p.add_argument("--list", action="store_true", help="list the figures and exit")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


@command("reproduce", "reproduce the paper's figures (PNG + NetCDF data)", _configure_reproduce)
def _reproduce(args: argparse.Namespace) -> int:
    from .figures import FIGURES, reproduce

    if args.list:
        width = max(map(len, FIGURES))
        for name, spec in FIGURES.items():
            print(f"{name:{width}s}  {spec.title.replace(chr(10), '; ')}")
        return 0
    from .progress import figure_bar, interactive

    chosen = list(args.figures) or list(FIGURES)
    with figure_bar(chosen, enabled=interactive(args.quiet)) as (starting, done):
        reproduce(args.figures, out=args.out, progress=done, starting=starting)
    return 0


# -- methods ------------------------------------------------------------------------------------
@command("methods", "list the solver methods", lambda p: None)
def _methods(args: argparse.Namespace) -> int:
    from .solvers import methods

    for name, text in methods().items():
        print(f"{name:10s} {text}")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``qbattery`` script: run a command, return its exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args_list
    if debug:
        args_list = [a for a in args_list if a != "--debug"]
        return _run(args_list, debug=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        try:
            status = _run(args_list, debug=False)
        except SystemExit as exit_:  # argparse (usage errors, --help, --version)
            return exit_.code if isinstance(exit_.code, int) else BAD_INPUT
        except BaseException as err:  # the boundary: one line, never a traceback
            status, message = _classify(err)
            sys.stderr.write(f"qbattery: {message}\n")
            return status
    seen = set()
    for w in caught:
        line = _one_line(f"{w.category.__name__}: {w.message}")
        if line not in seen:
            seen.add(line)
            sys.stderr.write(f"qbattery: warning: {line}\n")
    return status


def _run(argv: list[str], *, debug: bool) -> int:
    for module in COMMAND_MODULES:
        importlib.import_module(module)
    args = _parser().parse_args(argv)
    _, _, run = COMMANDS[args.command]
    with _signals():
        return run(args)


class Terminated(BaseException):
    """SIGTERM arrived: unwound like Ctrl-C, so temporary files are removed."""


@contextlib.contextmanager
def _signals() -> Iterator[None]:
    """While a command runs: a file-size limit (ulimit -f) fails the write (EFBIG, reported
    in one line, the temporary file removed) instead of killing the process with SIGXFSZ,
    and SIGTERM unwinds the command (cleaning up) instead of killing it."""
    def terminate(signum: int, frame: FrameType | None) -> None:
        raise Terminated

    wanted: dict[signal.Signals, Any] = {signal.SIGTERM: terminate}
    if hasattr(signal, "SIGXFSZ"):
        wanted[signal.SIGXFSZ] = signal.SIG_IGN
    previous: dict[signal.Signals, Any] = {}
    try:
        for sig, handler in wanted.items():
            previous[sig] = signal.signal(sig, handler)
    except ValueError:  # not the main thread: leave the signals alone
        pass
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _one_line(text: str) -> str:
    return " ".join(text.split()) or "(no message)"


def _classify(err: BaseException) -> tuple[int, str]:
    """Exit status and one-line message of an exception that ended a command."""
    if isinstance(err, KeyboardInterrupt):
        return INTERRUPTED, "interrupted"
    if isinstance(err, Terminated):
        return TERMINATED, "terminated"
    if isinstance(err, QBatteryError):
        status = getattr(err, "exit_status", BAD_INPUT)
        return status, f"error: {_one_line(str(err))}"
    if isinstance(err, MemoryError):
        return ENVIRONMENT, ("error: out of memory (reduce [time] points, the cutoffs or the "
                             "sweep size)")
    if isinstance(err, OSError):
        where = f"{err.filename}: " if err.filename else ""
        return ENVIRONMENT, f"error: {_one_line(where + (err.strerror or str(err)))}"
    return ENVIRONMENT, (f"error: unexpected {type(err).__name__}: {_one_line(str(err))} "
                         "(a bug: run again with --debug and report the traceback)")


if __name__ == "__main__":  # pragma: no cover
    # `python -m qbattery.cli`: run the imported module's main, whose command registry is
    # the one the command modules (qbattery.sweeps.cli) register into
    from qbattery.cli import main as _main

    raise SystemExit(_main())
