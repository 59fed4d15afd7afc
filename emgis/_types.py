"""The array types emgis passes between stages (one place for the aliases)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Minutes, metres, persons: any float array.
FloatArray = npt.NDArray[np.float64]
#: Node, edge, candidate and village indices.
IntArray = npt.NDArray[np.int64]
#: The head node of each arc of a routing graph: 32 bits, half the memory a search walks
#: through (graphs of fewer than 2**31 nodes; the search kernels check).
Int32Array = npt.NDArray[np.int32]
#: Masks.
BoolArray = npt.NDArray[np.bool_]
#: Texts and other objects, one per row.
ObjectArray = npt.NDArray[np.object_]
