"""Compiled lookup in a sorted array, for the kernels that find an arc among sorted ones
(:mod:`emgis.roads._repair`: a slowed arc among a scenario's; :mod:`emgis.roads._cch`: an
upper node in a contracted node's list)."""

from __future__ import annotations

from numba import njit


@njit(cache=True, nogil=True, inline="always")
def lower_bound(a, lo, hi, x):  # type: ignore[no-untyped-def]
    """The first place in the sorted ``a[lo:hi]`` whose value is not below ``x`` (``hi`` if
    none is)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if a[mid] < x:
            lo = mid + 1
        else:
            hi = mid
    return lo
