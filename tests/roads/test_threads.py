"""The per-process search pool (emgis.roads._threads): results in order, errors after every
call has ended, a pool of its own after a fork and from another thread."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from emgis.roads import _threads


@pytest.fixture(autouse=True)
def _no_pool_left() -> Iterator[None]:
    """Each test starts and ends without the process's pool."""
    _threads.release()
    yield
    _threads.release()


def test_results_in_order_on_the_shared_pool() -> None:
    n = _threads.cores()
    got = _threads.on_threads(lambda x: x * x, list(range(50)), n)
    assert got == [x * x for x in range(50)]
    if n > 1:  # the same pool serves the next call
        pool = _threads._shared(n)
        _threads.on_threads(lambda x: x, [1, 2, 3], n)
        assert _threads._shared(n) is pool


@pytest.mark.parametrize("shared", [True, False])
def test_first_error_raised_after_every_call_ended(shared: bool,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_threads, "cores", lambda: 4 if shared else 3)
    ended: list[int] = []

    def fn(x: int) -> int:
        if x == 0:
            raise ValueError("first")
        time.sleep(0.01)
        ended.append(x)
        return x

    with pytest.raises(ValueError, match="first"):
        _threads.on_threads(fn, [0, 1, 2, 3], 4)
    assert sorted(ended) == [1, 2, 3]  # none still running when the error is raised


def test_other_thread_gets_its_own_pool() -> None:
    n = max(2, _threads.cores())
    out: list[list[str]] = []

    def worker() -> None:
        out.append(_threads.on_threads(lambda _: threading.current_thread().name,
                                       [0, 1, 2], n))

    t = threading.Thread(target=worker)
    t.start()
    t.join()
    assert len(out[0]) == 3
    assert not any(name.startswith("emgis-search") for name in out[0])


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_forked_child_makes_its_own_pool() -> None:
    n = 2
    parent_pool = _threads._shared(n)
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: the parent's threads are gone, the pool is made again
        ok = 0
        try:
            pool = _threads._shared(n)
            ok = int(pool is not parent_pool and _threads._POOL is not None
                     and _threads._POOL[0] == os.getpid()
                     and sum(pool.map(lambda x: x, [1, 2, 3])) == 6
                     and pool is _threads._shared(n))
        finally:
            os.write(w, bytes([ok]))
            os._exit(0)
    os.close(w)
    got = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    assert got == b"\x01"


def test_release_joins_the_pool_and_a_later_call_makes_another() -> None:
    n = 2
    pool = _threads._shared(n)
    list(pool.map(lambda x: x, [1, 2]))  # its threads started
    threads = set(pool._threads)
    assert threads
    _threads.release()
    assert _threads._POOL is None
    assert not any(t.is_alive() for t in threads)  # joined, none left across a fork
    assert _threads._shared(n) is not pool


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX")
def test_a_run_forks_with_no_pool_thread_alive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker forks after the searches' pool was shut down: only the forking thread runs."""
    from emgis.run import _fork

    monkeypatch.setenv("EMGIS_WORKERS", "2")
    monkeypatch.setattr(_threads, "cores", lambda: 2)
    assert _threads.on_threads(lambda x: x + 1, [1, 2, 3], 2) == [2, 3, 4]
    assert any(t.name.startswith("emgis-search") for t in threading.enumerate())
    seen: list[list[str]] = []
    real_fork = os.fork

    def fork() -> int:
        seen.append([t.name for t in threading.enumerate() if t.is_alive()])
        return real_fork()

    monkeypatch.setattr(os, "fork", fork)
    job = _fork.Forked(None, sum, [1, 2, 3])
    assert job.result() == 6
    assert seen and not any(name.startswith("emgis-search") for name in seen[0])
    # and the next search makes the pool again
    assert _threads.on_threads(lambda x: x * 2, [1, 2], 2) == [2, 4]
