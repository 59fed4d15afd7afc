"""The bundled demo district: it validates, and scripts/build_demo.py rebuilds it identically."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from emgis import load_district, summary
from emgis.cli import main
from tests.conftest import DEMO, REPO

#: The OpenStreetMap extract the demo is built from, in ``../shared/data/osm/`` beside the
#: project root (CI: a fresh clone with ../shared beside it).
OSM_IN_SHARED = Path("shared", "data", "osm", "andorra-2021-06-22.osm.pbf")
#: The project root as this file was reached (a checkout reached through a symbolic link has
#: ../shared beside the link, not beside where the link points), then as resolved.
ROOTS = tuple(dict.fromkeys([Path(os.path.abspath(__file__)).parents[2], REPO]))


def find_osm() -> Path | None:
    """``../shared/data/osm/andorra-2021-06-22.osm.pbf`` beside the project root, if there."""
    for root in ROOTS:
        if (root.parent / OSM_IN_SHARED).is_file():
            return root.parent / OSM_IN_SHARED
    return None


OSM = find_osm()


def test_demo_validates_with_the_expected_layers() -> None:
    d = load_district(DEMO)
    s = summary(d)
    assert len(d.villages) == 66  # the 66 named settlements of the extract
    assert s["layers"]["villages"] == {"community": 7, "village": 59}  # 7 place=town
    assert len(d.townships) == 7  # the 7 parishes
    assert s["layers"]["teams"]["fire_station"] == 4  # the 4 real fire stations
    assert s["population"] == 77_000
    assert d.villages["population"].min() > 0
    # every estimated field is marked illustrative in the file itself
    raw = pd.read_csv(DEMO / "villages.csv")
    assert (raw["illustrative"] == "population,service_centre_staff,drills_per_year,"
            "households,grid_members,last_drill").all()
    assert "© OpenStreetMap contributors" in (DEMO / "district.toml").read_text("utf-8")
    # realistic gaps for the analyses to find: teams under the minimum, a township without
    # a rescue team, a township without a store
    teams = d.teams
    rescue = teams[teams["kind"] == "township_rescue_team"]
    assert (rescue["headcount"] < 30).any() and (rescue["headcount"] >= 30).any()
    assert rescue["township"].nunique() < 7
    stores = d.stockpiles[d.stockpiles["level"] == "township"]
    assert stores["township"].nunique() < 7


@pytest.mark.skipif(OSM is None, reason=f"no {OSM_IN_SHARED} beside "
                    f"{' or '.join(str(r) for r in ROOTS)} (../shared/data/osm/)")
def test_build_demo_regenerates_identical_files(tmp_path: Path) -> None:
    """scripts/build_demo.py run on the extract rewrites every data file of data/demo byte for
    byte (about 10 s)."""
    assert OSM is not None
    done = subprocess.run([sys.executable, str(REPO / "scripts" / "build_demo.py"), "--osm",
                           str(OSM), "--out", str(tmp_path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    compared = 0
    for f in sorted(DEMO.iterdir()):
        if f.is_file() and f.name != "district.toml" and f.suffix != ".md":
            new = tmp_path / f.name
            assert new.exists(), f.name
            assert hashlib.sha256(new.read_bytes()).hexdigest() == \
                hashlib.sha256(f.read_bytes()).hexdigest(), f"{f.name} differs"
            compared += 1
    assert compared >= 8  # the layers, the roads and the hazards, not an empty folder


def test_cli_network_on_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["network", str(DEMO)]) == 0
    out = capsys.readouterr().out
    assert "Road network:" in out and "cache:" in out and "km of road per class" in out
    assert "villages: 65 attached to roads, 1 no road access, 0 cut off" in out
