"""A cached property without :class:`functools.cached_property`'s lock (Python 3.11).

Python 3.11's cached property takes one lock per *class attribute*: two threads asking two
networks for their ``geometry`` wait for each other, and a road network's lines and index
(seconds on a province) could not be made for the roads and the walking network at once.
Python 3.12 dropped the lock; this is its behaviour: the value is made on first use and kept
in the instance's ``__dict__``; two threads asking the same instance at once may both make it
(the same value), one is kept.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any, TypeVar, overload

T = TypeVar("T")


class unlocked_cached_property(cached_property[T]):  # noqa: N801 (a decorator, as its parent)
    """:class:`functools.cached_property` with no lock (see the module)."""

    @overload
    def __get__(self, instance: None, owner: type[Any] | None = None
                ) -> unlocked_cached_property[T]: ...

    @overload
    def __get__(self, instance: object, owner: type[Any] | None = None) -> T: ...

    def __get__(self, instance: object | None, owner: type[Any] | None = None
                ) -> T | unlocked_cached_property[T]:
        if instance is None:
            return self
        cache = instance.__dict__
        name = self.attrname
        if name is None:
            raise TypeError("unlocked_cached_property used without __set_name__")
        try:
            value: T = cache[name]
        except KeyError:
            value = self.func(instance)
            cache[name] = value
        return value
