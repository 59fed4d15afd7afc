"""Fixtures of the workbench's tests: a data folder with users, the app under Starlette's
TestClient (its worker processes real, spawned), logging in, uploading the demo ledgers.

The web tests run real runs of the demo (coverage-only where a full run is not needed), so
each module shares one project where it can.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
LEDGERS = REPO / "data" / "demo-ledgers"
BASE = "http://127.0.0.1:8000"
PASSWORD = "correct horse battery"


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Starlette's TestClient warns that it prefers another HTTP package; not emgis's."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings(
                "ignore:Using `httpx` with `starlette.testclient`"))
            item.add_marker(pytest.mark.filterwarnings("ignore::ResourceWarning"))


def ledger_files() -> list[tuple[str, tuple[str, bytes]]]:
    """The demo ledgers as an upload (every file but the README)."""
    return [("files", (p.name, p.read_bytes())) for p in sorted(LEDGERS.iterdir())
            if p.suffix != ".md"]


def token(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, "no CSRF token on the page"
    return m.group(1)


def make_data(tmp: Path, users: bool = True) -> Path:
    from emgis.web.store import FILE, Store

    data = tmp / "data"
    data.mkdir(exist_ok=True)
    if users:
        store = Store(data / FILE)
        store.add_user("alice", PASSWORD)
        store.add_user("bob", PASSWORD)
        store.add_user("admin", PASSWORD, admin=True)
        store.close()
    return data


def client(data: Path, **cfg: Any) -> Any:
    from starlette.testclient import TestClient

    from emgis.web.app import Config, create_app

    return TestClient(create_app(Config(data=data, lang=cfg.pop("lang", "zh"), **cfg)),
                      base_url=BASE)


def login(c: Any, name: str) -> str:
    """Log in as ``name``; returns the session's CSRF token."""
    c.cookies.clear()
    r = c.get("/login")
    r = c.post("/login", data={"csrf": token(r.text), "name": name, "password": PASSWORD},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return token(c.get("/").text)


def new_project(c: Any, csrf: str, title: str = "演示县") -> str:
    """Upload the demo ledgers as a project; returns its address /p/SLUG."""
    r = c.post("/projects", data={"csrf": csrf, "title": title}, files=ledger_files(),
               follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


def wait_run(c: Any, run: str, timeout: float = 240) -> dict[str, Any]:
    """Wait for a run to end; returns its last status."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        s: dict[str, Any] = c.get(run + "/status").json()
        if s["finished"]:
            return s
        time.sleep(0.5)
    raise AssertionError(f"run {run} did not end in {timeout} s")


def start_run(c: Any, project: str, csrf: str, **form: Any) -> str:
    r = c.post(project + "/runs", data={"csrf": csrf, **form}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return str(r.headers["location"])


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One app, users and one project of the demo ledgers (made by alice), for a module."""
    tmp = tmp_path_factory.mktemp("web")
    data = make_data(tmp)
    with client(data) as c:
        csrf = login(c, "alice")
        project = new_project(c, csrf)
        yield {"client": c, "data": data, "csrf": csrf, "project": project}
    shutil.rmtree(tmp, ignore_errors=True)
