"""Helpers of the CLI robustness tests (issue 12): run the CLI, check its one-line errors,
copy example models with edits, make folders unwritable even for root."""

from __future__ import annotations

import contextlib
import hashlib
import io
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qbattery.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
SRC = str(Path(__file__).resolve().parents[1] / "src")


def run(args: list[str]) -> tuple[int, str, str]:
    """``qbattery ARGS`` in-process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(args)
    return status, out.getvalue(), err.getvalue()


def run_process(args: list[str], *, cwd: Path, prelude: str = "",
                timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``qbattery ARGS`` in a fresh interpreter, after ``prelude`` (Python code)."""
    code = f"{prelude}\nimport sys\nfrom qbattery.cli import main\nsys.exit(main({args!r}))"
    env = {**os.environ, "PYTHONPATH": SRC, "OPENBLAS_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=timeout)


def assert_error(status: int, stderr: str, expected_status: int, *fragments: str) -> None:
    """One line ``qbattery: error: ...`` containing every fragment; no traceback."""
    assert status == expected_status, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith("qbattery: error: "), stderr
    assert "Traceback" not in stderr and "unexpected" not in stderr, stderr
    for fragment in fragments:
        assert fragment in lines[0], (fragment, stderr)


def listing(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (hidden ones too) with its SHA-256."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            if p.is_file() else "dir" for p in sorted(folder.rglob("*"))}


def model_file(folder: Path, base: str = "bare.toml", stop: float = 10.0, points: int = 11,
               **replacements: str) -> Path:
    """A copy of an example with a short time grid and textual replacements
    (``old=new``, keys are only labels)."""
    text = (EXAMPLES / base).read_text()
    text = text.replace("stop = 300.0", f"stop = {stop}").replace("points = 601",
                                                                  f"points = {points}")
    text = text.replace("stop = 30.0", f"stop = {stop}").replace("points = 61",
                                                                 f"points = {points}")
    for pair in replacements.values():
        old, new = pair.split("=>")
        assert old in text, old
        text = text.replace(old, new, 1)
    path = folder / f"model-{len(list(folder.glob('model-*')))}.toml"
    path.write_text(text)
    return path


@contextlib.contextmanager
def immutable(path: Path) -> Iterator[None]:
    """``chattr +i path`` for the block (even root cannot write); skip where unsupported."""
    chattr = shutil.which("chattr")
    if chattr is None or subprocess.run([chattr, "+i", str(path)],
                                        capture_output=True).returncode != 0:
        pytest.skip("chattr +i is not available here")
    try:
        yield
    finally:
        subprocess.run([chattr, "-i", str(path)], check=True)



FSIZE = "import resource\nresource.setrlimit(resource.RLIMIT_FSIZE, ({0}, {0}))"


@contextlib.contextmanager
def small_disk(folder: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted on ``folder`` (a disk that can fill); skip where
    mounting is not allowed."""
    folder.mkdir()
    mount = shutil.which("mount")
    if mount is None or subprocess.run([mount, "-t", "tmpfs", "-o", f"size={size}", "tmpfs",
                                        str(folder)], capture_output=True).returncode != 0:
        pytest.skip("cannot mount a small tmpfs here")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


