"""BLAS thread control.

Small dense products are much slower with multi-threaded OpenBLAS on a loaded
machine (a 70x slow-down was measured on the 2-core CI machine), so solvers run
their small-matrix work under a single BLAS thread. Large problems keep the
library's default. The thread-pool controller is built once (inspecting the
loaded libraries costs milliseconds).
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator

from threadpoolctl import ThreadpoolController

#: Dense linear algebra below this dimension runs single-threaded.
SMALL_DIMENSION = 400


@functools.cache
def _controller() -> ThreadpoolController:
    return ThreadpoolController()


@contextlib.contextmanager
def blas_threads_for(dimension: int) -> Iterator[None]:
    """Run the body with one BLAS thread if ``dimension`` is small."""
    if dimension >= SMALL_DIMENSION:
        yield
        return
    with _controller().limit(limits=1, user_api="blas"):
        yield
