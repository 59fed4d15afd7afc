"""Input text is data, never code: a property test over every string field of every layer and
the district's and scenario's names, and a sample checked in the DOM Chromium builds.

For arbitrary text (with template syntax, markup, script terminators, quotes and formula
starters mixed in), a whole ``emgis run`` of the tiny district must

- show each string exactly as typed: in the maps' JSON data block (decoded) or as page text
  (HTML-decoded), so no template evaluated it;
- build every HTML page with the same elements and attributes, in the same order, as a run
  with plain names, so no element or script was injected;
- write it to the CSV files with a leading apostrophe where it starts like a formula;
- write every file inside ``--out``.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from emgis.cli import main
from emgis.outputs.tables import neutralise
from tests.conftest import TINY, render_dom

HOSTILE = ["{{ 7*7 }}", "{% for x in range(3) %}x{% endfor %}", "${7*7}", "`", "</script>",
           "<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "'", '"', "=cmd|' /C",
           "+1", "-1", "@SUM(A1)", "&amp;", "</style>", "\\u003c", "{{", "}}", "../..",
           "<!--", "]]>", "\u2028"]


@st.composite
def hostile_text(draw: st.DrawFn) -> str:
    plain = st.text(st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=12)
    parts = draw(st.lists(st.one_of(st.sampled_from(HOSTILE), plain), min_size=1, max_size=4))
    text = "".join(parts).strip()
    return text if text else "x"


def names(n: int) -> st.SearchStrategy[list[str]]:
    return st.lists(hostile_text(), min_size=n, max_size=n, unique_by=lambda s: s.strip())


def _csv(rows: list[list[Any]]) -> str:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue()


def _toml_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


def make_district(root: Path, t: dict[str, Any]) -> Path:
    """The tiny district with every name and id replaced by the texts in ``t``."""
    d = root / "d"
    if d.exists():
        shutil.rmtree(d)
    shutil.copytree(TINY, d, ignore=shutil.ignore_patterns(".emgis-cache"))
    town = t["township"]
    v = pd.read_csv(TINY / "villages.csv", dtype=str)
    v["id"], v["name"], v["township"] = t["village_ids"], t["village_names"], town
    (d / "villages.csv").write_text(_csv([list(v.columns), *v.to_numpy().tolist()]), "utf-8")
    tm = pd.read_csv(TINY / "teams.csv", dtype=str, keep_default_na=False)
    tm["id"], tm["name"], tm["township"] = t["team_ids"], t["team_names"], town
    (d / "teams.csv").write_text(_csv([list(tm.columns), *tm.to_numpy().tolist()]), "utf-8")
    sp = pd.read_csv(TINY / "stockpiles.csv", dtype=str, keep_default_na=False)
    sp["id"], sp["name"], sp["township"], sp["items"] = (t["stock_id"], t["stock_name"], town,
                                                         t["items"])
    (d / "stockpiles.csv").write_text(_csv([list(sp.columns), *sp.to_numpy().tolist()]),
                                      "utf-8")
    for file, fields in (("shelters.geojson", ("shelter_ids", "shelter_names")),
                         ("hazards.geojson", ("hazard_ids", "hazard_names")),
                         ("townships.geojson", None)):
        gj = json.loads((TINY / file).read_text("utf-8"))
        for i, f in enumerate(gj["features"]):
            if fields is None:
                f["properties"]["name"] = town
            else:
                f["properties"]["id"] = t[fields[0]][i]
                f["properties"]["name"] = t[fields[1]][i]
        (d / file).write_text(json.dumps(gj, ensure_ascii=False), "utf-8")
    text = (TINY / "district.toml").read_text("utf-8")
    text = text.replace('name = "测试区"', f"name = {_toml_str(t['district'])}")
    text += (f"\n[scenarios.{_toml_str(t['scenario'])}]\n"
             f"hazards = [{_toml_str(t['hazard_ids'][0])}]\nevacuate_within_m = 300\n")
    (d / "district.toml").write_text(text, "utf-8")
    return d


def texts() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({
        "district": hostile_text(), "scenario": hostile_text(), "township": hostile_text(),
        "village_ids": names(5), "village_names": names(5),
        "team_ids": names(3), "team_names": names(3),
        "stock_id": names(1), "stock_name": names(1), "items": names(1),
        "shelter_ids": names(2), "shelter_names": names(2),
        "hazard_ids": names(1), "hazard_names": names(1),
    })


PLAIN: dict[str, Any] = {
    "district": "D", "scenario": "S", "township": "T",
    "village_ids": ["v1", "v2", "v3", "v4", "v5"], "village_names": ["a", "b", "c", "d", "e"],
    "team_ids": ["t1", "t2", "t3"], "team_names": ["f", "g", "h"], "stock_id": ["s1"],
    "stock_name": ["i"], "items": ["j"], "shelter_ids": ["h1", "h2"],
    "shelter_names": ["k", "l"], "hazard_ids": ["z1"], "hazard_names": ["m"],
}
NASTY: dict[str, Any] = {
    "district": "{{ cycler.__init__.__globals__.os.getcwd() }}区",
    "scenario": "a/../../../escaped {% raw %}",
    "township": "</script><script>alert(1)</script>镇",
    "village_ids": ["Z{{7*7}}Z", "${7*7}", "`x`", "=cmd|' /C calc'!A0", "<b>v5</b>"],
    "village_names": ["<img src=x onerror=alert(1)>", "{% if 1 %}yes{% endif %}", '"q"',
                      "'s'", "+SUM(A1)"],
    "team_ids": ["</style>", "@t2", "-t3"], "team_names": ["{{7*7}}", "${1}", "<!--"],
    "stock_id": ["]]>"], "stock_name": ["\\u003c/script\\u003e"], "items": ["{{ x }}"],
    "shelter_ids": ["h1{{", "}}h2"], "shelter_names": ["<svg onload=alert(1)>", "&lt;"],
    "hazard_ids": ["../../hz"], "hazard_names": ["<iframe src=javascript:alert(1)>"],
}


class _Structure(HTMLParser):
    """Start tags with their attribute names, and the text, of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, tuple[str, ...]]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, tuple(sorted(a for a, _ in attrs))))
        self.text += [v for _, v in attrs if v]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _page(path: Path) -> tuple[list[tuple[str, tuple[str, ...]]], str, str]:
    """The page's structure, its text (decoded), and its JSON data (decoded, as text)."""
    raw = path.read_text("utf-8")
    data = ""
    m = re.search(r'<script type="application/json" id="emgis-data">(.*?)</script>', raw,
                  flags=re.S)
    if m:
        data = "\n".join(_strings(json.loads(m.group(1))))
        raw = raw[:m.start(1)] + raw[m.end(1):]
    p = _Structure()
    p.feed(raw)
    return p.tags, "\n".join(p.text), data


