"""A worker process that ends without its result: the run says why, in words a planner can act
on (most often the system stopped it for want of memory)."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import pytest

from emgis._errors import EmgisError, WorkerError
from emgis.run._fork import Forked, can_fork
from emgis.texts import say, texts
from tests.conftest import english_words

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX only")


def _killed() -> int:
    os.kill(os.getpid(), signal.SIGKILL)  # as the out-of-memory killer does
    return 0


def _ended() -> int:
    os._exit(3)


def test_a_worker_killed_by_the_system_is_named_with_what_to_do(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMGIS_WORKERS", "2")
    assert can_fork()
    with pytest.raises(WorkerError) as info:
        Forked(None, _killed).result()
    assert isinstance(info.value, EmgisError) and isinstance(info.value, RuntimeError)
    en = say(info.value, "en")
    assert "signal 9 SIGKILL" in en and "memory" in en and "EMGIS_WORKERS=1" in en
    zh = say(info.value, texts("zh"))
    assert "信号 9 SIGKILL" in zh and "内存" in zh and "EMGIS_WORKERS=1" in zh
    assert not english_words(zh, {"SIGKILL"})


def test_a_worker_ending_with_a_status_says_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EMGIS_WORKERS", "2")
    with pytest.raises(WorkerError) as info:
        Forked(None, _ended).result()
    assert "exit status 3" in say(info.value, "en")
    assert "退出状态 3" in say(info.value, texts("zh"))


def _frozen() -> int:
    import gc

    return gc.get_freeze_count()


def test_a_worker_never_walks_the_heap_it_inherits(monkeypatch: pytest.MonkeyPatch) -> None:
    """The objects alive at a fork are frozen in the child (its garbage collections skip
    them); in the parent only inside :func:`frozen_heap`, which thaws them all when it ends."""
    import gc

    from emgis._gc import frozen_heap

    monkeypatch.setenv("EMGIS_WORKERS", "2")
    held = [[i] for i in range(1000)]  # tracked objects alive at the fork
    assert gc.get_freeze_count() == 0
    assert Forked(None, _frozen).result() >= len(held)
    assert gc.get_freeze_count() == 0  # outside a block the parent is thawed at once
    with frozen_heap():
        with frozen_heap():  # nested: the outer block's end thaws
            assert Forked(None, _frozen).result() >= len(held)
        assert gc.get_freeze_count() >= len(held)
    assert gc.get_freeze_count() == 0


def test_a_run_thaws_what_its_workers_froze(tiny: Path, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """After a run, done or failed, no object stays out of the garbage collections."""
    import gc

    from emgis.run import jobs
    from tests.conftest import open_plan

    monkeypatch.setenv("EMGIS_WORKERS", "2")
    assert gc.get_freeze_count() == 0
    plan = open_plan(tiny)
    res = jobs.run_all(plan, tmp_path / "out", sites=(("micro_fire_station", 1,
                                                        "max_covering"),), time_limit=30)
    assert res.manifest.exists() and gc.get_freeze_count() == 0

    def broken(*_: object, **__: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(jobs, "report_job", broken)
    with pytest.raises(OSError, match="disk full"):
        jobs.run_all(plan, tmp_path / "out2", sites=(), time_limit=30)
    assert gc.get_freeze_count() == 0


def test_the_command_line_leaves_nothing_frozen(tiny: Path, tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``emgis run`` freezes the modules and the run's heap while it works (emgis._gc); the
    process calling :func:`emgis.cli.main` gets them all back."""
    import gc

    from emgis import _gc, cli

    monkeypatch.setenv("EMGIS_WORKERS", "2")
    froze: list[int] = []
    real = gc.freeze

    def counted() -> None:
        real()
        froze.append(gc.get_freeze_count())

    monkeypatch.setattr(gc, "freeze", counted)
    assert cli.main(["-q", "run", str(tiny), "--out", str(tmp_path / "out")]) == 0
    assert len(froze) >= 3 and gc.get_freeze_count() == 0
    _gc.freeze()  # outside a command: nothing
    assert gc.get_freeze_count() == 0
