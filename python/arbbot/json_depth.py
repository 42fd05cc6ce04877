"""A bound on JSON nesting that does not depend on the host process.

The recursive decoders arbbot reads JSON with (json's C scanner, msgspec) stop at the interpreter's
recursion limit. A host process may raise that limit (pytest-xdist's workers do); then a text deep
enough runs the C decoder off its stack and kills the process. `bounded_nesting()` lowers the limit
for the call to about `levels` levels below the caller, and gives it back afterwards.
"""
from __future__ import annotations

import contextlib
import sys
from typing import Iterator

MAX_JSON_DEPTH = 500      # levels of nesting arbbot reads (a snapshot nests 6, a control request 2)


def _frames() -> int:
    """Python frames on this thread's stack (the recursion limit counts them too)."""
    n, frame = 0, sys._getframe()
    while frame is not None:
        n, frame = n + 1, frame.f_back
    return n


@contextlib.contextmanager
def bounded_nesting(levels: int = MAX_JSON_DEPTH) -> Iterator[None]:
    """Inside: a decoder raises RecursionError past about `levels` levels of nesting (never a
    higher limit than the process had)."""
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(min(limit, _frames() + levels))
    try:
        yield
    finally:
        sys.setrecursionlimit(limit)
