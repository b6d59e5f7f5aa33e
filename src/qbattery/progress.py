"""Progress bars for long commands (``simulate``, ``reproduce``) on a terminal.

The engines report progress through a callback ``progress(t, status)`` (simulated
time reached, e.g. the current cutoffs; see :class:`qbattery.solvers.base.RunContext`).
:func:`time_bar` turns it into a tqdm bar on stderr when stderr is a terminal and
the user did not ask for ``--quiet``; otherwise it gives no callback at all.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from tqdm import tqdm

__all__ = ["figure_bar", "interactive", "time_bar"]


def interactive(quiet: bool = False) -> bool:
    """Whether to draw bars: stderr is a terminal and not ``--quiet``."""
    return not quiet and sys.stderr.isatty()


@contextlib.contextmanager
def time_bar(start: float, stop: float, desc: str, *, enabled: bool
             ) -> Iterator[Callable[[float, str], None] | None]:
    """A bar over simulated time [start, stop]; yields the engine's progress callback."""
    if not enabled or stop <= start:
        yield None
        return
    bar = tqdm(total=stop - start, desc=desc, unit="t", file=sys.stderr, leave=False,
               bar_format="{desc}: {percentage:3.0f}%|{bar}| t = {n:.4g}/{total:.4g} "
                          "[{elapsed}<{remaining}{postfix}]")
    done = 0.0

    def report(t: float, status: str) -> None:
        nonlocal done
        reached = min(max(t - start, 0.0), stop - start)
        if status:
            bar.set_postfix_str(status, refresh=False)
        if reached > done:
            bar.update(reached - done)
            done = reached

    try:
        yield report
    finally:
        bar.close()


@contextlib.contextmanager
def figure_bar(names: list[str], *, enabled: bool
               ) -> Iterator[tuple[Callable[[str], None] | None, Callable[[str], None]]]:
    """``(starting, done)`` callbacks for ``reproduce``: a bar over the figures (on a
    terminal) that names the one being computed; ``done`` prints each figure's line."""
    if not enabled:
        yield None, print
        return
    bar = tqdm(total=len(names), desc="reproduce", unit="figure", file=sys.stderr)

    def starting(name: str) -> None:
        bar.set_description(f"reproduce {name}")

    def done(line: str) -> None:
        bar.write(line, file=sys.stdout)
        bar.update(1)

    try:
        yield starting, done
    finally:
        bar.close()