def _strings(obj: Any) -> list[str]:
    """Every text value in decoded JSON."""
    if isinstance(obj, str):
        return [obj]
    if isinstance(obj, dict):
        return [s for v in obj.values() for s in _strings(v)]
    if isinstance(obj, list):
        return [s for v in obj for s in _strings(v)]
    return []


def _role(name: str) -> str:
    return "scenario.html" if name.startswith("scenario_") else name


def _run(d: Path, out: Path) -> None:
    assert main(["-q", "run", str(d), "--out", str(out)]) == 0


@pytest.fixture(scope="module")
def plain_structure(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("plain")
    out = root / "out"
    _run(make_district(root, PLAIN), out)
    return {_role(p.name): _page(p)[0] for p in out.glob("*.html")}


def _check(t: dict[str, Any], root: Path, plain: dict[str, Any]) -> Path:
    out = root / "out"
    if out.exists():
        shutil.rmtree(out)
    _run(make_district(root, t), out)
    # nothing escaped --out
    assert sorted(p.name for p in root.iterdir()) == ["d", "out"]
    pages = {_role(p.name): _page(p) for p in out.glob("*.html")}
    assert set(pages) == set(plain)
    for role, (tags, _, _) in pages.items():
        assert tags == plain[role], role  # no element or script injected
    cov_data = pages["coverage.html"][2]
    for s in [*t["village_names"], *t["village_ids"], *t["team_names"], *t["team_ids"]]:
        assert s in cov_data, s  # as data, exactly as typed
    for role, (_, text, _) in pages.items():
        assert t["district"] in text, role  # the title, as text
    _, sc_text, sc_data = pages["scenario.html"]
    assert t["scenario"] in sc_text and t["hazard_names"][0] in sc_data
    _, rep_text, _ = pages["report.html"]
    assert t["township"] in rep_text
    table = pd.read_csv(out / "coverage.csv", encoding="utf-8-sig", dtype=str,
                        keep_default_na=False)
    assert set(table["village_name"]) == {neutralise(s) for s in t["village_names"]}
    assert set(table["village_id"]) == {neutralise(s) for s in t["village_ids"]}
    return out


@settings(max_examples=12, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@example(t=NASTY)
@given(t=texts())
def test_input_text_is_inert_everywhere(t: dict[str, Any], plain_structure: dict[str, Any],
                                        tmp_path_factory: pytest.TempPathFactory) -> None:
    _check(t, tmp_path_factory.mktemp("hostile"), plain_structure)


def test_dom_of_a_sample_in_chromium(plain_structure: dict[str, Any],
                                     tmp_path: Path) -> None:
    """The nastiest sample in the DOM Chromium builds: no injected element, the texts shown
    as typed (the title, the report's headings and tables)."""
    out = _check(NASTY, tmp_path, plain_structure)
    for page in ("coverage.html", "report.html"):
        dom = render_dom(out / page, tmp_path)
        assert "<img src=" not in dom and "<svg onload" not in dom and "<iframe" not in dom
        assert "alert(1)</script>" not in dom.replace("&lt;/script&gt;", "")
        assert html.escape(NASTY["district"], quote=False) in dom
    dom = render_dom(out / "report.html", tmp_path)
    assert html.escape(NASTY["township"], quote=False) in dom
    assert html.escape(NASTY["village_names"][0], quote=False) in dom
    dom = render_dom(out / "coverage.html", tmp_path)
    assert dom.count("<script") == (out / "coverage.html").read_text("utf-8").count("<script")
