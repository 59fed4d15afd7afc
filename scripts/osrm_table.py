"""OSRM's side of ``benchmark_coverage.py``, run by an interpreter that has ``osrm-bindings``
(its wheels need CPython >= 3.12): extract and contract the network written as OSM XML, then
one distance table per kind, units x villages, every figure kept.

Usage (by ``benchmark_coverage.py --osrm-python PY``)::

    PY scripts/osrm_table.py WORK_DIR

``WORK_DIR`` holds ``net.osm`` (one way per directed road edge, its seconds in ``emgis_s``),
``emgis.lua`` and ``problem.npz`` (lon/lat of villages and of each kind's units); writes
``osrm.npz`` (per kind: seconds, units x villages) and prints the seconds each stage took.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import osrm

#: The profile: each way's time is emgis's own (from its speeds per road class), one way per
#: directed edge, no turn costs (emgis has none).
PROFILE = """
api_version = 4
function setup()
  return {
    properties = {
      weight_name = 'duration', max_speed_for_map_matching = 300 / 3.6,
      continue_straight_at_waypoint = false, use_turn_restrictions = false,
      u_turn_penalty = 0, traffic_light_penalty = 0, weight_precision = 2,
    },
    default_mode = mode.driving, default_speed = 30,
  }
end
function process_node(profile, node, result, relations) end
function process_way(profile, way, result, relations)
  local s = tonumber(way:get_value_by_key('emgis_s'))
  if not s then return end
  result.forward_mode = mode.driving
  result.backward_mode = mode.inaccessible
  result.forward_speed = 30
  result.duration = s
  result.weight = s
end
function process_turn(profile, turn)
  turn.duration = 0
  turn.weight = 0
end
return { setup = setup, process_way = process_way, process_node = process_node,
         process_turn = process_turn }
"""


def main() -> None:
    work = Path(sys.argv[1])
    binary = Path(osrm.__file__).parent / "bin"
    (work / "emgis.lua").write_text(PROFILE)
    times = {}
    t = time.perf_counter()
    for cmd in (["osrm-extract", "-p", str(work / "emgis.lua"), str(work / "net.osm")],
                ["osrm-contract", str(work / "net.osrm")]):
        subprocess.run([str(binary / cmd[0]), *cmd[1:]], check=True, capture_output=True)
    times["prepare"] = time.perf_counter() - t
    engine = osrm.OSRM(storage_config=str(work / "net.osrm"), algorithm="CH",
                       use_shared_memory=False, max_locations_distance_table=1_000_000)
    prob = np.load(work / "problem.npz")
    vil = prob["villages"]
    out = {}
    t = time.perf_counter()
    for key in prob.files:
        if key == "villages":
            continue
        u = prob[key]
        coords = [(float(x), float(y)) for x, y in np.vstack([u, vil])]
        params = osrm.TableParameters(coordinates=coords, sources=list(range(len(u))),
                                      destinations=list(range(len(u), len(u) + len(vil))),
                                      annotations=["duration"])
        res = engine.Table(params)
        d = np.array([[np.inf if x is None else float(x) for x in row]
                      for row in res["durations"]])
        out[key] = d
    times["query"] = time.perf_counter() - t
    np.savez(work / "osrm.npz", **out)  # type: ignore[arg-type]
    print(json.dumps(times))


if __name__ == "__main__":
    main()
