"""A small cache of what was made for the last few objects, found by their identity.

A value made from a large array or graph (a map's road layer, a graph's components) is kept
with the object itself: holding the object keeps its identity from passing to a new object
once the old one is freed, which ``id()`` keys alone do not.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class Held(Generic[T]):
    """The values made for the last ``size`` (object, key) pairs, the latest last."""

    def __init__(self, size: int = 1) -> None:
        self._size = max(1, size)
        self._items: list[tuple[object, Hashable, T]] = []

    def get(self, obj: object, key: Hashable, make: Callable[[], T]) -> T:
        """The value made for ``obj`` (the very object) and ``key``, made now if it is not
        held."""
        for i, (seen, k, value) in enumerate(self._items):
            if seen is obj and k == key:
                self._items.append(self._items.pop(i))
                return value
        value = make()
        self._items = [*self._items[max(0, len(self._items) - self._size + 1):],
                       (obj, key, value)]
        return value

    def clear(self) -> None:
        """Let go of every value held (and of the objects they were made for)."""
        self._items = []
