"""Writing results safely: outputs checked before any work, atomic writes, finite data only.

* :func:`check_output` checks a file output before the run starts: the path is
  not empty, its folder exists, is a folder and accepts a new file (a probe file
  is created and removed, which also catches read-only and immutable folders,
  whatever the user's rights), the path is not a folder, not a device or other
  special file, not an unwritable existing file, and, for images, has an
  extension Matplotlib can write.
* :func:`atomic_write` writes into a hidden temporary file in the destination's
  folder and renames it over the destination only once the write succeeded: a
  failed write (disk full, file-size limit, permission, an error while
  serialising) leaves no new file and never changes an existing one.
* :func:`write_netcdf` refuses a Dataset with NaN or infinite values (naming the
  variable) before anything is written.

Bad paths raise :class:`~qbattery.errors.ModelError` (exit status 2); a write
that the environment makes fail raises :class:`OutputError` (exit status 1).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Collection, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .errors import ModelError, QBatteryError

if TYPE_CHECKING:
    import xarray as xr
    from matplotlib.figure import Figure

#: Exit status of an error caused by the environment (disk, permissions), not by the input.
ENVIRONMENT_STATUS = 1


class OutputError(QBatteryError, OSError):
    """A file could not be written because of the environment (disk full, permissions,
    read-only file system, file-size limit); nothing was written or changed."""

    exit_status = ENVIRONMENT_STATUS


class NonFiniteError(QBatteryError, ValueError):
    """A result holds NaN or infinite values; it is refused, never written."""


def image_formats() -> tuple[str, ...]:
    """File extensions Matplotlib can write (``png``, ``pdf``, ``svg``, ...)."""
    from matplotlib.backend_bases import FigureCanvasBase

    return tuple(sorted(FigureCanvasBase.get_supported_filetypes()))


def _reason(err: OSError) -> str:
    return err.strerror or str(err)


def _probe(flag: str, folder: Path) -> None:
    """Create and remove a file in ``folder``: the only check that holds for root too."""
    try:
        fd, name = tempfile.mkstemp(dir=folder, prefix=".qbattery-probe-")
    except OSError as err:
        raise OutputError(f"{flag}: cannot write into folder {str(folder)!r}: "
                          f"{_reason(err)}") from None
    os.close(fd)
    os.unlink(name)


def check_folder(flag: str, folder: str | Path, *, create: bool = False) -> Path:
    """Check that ``folder`` is (or, with ``create``, can be made) a writable folder."""
    text = str(folder)
    if not text.strip():
        raise ModelError(flag, "empty path")
    p = Path(folder)
    if create and not p.exists():
        try:
            p.mkdir(parents=True)
        except FileExistsError:
            pass
        except NotADirectoryError:
            raise ModelError(flag, f"cannot create {text!r}: a part of it is a file") from None
        except OSError as err:
            raise OutputError(f"{flag}: cannot create {text!r}: {_reason(err)}") from None
    if not p.exists():
        raise ModelError(flag, f"folder {text!r} does not exist")
    if not p.is_dir():
        raise ModelError(flag, f"{text!r} is not a folder")
    _probe(flag, p)
    return p


def check_output(flag: str, path: str | Path, *, image: bool = False) -> Path:
    """Check a file output before any work starts; returns it as a Path.

    Checked: not empty; its folder exists, is a folder and accepts a new file;
    the path is not a folder or a special file (device, pipe); an existing file
    may be replaced; with ``image``, the extension is one Matplotlib writes.

    Raises:
        ModelError: a bad path (exit status 2), naming ``flag``.
        OutputError: the folder or the file cannot be written (exit status 1).
    """
    text = str(path)
    if not text.strip():
        raise ModelError(flag, "empty path")
    p = Path(path)
    if text.endswith(os.sep) or p.is_dir():
        raise ModelError(flag, f"{text!r} is a folder; expected a file name")
    if image:
        ext = p.suffix.lower().removeprefix(".")
        formats = image_formats()
        if ext not in formats:
            what = f"unknown image extension {p.suffix!r}" if ext else "no image extension"
            raise ModelError(flag, f"{text!r} has {what}; use one of "
                             + ", ".join("." + f for f in formats))
    parent = p.parent
    if not parent.exists():
        raise ModelError(flag, f"folder {str(parent)!r} does not exist")
    if not parent.is_dir():
        raise ModelError(flag, f"{str(parent)!r} is not a folder")
    if p.exists() or p.is_symlink():
        mode = os.lstat(p).st_mode
        if stat.S_ISLNK(mode):
            raise ModelError(flag, f"{text!r} is a symbolic link; give the file it points to")
        if not stat.S_ISREG(mode):
            raise ModelError(flag, f"{text!r} exists and is not a regular file")
        if not os.access(p, os.W_OK):
            raise OutputError(f"{flag}: {text!r} exists and cannot be replaced "
                              "(read-only or immutable)")
    _probe(flag, parent)
    return p


@contextlib.contextmanager
def atomic_write(path: str | Path, *, flag: str = "--out") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success rename it to ``path``.

    On any error the temporary file is removed and ``path`` is left as it was;
    an :class:`OSError` becomes an :class:`OutputError` naming ``flag`` and ``path``.
    """
    p = Path(path)
    try:
        fd, name = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
    except OSError as err:
        raise OutputError(f"{flag}: cannot write {str(p)!r}: {_reason(err)}") from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as f:  # the data reaches the disk before the rename
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_for(p))
        os.replace(tmp, p)
    except OutputError:
        raise
    except OSError as err:
        raise OutputError(f"{flag}: cannot write {str(p)!r}: {_reason(err)}; "
                          "nothing was written") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _mode_for(path: Path) -> int:
    """Permissions of the new file: those of the file it replaces, else 0o666 & ~umask."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def check_finite(ds: xr.Dataset, *, allow_nan: Collection[str] = ()) -> None:
    """Refuse a Dataset whose numeric variables or coordinates hold NaN or infinity.

    ``allow_nan`` names variables where NaN means "not available" (infinity is
    still refused there).

    Raises:
        NonFiniteError: naming the first offending variable and where.
    """
    for name, var in {**ds.coords, **ds.data_vars}.items():
        values = np.asarray(var.values)
        if values.dtype.kind not in "fc" or values.size == 0:
            continue
        bad = np.isinf(values) if name in allow_nan else ~np.isfinite(values)
        if not np.any(bad):
            continue
        first = np.unravel_index(int(np.argmax(bad)), values.shape)
        where = ", ".join(f"{d}={_label(ds, str(d), int(i))}"
                          for d, i in zip(var.dims, first, strict=True))
        count = int(np.count_nonzero(bad))
        raise NonFiniteError(f"result variable {str(name)!r} is not finite "
                             f"({count} NaN/inf values, first at {where or 'its only value'})"
                             ": the input overflows; nothing was written")


def _label(ds: xr.Dataset, dim: str, i: int) -> str:
    if dim in ds.coords:
        value = ds.coords[dim].values[i]
        return f"{value:g}" if isinstance(value, float | np.floating) else str(value)
    return str(i)


#: One output of a command: (path, flag naming it, writer of a temporary path).
Output = tuple[str | Path, str, Callable[[Path], Any]]


def write_all(outputs: Sequence[Output]) -> None:
    """Write every output to a temporary file first; rename them into place only once
    all were written. A failure in any write leaves every destination unchanged."""
    with contextlib.ExitStack() as stack:
        for path, flag, write in outputs:
            tmp = stack.enter_context(atomic_write(path, flag=flag))
            try:
                write(tmp)
            except OSError:
                raise
            except (RuntimeError, ValueError, TypeError) as err:  # a library's own error
                raise OutputError(f"{flag}: cannot write {str(path)!r}: "
                                  f"{type(err).__name__}: {err}; nothing was written") from None


def netcdf_writer(ds: xr.Dataset, *, allow_nan: Collection[str] = ()) -> Callable[[Path], Any]:
    """A writer for :func:`write_all` of ``ds`` as NetCDF; checks :func:`check_finite` now."""
    check_finite(ds, allow_nan=allow_nan)
    return lambda tmp: ds.to_netcdf(tmp, engine="scipy")


def figure_writer(fig: Figure, path: str | Path, *, dpi: int = 120) -> Callable[[Path], Any]:
    """A writer for :func:`write_all` of a Matplotlib figure in the format of ``path``."""
    fmt = Path(path).suffix.lower().removeprefix(".") or "png"
    return lambda tmp: fig.savefig(tmp, format=fmt, dpi=dpi)


def write_netcdf(ds: xr.Dataset, path: str | Path, *, flag: str = "--out",
                 allow_nan: Collection[str] = ()) -> None:
    """Write ``ds`` as NetCDF (scipy engine) atomically, after :func:`check_finite`."""
    write_all([(path, flag, netcdf_writer(ds, allow_nan=allow_nan))])


def save_figure(fig: Figure, path: str | Path, *, flag: str = "--plot", dpi: int = 120) -> None:
    """Save a Matplotlib figure atomically, in the format of ``path``'s extension."""
    write_all([(path, flag, figure_writer(fig, path, dpi=dpi))])


def write_text(text: str, path: str | Path, *, flag: str = "--out") -> None:
    """Write text (JSON, TOML, ...) atomically as UTF-8."""
    write_all([(path, flag, lambda tmp: tmp.write_text(text, encoding="utf-8"))])
