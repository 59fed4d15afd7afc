"""Fixtures of the run's tests."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture(params=["1", "2"])
def run_workers(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """A run in one process (``EMGIS_WORKERS=1``) and with forked workers (``2``; POSIX)."""
    workers = str(request.param)
    if workers == "2" and sys.platform == "win32":
        pytest.skip("fork is POSIX only")
    monkeypatch.setenv("EMGIS_WORKERS", workers)
    return workers
