"""The compiled kernels (:mod:`.kernels`), loaded on first use.

numba takes ~0.1 s to import and compiles (or loads from its cache) the kernels on
first call, so the command line's quick paths never pay for it. Should numba be
missing or unable to load (an environment without a usable cache directory, say), the
engines fall back to their NumPy/SciPy paths with one warning instead of failing.
"""

from __future__ import annotations

import functools
import importlib
import warnings
from typing import Any


@functools.cache
def kernels() -> Any | None:
    """The :mod:`.kernels` module, or None (with a warning) if it cannot be loaded."""
    try:
        return importlib.import_module(".kernels", __package__)
    except Exception as error:  # any failure to load numba's kernels: keep solving
        warnings.warn(f"qbattery's compiled kernels are unavailable ({error}); using the "
                      "slower NumPy/SciPy paths", RuntimeWarning, stacklevel=2)
        return None
