"""emgis._held.Held: values found by the very object they were made for, the last few kept."""

from __future__ import annotations

import numpy as np

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
