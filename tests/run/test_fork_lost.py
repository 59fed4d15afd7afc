"""A worker process that ends without its result: the run says why, in words a planner can act
on (most often the system stopped it for want of memory)."""

from __future__ import annotations

import os
import signal
import sys

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
