"""The garbage collector around forked workers: objects frozen while a command or run holds
them (:func:`frozen_heap`)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

_HOLDING = 0  # how many frozen_heap() blocks are open


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the objects frozen at each fork out of this process's garbage collections until
    the block ends (a run, a command).

    :class:`emgis.run._fork.Forked` freezes the objects alive at a fork (:func:`gc.freeze`):
    the child's collections never walk the heap it inherits. Inside this block the parent's
    stay frozen too, so its collections walk only what it made since the last fork. A county
    run's parent spent 0.85 s in collections before, 0.30 s after; its workers 0.86 s, 0.15 s.
    A frozen object still goes when its last reference does; a cycle of them only once
    thawed, when the block ends (outside a block each fork thaws the parent at once).
    """
    global _HOLDING
    _HOLDING += 1
    try:
        yield
    finally:
        _HOLDING -= 1
        if not _HOLDING:
            gc.unfreeze()


def holding() -> bool:
    """Whether a :func:`frozen_heap` block is open."""
    return _HOLDING > 0


def freeze() -> None:
    """Freeze the objects alive now (long-lived: modules, a loaded district) inside a
    :func:`frozen_heap` block, which thaws them at its end; outside one, do nothing."""
    if _HOLDING:
        gc.freeze()


def give_back() -> None:
    """Give the C heap's free pages back to the system (glibc's ``malloc_trim``; nothing
    elsewhere).

    Arrays freed after the allocator has raised its threshold for mapping each large block
    on its own (it does so after the first are freed) stay in the heap, counted in the
    process's resident set and in that of every worker it forks next. Called after a run has
    let go of something large (the scenarios' routing graphs) and before its last workers
    fork.
    """
    import ctypes
    import sys

    if not sys.platform.startswith("linux"):
        return
    try:
        libc = ctypes.CDLL(None)
        trim = libc.malloc_trim
    except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
        return
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    trim(0)
