"""The array types emgis passes between stages (one place for the aliases)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: Minutes, metres, persons: any float array.
FloatArray = npt.NDArray[np.float64]
#: Node, edge, candidate and village indices.
IntArray = npt.NDArray[np.int64]
#: Indices held in 32 bits where fewer than 2**31 are possible and memory counts: a routing
#: graph's row starts and arc heads (what a search walks through; the graph builder and the
#: search kernels check), a network's edge places.
Int32Array = npt.NDArray[np.int32]
#: Masks.
BoolArray = npt.NDArray[np.bool_]
#: Texts and other objects, one per row.
ObjectArray = npt.NDArray[np.object_]
