"""The workbench in a real browser (headless Chromium through Playwright, Debian's chromium):
a planner logs in, uploads the demo ledgers, fixes a validation error in the settings form,
runs with a live progress bar to the end, opens the report and a map, clicks a candidate in
the what-if page and saves the plan, runs with it, compares the two runs, draws a hazard and
runs its scenario. No page may break its Content-Security-Policy.

Screenshots of each step (zh) go to the test's folder, and to ``docs/screenshots`` when
``EMGIS_SCREENSHOTS`` names that folder (``EMGIS_SCREENSHOTS=docs/screenshots pytest
tests/web/test_web_browser.py``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import LEDGERS, PASSWORD

playwright = pytest.importorskip("playwright.sync_api")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """``emgis serve`` on 127.0.0.1 (a process of its own) with one planner."""
    tmp = tmp_path_factory.mktemp("browser")
    data = tmp / "data"
    env = {**os.environ, "EMGIS_PASSWORD": PASSWORD}
    subprocess.run([sys.executable, "-m", "emgis.cli", "serve", "adduser", "王规划",
                    "--data", str(data)], check=True, env=env, capture_output=True,
                   timeout=60)
    port = _free_port()
    log = (tmp / "server.log").open("w")
    proc = subprocess.Popen([sys.executable, "-m", "emgis.cli", "serve", "--data", str(data),
                             "--host", "127.0.0.1", "--port", str(port), "--lang", "zh"],
                            stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        try:
            urllib.request.urlopen(url + "/login", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    else:
        proc.terminate()
        raise AssertionError((tmp / "server.log").read_text())
    shots = [tmp / "shots"]
    if os.environ.get("EMGIS_SCREENSHOTS"):
        shots.append(Path(os.environ["EMGIS_SCREENSHOTS"]))
    for s in shots:
        s.mkdir(parents=True, exist_ok=True)
    yield {"url": url, "data": data, "shots": shots}
    proc.terminate()
    proc.wait(timeout=30)
    log.close()


def _shot(page: Any, server: dict[str, Any], name: str, full: bool = False) -> None:
    for folder in server["shots"]:
        page.screenshot(path=str(folder / f"workbench_{name}.png"), full_page=full)


def _wait_done(page: Any, timeout: float = 240_000) -> None:
    page.wait_for_selector("#results, #run-error", timeout=timeout)
    assert page.locator("#results").count() == 1, page.inner_text("#progress-card")


def test_a_planners_day(server: dict[str, Any]) -> None:
    url = server["url"]
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="zh-CN")
        page = ctx.new_page()
        violations: list[str] = []

        def watch(pg: Any) -> None:
            pg.on("console", lambda m: violations.append(m.text)
                  if "Content Security Policy" in m.text else None)

        watch(page)
        ctx.on("page", watch)

        # log in
        page.goto(url + "/")
        assert page.url.endswith("/login")
        page.fill("input[name=name]", "王规划")
        page.fill("input[name=password]", PASSWORD)
        _shot(page, server, "login")
        page.click("button[type=submit]")

        # a new project from the ledgers of data/demo-ledgers
        page.fill("input[name=title]", "演示县应急覆盖规划")
        files = [str(f) for f in sorted(LEDGERS.iterdir()) if f.suffix != ".md"]
        page.set_input_files("#new-project input[type=file]", files)
        _shot(page, server, "new_project")
        page.click("#new-project button[type=submit]")
        page.wait_for_selector("#check-ok", timeout=120_000)
        project = page.url
        _shot(page, server, "project", full=True)

        # a validation error in the settings form, fixed
        page.click("nav.tabs a[href$='/settings']")
        page.fill("#f-targets\\.fire_station", "-5")
        page.fill("#f-speeds\\.residential", "五十")
        page.click("#save-settings")
        page.wait_for_selector("#form-errors")
        errs = page.locator(".field.has-error .field-error")
        assert errs.count() == 2
        page.locator(".field.has-error").first.scroll_into_view_if_needed()
        _shot(page, server, "settings_error")
        page.fill("#f-targets\\.fire_station", "8")
        page.fill("#f-speeds\\.residential", "")
        page.click("#save-settings")
        page.wait_for_selector("#saved")
        _shot(page, server, "settings_saved")

        # a full run, its progress bar live, to the end
        page.goto(project)
        page.check("input[name=kind][value=full]")
        page.click("#start-run")
        page.wait_for_selector("#bar")
        for _ in range(1200):  # the bar moves as the server's events come (no page reload)
            now = page.locator("#bar").get_attribute("aria-valuenow") \
                if page.locator("#bar").count() else None
            if now is not None and int(now) >= 15:
                break
            page.wait_for_timeout(100)
        assert now is not None and int(now) > 0, "the progress bar did not move"
        assert page.locator("#run-step").inner_text()  # the step said in words
        _shot(page, server, "run_progress")
        _wait_done(page)
        _shot(page, server, "run_done")

        # the report and a map, each in its own tab
        with ctx.expect_page() as info:
            page.click("#open-report")
        report = info.value
        report.wait_for_load_state()
        assert "报告" in report.title() or report.locator("h1").count()
        report.set_viewport_size({"width": 1100, "height": 1400})
        _shot(report, server, "report")
        report.close()
        with ctx.expect_page() as info:
            page.click("a[data-file='coverage.html']")
        cov = info.value
        cov.wait_for_load_state()
        cov.wait_for_selector(".leaflet-container")
        cov.wait_for_timeout(800)
        _shot(cov, server, "map")
        cov.close()

        # what if: click a candidate, save the plan, run with it
        page.click("a.whatif-link[href$='micro_fire_station']")
        frame = page.frame_locator("#whatif-frame")
        frame.locator(".emgis-cand").first.wait_for(state="attached", timeout=60_000)
        before = frame.locator("#emgis-wi-export").text_content()
        frame.locator(".emgis-cand").first.dispatch_event("click")
        page.wait_for_timeout(300)
        after = frame.locator("#emgis-wi-export").text_content()
        assert after != before
        page.click("#save-plan")
        page.wait_for_selector("#run-plan-form:not([hidden])")
        assert "已保存规划方案" in page.inner_text("#plan-message")
        _shot(page, server, "whatif")
        page.select_option("#run-plan-form select[name=kind]", "coverage")
        page.click("#run-with-plan")
        _wait_done(page)
        assert "方案 plan_micro_fire_station" in page.inner_text("h1")
        _shot(page, server, "run_with_plan")

        # compare the two runs
        page.goto(project)
        page.click("#compare-form button[type=submit]")
        page.wait_for_selector("#compare-frame")
        page.wait_for_timeout(800)
        _shot(page, server, "compare", full=True)

        # draw a hazard, save it, run its scenario
        page.goto(project + "/hazards")
        page.wait_for_selector("#hazard-map[data-ready='1']", timeout=60_000)
        page.click("#draw-start")
        box = page.locator("#hazard-map").bounding_box()
        assert box is not None
        cx, cy = box["x"] + box["width"] * 0.45, box["y"] + box["height"] * 0.55
        for dx, dy in ((-60, -40), (60, -40), (70, 40), (-50, 50)):
            page.mouse.click(cx + dx, cy + dy)
        assert page.locator("#hazard-map").get_attribute("data-points") == "4"
        page.fill("#hazard-name", "河谷洪水（演练）")
        page.select_option("#hazard-effect", "closed")
        _shot(page, server, "hazard_draw")
        page.click("#hazard-save")
        page.wait_for_selector("#hazard-list :text('河谷洪水（演练）')", timeout=60_000)
        page.wait_for_selector("#hazard-map[data-ready='1']", timeout=60_000)
        _shot(page, server, "hazard_saved")
        row = page.locator("#hazard-list tr", has_text="河谷洪水（演练）")
        row.locator("button.run-hazard").click()
        _wait_done(page)
        _shot(page, server, "scenario_done")
        assert page.locator("a[data-file^='scenario_']").count() >= 1
        with ctx.expect_page() as info:
            page.locator("a[data-file^='scenario_']").first.click()
        sc = info.value
        sc.wait_for_selector(".leaflet-container")
        sc.wait_for_timeout(800)
        _shot(sc, server, "scenario_map")
        sc.close()

        # the history says who ran what and what changed
        page.goto(project)
        text = page.inner_text("#history")
        assert "王规划" in text and "河谷洪水（演练）" in text and "首次运行" in text
        assert "plan_micro_fire_station" in text  # the plan the second run used
        _shot(page, server, "history", full=True)
        assert not violations, violations
        browser.close()
