"""Array idioms the stages share."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from emgis._types import IntArray


def ranges(starts: npt.ArrayLike, counts: npt.ArrayLike) -> IntArray:
    """``starts[i], starts[i] + 1, ..., starts[i] + counts[i] - 1`` for each ``i``, one run
    after the other (the vertices of some edges from their offsets, the pieces of some
    lines): ``np.concatenate([np.arange(s, s + c) for s, c in zip(starts, counts)])``
    without the loop."""
    c = np.asarray(counts, dtype=np.int64)
    first = np.cumsum(c) - c  # where each run begins in the result
    out: IntArray = np.repeat(np.asarray(starts, dtype=np.int64), c) + (
        np.arange(int(c.sum()), dtype=np.int64) - np.repeat(first, c))
    return out
