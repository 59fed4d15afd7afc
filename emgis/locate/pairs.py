"""What every location model works on: candidate x village minutes as sparse pairs, the
solution a model returns, and the cover a set of sites gives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from emgis._types import FloatArray, IntArray

#: Largest number of candidate-village pairs ``method="auto"`` gives the exact MILP.
AUTO_MILP_PAIRS = 200_000


@dataclass(frozen=True)
class Pairs:
    """Candidate x village minutes as sparse pairs: ``inf`` for every pair not listed.

    Attributes
    ----------
    shape
        (candidates, villages).
    row, col, t
        Candidate, village and minutes of each listed pair, sorted by candidate then village.
    """

    shape: tuple[int, int]
    row: IntArray
    col: IntArray
    t: FloatArray

    @classmethod
    def of(cls, times: FloatArray | Pairs) -> Pairs:
        """Pairs of a dense matrix (its finite entries), or the pairs themselves."""
        if isinstance(times, Pairs):
            return times
        a = np.asarray(times, dtype=float)
        r, c = np.nonzero(np.isfinite(a))
        return cls((a.shape[0], a.shape[1]), r.astype(np.int64), c.astype(np.int64),
                   a[r, c].astype(float))

    def select(self, keep: npt.NDArray[np.bool_]) -> Pairs:
        """Only the pairs where ``keep`` is True."""
        return Pairs(self.shape, self.row[keep], self.col[keep], self.t[keep])

    def dense(self) -> FloatArray:
        """The full matrix (``inf`` where no pair); for small instances."""
        out = np.full(self.shape, np.inf)
        out[self.row, self.col] = self.t
        return out

    def matrix(self, mask: npt.NDArray[np.bool_] | None = None) -> sp.csr_matrix:
        """A 0/1 CSR matrix of the pairs (where ``mask``)."""
        r, c = (self.row, self.col) if mask is None else (self.row[mask], self.col[mask])
        return sp.csr_matrix((np.ones(len(r)), (r, c)), shape=self.shape)

    @property
    def n_candidates(self) -> int:
        """Number of candidates."""
        return self.shape[0]


@dataclass(frozen=True)
class Solution:
    """A siting solution.

    Attributes
    ----------
    sites
        Positions of the chosen candidates, in the order they add most (marginal gain).
    objective
        The model's objective (persons covered, sites, person-minutes or minutes).
    gains
        For each chosen site, in order, the persons it newly covers (covering models) or the
        person-minutes the sites up to it save together (p-median).
    model, method, status
        Which model; ``"milp"`` or ``"heuristic"``; the solver's status (``"optimal"``...).
    bound
        The proven bound the objective is measured against, where one is computed: the
        LP relaxation (max covering heuristic), HiGHS's dual bound (a MILP stopped by its
        time limit), a Lagrangian bound (p-median heuristic); ``None`` for MILPs solved to
        optimality.
    seconds
        Solve time.
    """

    sites: tuple[int, ...]
    objective: float
    gains: tuple[float, ...]
    model: str
    method: str
    status: str
    bound: float | None
    seconds: float

    @property
    def gap(self) -> float | None:
        """Relative gap to the bound (0 = proven optimal), where there is a bound."""
        if self.bound is None or self.bound == 0:
            return None
        return abs(self.bound - self.objective) / abs(self.bound)


def _reaches(value: float, bound: float) -> bool:
    """Whether ``value`` equals ``bound`` up to rounding: the bound then proves it optimal."""
    return abs(bound - value) <= 1e-9 * max(1.0, abs(bound))


def _with_best_others(gain: FloatArray, p: int) -> FloatArray:
    """Each candidate's own ``gain`` plus the ``p - 1`` largest of the other candidates':
    the most a plan of ``p`` sites holding it can add, where a plan adds at most the sum of
    its sites' own gains (``p >= 1``, at least ``p`` candidates)."""
    top = np.sort(gain)[::-1][:p]
    # the p - 1 largest of the others: without j's own when j is among the p largest
    others = np.where(gain >= top[-1], top.sum() - gain, top[:-1].sum())
    out: FloatArray = gain + others
    return out


def served_times(times: FloatArray | Pairs, base: FloatArray,
                 sites: list[int] | tuple[int, ...]) -> FloatArray:
    """Each village's time from the nearest of the existing units and the chosen sites."""
    out: FloatArray = np.asarray(base, dtype=float).copy()
    if not len(sites):
        return out
    if not isinstance(times, Pairs):
        dense: FloatArray = np.minimum(out, np.asarray(times, dtype=float)[list(sites)]
                                       .min(axis=0))
        return dense
    sel = np.isin(times.row, np.asarray(list(sites), dtype=np.int64))
    np.minimum.at(out, times.col[sel], times.t[sel])
    return out


def _newly_coverable(times: Pairs, target: float, base: FloatArray) -> sp.csr_matrix:
    """cover[j, i] = 1: candidate j reaches village i within target, and i is not covered
    yet."""
    ok = (times.t <= target + 1e-9) & ~(base <= target + 1e-9)[times.col]
    return times.matrix(ok)


def _row(a: sp.csr_matrix, j: int) -> IntArray:
    """Column indices of row ``j`` of a CSR matrix."""
    out: IntArray = a.indices[a.indptr[j]:a.indptr[j + 1]]
    return out


def _covered_persons(cover: sp.csr_matrix, weights: FloatArray, sites: list[int]) -> float:
    """Persons in the villages that at least one of ``sites`` newly covers."""
    if not sites:
        return 0.0
    hit = np.zeros(cover.shape[1], dtype=bool)
    for j in sites:
        hit[_row(cover, j)] = True
    return float(weights[hit].sum())


def _order_by_gain(cover: sp.csr_matrix, weights: FloatArray,
                   sites: list[int]) -> tuple[tuple[int, ...], tuple[float, ...]]:
    """Sites ordered greedily by the persons each newly covers after the ones before it."""
    left = list(sites)
    covered = np.zeros(cover.shape[1], dtype=bool)
    order: list[int] = []
    gains: list[float] = []
    while left:
        g = [float(weights[_row(cover, j)][~covered[_row(cover, j)]].sum()) for j in left]
        k = int(np.argmax(g))
        j = left.pop(k)
        order.append(j)
        gains.append(g[k])
        covered[_row(cover, j)] = True
    return tuple(order), tuple(gains)


def _auto(method: str, n_pairs: int) -> str:
    return ("milp" if n_pairs <= AUTO_MILP_PAIRS else "heuristic") if method == "auto" \
        else method


def _dominated(a: sp.csr_matrix | npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Candidates whose cover (rows of ``a``) is empty or within another candidate's.

    Of candidates with the same cover the first is kept. Swapping a dominated candidate for
    its dominator never lowers a covering objective, so the kept ones hold an optimum.
    """
    m = sp.csr_matrix(a, dtype=np.float64)
    size = np.asarray(m.sum(axis=1)).ravel()
    ov = (m @ m.T).tocoo()
    r, k, n = ov.row, ov.col, ov.data
    within = (n == size[r]) & (r != k) & ((size[k] > size[r]) | ((size[k] == size[r]) & (k < r)))
    out: npt.NDArray[np.bool_] = size == 0
    out[r[within]] = True
    return out
