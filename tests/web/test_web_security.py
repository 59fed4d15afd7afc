"""The workbench's refusals: no session, another user's project, a missing CSRF token, an
upload too large or too many files, zips climbing out or exploding, hostile file names,
template and script text in every field the app shows, the headers of every page, the
command's refusal to open an unprotected address."""

from __future__ import annotations

import io
import json
import os
import re
import stat
import subprocess
import sys
import urllib.parse
import zipfile
from pathlib import Path
from typing import Any

import pytest
from conftest import (
    PASSWORD,
    client,
    ledger_files,
    login,
    make_data,
    new_project,
    token,
)

HOSTILE = "{{7*7}}<script>alert(1)</script>"


# --- sessions and permissions ----------------------------------------------------------------

def test_no_session_is_sent_to_login(shared: dict[str, Any]) -> None:
    c, project = shared["client"], shared["project"]
    c.cookies.clear()
    for path in ("/", project, project + "/settings", project + "/hazards"):
        r = c.get(path, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    # an API caller gets 401, and a POST is refused before its body is read
    assert c.get(project + "/context.json", headers={"accept": "application/json"}
                 ).status_code == 401
    r = c.post(project + "/runs", data={"kind": "coverage"}, follow_redirects=False)
    assert r.status_code == 401
    r = c.post("/projects", data={"title": "x"}, files=ledger_files()[:1],
               follow_redirects=False)
    assert r.status_code == 401
    shared["csrf"] = login(c, "alice")


def test_expired_session_is_refused(shared: dict[str, Any]) -> None:
    from emgis.web.store import Store, _token_hash

    c = shared["client"]
    login(c, "alice")
    cookie = c.cookies.get("emgis_session")
    store = Store(shared["data"] / "workbench.sqlite")
    store.expire_session(_token_hash(cookie))
    store.close()
    assert c.get(shared["project"], follow_redirects=False).status_code == 303
    shared["csrf"] = login(c, "alice")


def test_wrong_password_and_lockout(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    with client(data) as c:
        for _ in range(5):
            r = c.get("/login")
            r = c.post("/login", data={"csrf": token(r.text), "name": "bob",
                                       "password": "wrong password"})
            assert r.status_code == 401
        r = c.get("/login")  # locked now, even with the right password
        r = c.post("/login", data={"csrf": token(r.text), "name": "bob",
                                   "password": PASSWORD})
        assert r.status_code == 401


def test_another_users_project_is_not_found(shared: dict[str, Any]) -> None:
    c, project = shared["client"], shared["project"]
    csrf = login(c, "bob")
    assert project not in c.get("/").text
    for path in (project, project + "/settings", project + "/hazards",
                 project + "/context.json", project + "/runs/1", project + "/runs/1/status",
                 project + "/runs/1/files/report.html", project + "/compare/1-2"):
        assert c.get(path).status_code == 404, path
    r = c.post(project + "/runs", data={"csrf": csrf, "kind": "coverage"})
    assert r.status_code == 404
    r = c.post(project + "/hazards", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert r.status_code == 404
    # an administrator sees every project
    login(c, "admin")
    assert c.get(project).status_code == 200
    shared["csrf"] = login(c, "alice")


# --- CSRF -------------------------------------------------------------------------------------

def test_post_without_csrf_token_is_refused(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    assert c.post(project + "/runs", data={"kind": "coverage"}).status_code == 403
    assert c.post(project + "/runs", data={"kind": "coverage", "csrf": "forged"}
                  ).status_code == 403
    assert c.post(project + "/settings", data={"targets.fire_station": "8"}).status_code == 403
    assert c.post(project + "/plans", json={"kind": "x", "csv": "id"}).status_code == 403
    assert c.post(project + "/hazards", json={"name": "x"}).status_code == 403
    assert c.post(project + "/compare", data={"old": "1", "new": "2"}).status_code == 403
    assert c.post(project + "/runs/1/cancel").status_code == 403
    assert c.post("/projects", data={"title": "x"}, files=ledger_files()[:1]
                  ).status_code == 403
    # the right token from another origin
    r = c.post(project + "/runs", data={"kind": "coverage", "csrf": csrf},
               headers={"origin": "http://evil.example"})
    assert r.status_code == 403
    # no run was made by any of these
    assert "运行 #" not in c.get(project).text.split('id="history"')[1].split("</section>")[0]
    # the login form itself carries a token
    c2_cookies = dict(c.cookies)
    c.cookies.clear()
    assert c.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 403
    c.cookies.update(c2_cookies)


# --- uploads ----------------------------------------------------------------------------------

def test_upload_too_large_or_too_many(tmp_path: Path) -> None:
    from emgis.web.security import Limits

    data = make_data(tmp_path)
    with client(data, limits=Limits(request_bytes=300_000, files=3)) as c:
        csrf = login(c, "alice")
        big = ("files", ("村庄台账.csv", b"x" * 400_000))
        r = c.post("/projects", data={"csrf": csrf, "title": "big"}, files=[big])
        assert r.status_code == 413
        small = [("files", (f"f{i}.csv", b"id\n1\n")) for i in range(5)]
        r = c.post("/projects", data={"csrf": csrf, "title": "many"}, files=small)
        assert r.status_code in (400, 413)
        # nothing was left behind
        assert [p.name for p in data.iterdir() if not p.name.startswith(".")
                and p.is_dir()] == []


def _zip(members: dict[str, bytes], link: str | None = None) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in members.items():
            zf.writestr(name, body)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/passwd")
    return buf.getvalue()


@pytest.mark.parametrize("case", ["dotdot", "absolute", "bomb", "symlink", "not_a_zip"])
def test_hostile_zips_are_refused(tmp_path: Path, case: str) -> None:
    data = make_data(tmp_path)
    body = {
        "dotdot": _zip({"../../evil.csv": b"id\n1\n", "ok.csv": b"id\n1\n"}),
        "absolute": _zip({"/tmp/evil.csv": b"id\n1\n"}),
        "bomb": _zip({"zeros.csv": b"0" * 50_000_000}),
        "symlink": _zip({"ok.csv": b"id\n1\n"}, link="passwd.csv"),
        "not_a_zip": b"PK\x03\x04 broken",
    }[case]
    with client(data) as c:
        csrf = login(c, "alice")
        r = c.post("/projects", data={"csrf": csrf, "title": "zip"},
                   files=[("files", ("layers.zip", body))])
        assert r.status_code == 400, r.text
        assert "已拒绝" in r.text or "不是有效" in r.text
    assert not (tmp_path / "evil.csv").exists() and not (data / "evil.csv").exists()
    assert not Path("/tmp/evil.csv").exists() or case != "absolute"
    assert [p for p in data.iterdir() if p.is_dir() and not p.name.startswith(".")] == []


def test_zip_bomb_bounds_unit() -> None:
    """The bytes that come out are counted, whatever the zip's header says."""
    import tempfile

    from emgis.web.security import Limits, UploadError, extract_zip

    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "b.zip"
        path.write_bytes(_zip({"a.csv": b"1" * 2_000_000}))
        out = Path(d) / "out"
        out.mkdir()
        with pytest.raises(UploadError) as err:
            extract_zip(path, out, Limits(zip_bytes=1_000_000, zip_ratio=10_000))
        assert err.value.key == "zip_too_big"
        with pytest.raises(UploadError) as err:
            extract_zip(path, out, Limits(zip_ratio=50))
        assert err.value.key == "zip_bomb"
        assert list(out.iterdir()) == []


def test_hostile_file_names_are_made_safe(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    data: Path = shared["data"]
    folder = data / urllib.parse.unquote(project.rsplit("/", 1)[1])
    files = [("files", ("../../escape.csv", b"id\n1\n")),
             ("files", ("..\\..\\win.csv", b"id\n1\n")),
             ("files", ("<script>x<|script>.csv", b"id\n1\n")),
             ("files", ("CON.csv", b"id\n1\n")),
             ("files", (".hidden.csv", b"id\n1\n"))]
    r = c.post(project + "/files", data={"csrf": csrf}, files=files, follow_redirects=False)
    assert r.status_code == 303
    names = {p.name for p in folder.iterdir()}
    assert {"escape.csv", "win.csv", "script_x_script.csv", "_CON.csv", "hidden.csv"} <= names
    assert not (data / "escape.csv").exists() and not (data.parent / "escape.csv").exists()
    # a name that is no format of a district, or the settings file itself
    for bad in ("run.sh", "district.toml", "x.html"):
        r = c.post(project + "/files", data={"csrf": csrf},
                   files=[("files", (bad, b"x"))])
        assert r.status_code == 400, bad
    for n in ("escape.csv", "win.csv", "script_x_script.csv", "_CON.csv", "hidden.csv"):
        (folder / n).unlink()


# --- input text is data -----------------------------------------------------------------------

def _visible(html: str) -> str:
    return html


def test_template_and_script_text_stay_text(tmp_path: Path) -> None:
    from emgis.web.store import Store

    data = make_data(tmp_path)
    store = Store(data / "workbench.sqlite")
    store.add_user(HOSTILE, PASSWORD)
    store.close()
    with client(data) as c:
        c.get("/login")
        r = c.post("/login", data={"csrf": token(c.get("/login").text), "name": HOSTILE,
                                   "password": PASSWORD}, follow_redirects=False)
        assert r.status_code == 303
        csrf = token(c.get("/").text)
        project = new_project(c, csrf, title=HOSTILE)
        # the district's name through the form, a hazard's name, a scenario through init
        form = {"csrf": csrf, "district.name": HOSTILE, "siting.candidates": "all",
                "siting.sources": ["villages", "shelters", "stockpiles", "teams", "listed"]}
        r = c.post(project + "/settings", data=form)
        assert r.status_code == 200, r.text
        ring = [[1.52, 42.50], [1.54, 42.50], [1.54, 42.52], [1.52, 42.50]]
        r = c.post(project + "/hazards", json={"name": HOSTILE, "kind": "flood",
                                               "effect": "closed",
                                               "geometry": {"type": "Polygon",
                                                            "coordinates": [ring]}},
                   headers={"X-CSRF-Token": csrf})
        assert r.status_code == 200, r.text
        # a settings value that is text where a number belongs: shown back, escaped
        r = c.post(project + "/settings", data={**form, "targets.fire_station": HOSTILE})
        assert r.status_code == 400
        pages = {"home": c.get("/").text, "project": c.get(project).text,
                 "settings": r.text, "hazards": c.get(project + "/hazards").text}
        for name, html in pages.items():
            assert "<script>alert(1)</script>" not in html, name
            assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, name
            assert "{{7*7}}" in html, name  # shown as typed, never evaluated
        assert re.search(r"\{\{7\*7\}\}&lt;script&gt;", pages["project"])
        ctx = c.get(project + "/context.json").json()
        assert HOSTILE in [f["properties"]["name"] for f in ctx["hazards"]["features"]]


# --- headers ----------------------------------------------------------------------------------

def test_every_page_has_a_content_security_policy(shared: dict[str, Any]) -> None:
    c, project = shared["client"], shared["project"]
    for path in ("/", "/login", project, project + "/settings", project + "/hazards",
                 "/static/workbench.js", "/nowhere"):
        r = c.get(path)
        policy = r.headers["content-security-policy"]
        csp = re.search(r"script-src ([^;]+)", policy)
        assert csp is not None
        script = csp.group(1)
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script, path
        assert "frame-ancestors 'self'" in policy and "object-src 'none'" in policy
        assert r.headers["x-content-type-options"] == "nosniff"
    # no inline script on the workbench's own pages: data only as JSON blocks
    for path in ("/", project, project + "/settings", project + "/hazards"):
        html = c.get(path).text
        for m in re.finditer(r"<script([^>]*)>(.*?)</script>", html, re.S):
            attrs, _body = m.groups()
            assert "src=" in attrs or 'type="application/json"' in attrs, (path, attrs)
    assert "static" in c.get("/static/leaflet.js").headers["content-type"] or \
        c.get("/static/leaflet.js").status_code == 200
    assert c.get("/static/../app.py").status_code == 404


def test_session_cookie_flags(tmp_path: Path) -> None:
    data = make_data(tmp_path)
    with client(data) as c:
        r = c.get("/login")
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie


# --- the command ------------------------------------------------------------------------------

def test_serve_refuses_an_open_address_without_users(tmp_path: Path) -> None:
    env = {**os.environ, "EMGIS_PASSWORD": PASSWORD}
    data = tmp_path / "d"
    cmd = [sys.executable, "-m", "emgis.cli", "serve", "--data", str(data), "--host",
           "0.0.0.0", "--port", "8799", "--lang", "zh"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=60, env=env)
    assert r.returncode == 2 and "拒绝" in r.stderr, r.stderr
    r = subprocess.run([sys.executable, "-m", "emgis.cli", "serve", "adduser", "chief",
                        "--admin", "--data", str(data)], capture_output=True, text=True,
                       timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    from emgis.web.store import Store

    store = Store(data / "workbench.sqlite")
    assert [u.name for u in store.users()] == ["chief"] and store.users()[0].is_admin
    assert store.login("chief", PASSWORD) is not None
    row = store._one("SELECT pw_hash FROM users")
    assert row is not None and PASSWORD not in row[0] and row[0].startswith("scrypt$")
    store.close()


def test_import_emgis_stays_light() -> None:
    code = ("import sys, emgis, emgis.cli; "
            "print(any(m.split('.')[0] in ('starlette', 'uvicorn', 'emgis.web') or "
            "m.startswith('emgis.web') for m in sys.modules))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                       timeout=60)
    assert r.stdout.strip() == "False", r.stdout + r.stderr


def test_store_migrations(tmp_path: Path) -> None:
    import sqlite3

    from emgis.web.store import MIGRATIONS, Store, StoreError

    path = tmp_path / "s.sqlite"
    s = Store(path)
    assert s.version == len(MIGRATIONS)
    s.add_user("x", PASSWORD)
    s.close()
    s = Store(path)  # opened again: nothing applied twice, data kept
    assert [u.name for u in s.users()] == ["x"]
    s.close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.commit()
    db.close()
    with pytest.raises(StoreError):
        Store(path)


def test_json_bodies_are_checked(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    h = {"X-CSRF-Token": csrf}
    assert c.post(project + "/hazards", content=b"not json", headers=h).status_code == 400
    bad = {"name": "x", "kind": "flood", "effect": "closed",
           "geometry": {"type": "Polygon", "coordinates": [[[999, 0], [1, 1], [2, 2], [999, 0]]]}}
    assert c.post(project + "/hazards", json=bad, headers=h).status_code == 400
    bad2 = {**bad, "geometry": {"type": "Point", "coordinates": [1, 2]}}
    assert c.post(project + "/hazards", json=bad2, headers=h).status_code == 400
    bad3 = {**bad, "effect": "slowed", "speed_factor": "7",
            "geometry": {"type": "Polygon", "coordinates": [[[1, 42], [1.1, 42], [1.1, 42.1],
                                                               [1, 42]]]}}
    assert c.post(project + "/hazards", json=bad3, headers=h).status_code == 400
    assert c.post(project + "/plans", json={"kind": "x", "csv": "=cmd|calc"},
                  headers=h).status_code == 400
    assert json.loads(c.post(project + "/runs", data={"csrf": csrf, "kind": "nonsense"}
                             ).text)["code"] == 400
