"""Runs through the workbench: started, followed (server-sent events), cancelled, queued
one per project, kept under runs/<timestamp>/ with their manifest, served; the settings form
checked by the schema; hazards drawn and run; plans saved and run; two runs compared; a
restart during a run."""

from __future__ import annotations

import json
import sys
import time
import urllib.parse
from pathlib import Path
from typing import Any

from conftest import client, login, make_data, new_project, start_run, wait_run

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def _folder(shared: dict[str, Any]) -> Path:
    return Path(shared["data"]) / urllib.parse.unquote(shared["project"].rsplit("/", 1)[1])


def test_coverage_run_with_progress_events_and_files(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    run = start_run(c, project, csrf, kind="coverage")
    events = []
    with c.stream("GET", run + "/events") as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line.startswith("data: "):
                events.append(json.loads(line[6:]))
                if events[-1]["finished"]:
                    break
    assert events[-1]["status"] == "done", events[-1]
    assert events[-1]["word"] == "已完成"
    assert any(e["status"] == "running" for e in events) or len(events) >= 1
    progress = [e["progress"] for e in events]
    assert progress == sorted(progress)
    # the outputs, under runs/<timestamp>/ with a complete manifest
    folder = _folder(shared)
    runs = sorted((folder / "runs").iterdir())
    assert len(runs) == 1
    manifest = json.loads((runs[0] / "run.json").read_text("utf-8"))
    assert manifest["complete"] is True and "coverage.csv" in manifest["files"]
    page = c.get(run).text
    assert "coverage.csv" in page and "覆盖地图" in page
    r = c.get(run + "/files/coverage.html")
    assert r.status_code == 200 and "sha256-" in r.headers["content-security-policy"]
    r = c.get(run + "/files/coverage.csv")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    assert r.content == (runs[0] / "coverage.csv").read_bytes()
    for bad in ("run.json", "..%2F..%2Fdistrict.toml", ".emgis.lock", "nothere.csv"):
        assert c.get(run + "/files/" + bad).status_code == 404, bad
    # history: who, when, what changed
    html = c.get(project).text
    assert "alice" in html and "首次运行" in html
    shared["run1"] = run


def test_settings_form_checks_and_writes(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    folder = _folder(shared)
    before = (folder / "district.toml").read_text("utf-8")
    form = {"csrf": csrf, "targets.fire_station": "-3", "speeds.residential": "999"}
    r = c.post(project + "/settings", data=form)
    assert r.status_code == 400
    assert r.text.count('class="field-error"') == 2
    assert 'data-key="targets.fire_station"' in r.text
    assert (folder / "district.toml").read_text("utf-8") == before  # nothing written
    r = c.post(project + "/settings", data={**form, "targets.fire_station": "8",
                                             "speeds.residential": ""})
    assert r.status_code == 200 and 'id="saved"' in r.text
    text = (folder / "district.toml").read_text("utf-8")
    assert tomllib.loads(text)["targets"] == {"fire_station": 8}
    assert "# 村（社区）（villages）" in text  # init's comments kept


def test_second_run_says_what_changed(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    run = start_run(c, project, csrf, kind="coverage")
    assert wait_run(c, run)["status"] == "done"
    html = c.get(run).text
    assert "设置 targets.fire_station：默认值 → 8" in html
    shared["run2"] = run


def test_compare_two_runs(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    a = shared["run1"].rsplit("/", 1)[1]
    b = shared["run2"].rsplit("/", 1)[1]
    r = c.post(project + "/compare", data={"csrf": csrf, "old": a, "new": b},
               follow_redirects=False)
    assert r.status_code == 303, r.text
    page = c.get(r.headers["location"])
    assert page.status_code == 200 and "compare.html" in page.text
    kinds = c.get(r.headers["location"] + "/files/compare_kinds.csv")
    assert kinds.status_code == 200
    assert c.get(r.headers["location"] + "/files/compare.html").status_code == 200
    # fire-station target 5 -> 8 takes villages off the gap list (README: 16 villages)
    settings = c.get(r.headers["location"] + "/files/compare_settings.csv").content
    assert b"targets.fire_station" in settings


def test_cancel_and_one_run_per_project(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    first = start_run(c, project, csrf, kind="full")
    second = start_run(c, project, csrf, kind="coverage")
    time.sleep(1.0)
    s2 = c.get(second + "/status").json()
    assert s2["status"] == "queued"  # the project's first run goes first
    r = c.post(first + "/cancel", headers={"X-CSRF-Token": csrf,
                                           "accept": "application/json"})
    assert r.status_code == 200
    assert wait_run(c, first, 60)["status"] == "cancelled"
    # the second then runs, to the end
    assert wait_run(c, second)["status"] == "done"
    # a queued run is dropped at once
    third = start_run(c, project, csrf, kind="coverage")
    fourth = start_run(c, project, csrf, kind="coverage")
    c.post(fourth + "/cancel", headers={"X-CSRF-Token": csrf})
    assert c.get(fourth + "/status").json()["status"] == "cancelled"
    assert wait_run(c, third)["status"] == "done"
    # a cancelled run's folder never claims to be complete
    page = c.get(first).text
    assert "已取消" in page and 'id="results"' not in page
    assert c.get(first + "/files/report.html").status_code == 404


def test_plan_saved_and_run(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    csv = "id,name,kind,action,lon,lat\nnew1,新站,micro_fire_station,add,1.5300,42.5100\n"
    r = c.post(project + "/plans", json={"kind": "micro_fire_station", "csv": csv},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    name = r.json()["name"]
    assert (_folder(shared) / "plans" / name).read_text("utf-8") == csv
    # a plan that does not read is refused with its problems
    bad = "id,name,kind,action,lon,lat\nx,y,nonsense,add,1,2\n"
    r = c.post(project + "/plans", json={"kind": "micro_fire_station", "csv": bad},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 400 and r.json()["errors"]
    run = start_run(c, project, csrf, kind="coverage", plan=name)
    assert wait_run(c, run)["status"] == "done"
    html = c.get(run).text
    assert name in html
    r = c.post(project + "/runs", data={"csrf": csrf, "kind": "coverage",
                                        "plan": "../district.toml"})
    assert r.status_code == 400


def test_hazard_drawn_then_its_scenario(shared: dict[str, Any]) -> None:
    c, project, csrf = shared["client"], shared["project"], shared["csrf"]
    ring = [[1.515, 42.500], [1.545, 42.500], [1.545, 42.520], [1.515, 42.520],
            [1.515, 42.500]]
    r = c.post(project + "/hazards", json={"name": "演练洪水", "kind": "flood",
                                           "effect": "slowed", "speed_factor": "0.4",
                                           "geometry": {"type": "Polygon",
                                                        "coordinates": [ring]}},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 200, r.text
    hid = r.json()["id"]
    folder = _folder(shared)
    doc = json.loads((folder / "workbench_hazards.geojson").read_text("utf-8"))
    assert doc["features"][-1]["properties"] == {"id": hid, "name": "演练洪水", "kind": "flood",
                                                  "effect": "slowed", "speed_factor": 0.4}
    config = tomllib.loads((folder / "district.toml").read_text("utf-8"))
    assert "workbench_hazards.geojson" in config["layers"]["hazards"]["path"]
    assert "演练洪水" in c.get(project + "/hazards").text
    run = start_run(c, project, csrf, kind="scenario", hazard=hid)
    assert wait_run(c, run)["status"] == "done", c.get(run + "/status").json()
    html = c.get(run).text
    assert "scenario_" in html and "scenarios.csv" in html


def test_restart_marks_the_run_interrupted(tmp_path: Path) -> None:
    """Stop the server during a run: the store is intact, the run is marked interrupted
    (never complete), and a new run completes."""
    from emgis.web.store import Store

    data = make_data(tmp_path)
    with client(data) as c:
        csrf = login(c, "alice")
        project = new_project(c, csrf)
        run = start_run(c, project, csrf, kind="full")
        for _ in range(200):  # until it is under way
            if c.get(run + "/status").json()["status"] == "running":
                break
            time.sleep(0.1)
    # the server stopped (the TestClient's shutdown ends its workers)
    store = Store(data / "workbench.sqlite")
    rid = int(run.rsplit("/", 1)[1])
    got = store.run(rid)
    assert got is not None and got.status == "interrupted"
    # and a run left "running" by a server that was killed outright
    store.update_run(rid, status="running")
    store.close()
    with client(data) as c:
        csrf = login(c, "alice")  # users and sessions survived
        s = c.get(run + "/status").json()
        assert s["status"] == "interrupted" and s["finished"]
        page = c.get(run).text
        assert "已中断" in page and 'id="results"' not in page
        assert c.get(run + "/files/report.html").status_code == 404
        again = start_run(c, project, csrf, kind="coverage")
        assert wait_run(c, again)["status"] == "done"
        html = c.get(project).text
        assert "已中断" in html and "已完成" in html
