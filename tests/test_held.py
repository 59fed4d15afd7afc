"""emgis._held.Held: values found by the very object they were made for, the last few kept."""

from __future__ import annotations

import functools

import numpy as np
import pytest

from emgis._held import Held


def test_found_by_identity_not_equality_and_the_last_two_kept() -> None:
    held: Held[int] = Held(2)
    made: list[str] = []

    def make(name: str, value: int) -> int:
        made.append(name)
        return value

    a, b, c = np.zeros(3), np.zeros(3), np.zeros(3)  # equal arrays, three objects
    assert held.get(a, "k", lambda: make("a", 1)) == 1
    assert held.get(a, "k", lambda: make("a again", 9)) == 1  # held: not made again
    assert held.get(b, "k", lambda: make("b", 2)) == 2  # an equal array is another object
    assert held.get(a, "other", lambda: make("a other", 3)) == 3  # another key: made
    # a (with "k") was the oldest of three: no longer held; b and (a, "other") are
    assert held.get(b, "k", lambda: make("b again", 9)) == 2
    assert held.get(a, "k", lambda: make("a third", 4)) == 4
    assert held.get(c, "k", lambda: make("c", 5)) == 5
    assert made == ["a", "b", "a other", "a third", "c"]


def test_one_held() -> None:
    held: Held[str] = Held()
    x, y = object(), object()
    assert held.get(x, 0, lambda: "x") == "x"
    assert held.get(y, 0, lambda: "y") == "y"
    assert held.get(x, 0, lambda: "x anew") == "x anew"


@pytest.mark.parametrize("size", [1, 2, 3, 5, 8])
def test_the_last_size_are_kept_and_only_they(size: int) -> None:
    """Every one of the last ``size`` objects is found again (a cache of 8 holding 5 once
    kept only 2 of them: a negative start of the slice), and no older one."""
    held: Held[int] = Held(size)
    objs = [object() for _ in range(size + 3)]
    made: list[int] = []
    def make(i: int) -> int:
        made.append(i)
        return i

    for i, o in enumerate(objs):
        held.get(o, "k", functools.partial(make, i))
        kept = objs[max(0, i + 1 - size):i + 1]
        for j, k in enumerate(kept, start=max(0, i + 1 - size)):
            assert held.get(k, "k", lambda: -1) == j  # found, not made again
    assert made == list(range(size + 3))
    assert held.get(objs[0], "k", lambda: -1) == -1  # the oldest is gone
