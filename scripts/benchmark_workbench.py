"""Benchmark of the workbench (not a test): 20 simulated planners browsing results on
127.0.0.1 while a run proceeds.

Starts ``emgis serve`` on a free port of 127.0.0.1 over a fresh data folder, makes a project
from ``data/demo-ledgers`` and runs it once (the results to browse, and a warm road cache),
then times a full run alone, and the same run again while ``--users`` simulated users
(default 20) browse the project page, the run page, the report, the coverage map, a CSV and
the run's status, each with a pause between pages. Prints p50/p95 page times per page and
overall, and the run's time against the same run alone. Bounded: at most ``--max-requests``
per user and ``--max-seconds`` in all; traffic goes to 127.0.0.1 only.

    python scripts/benchmark_workbench.py [--users 20] [--think 0.5] [--kind full]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]
LEDGERS = REPO / "data" / "demo-ledgers"
PASSWORD = "benchmark password"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _token(html: str) -> str:
    i = html.index('name="csrf" value="') + len('name="csrf" value="')
    return html[i:html.index('"', i)]


def _login(url: str) -> tuple[httpx.Client, str]:
    c = httpx.Client(base_url=url, timeout=60, follow_redirects=True)
    r = c.get("/login")
    c.post("/login", data={"csrf": _token(r.text), "name": "planner", "password": PASSWORD})
    return c, _token(c.get("/").text)


def _run(c: httpx.Client, project: str, csrf: str, kind: str) -> tuple[str, float]:
    t0 = time.perf_counter()
    r = c.post(project + "/runs", data={"csrf": csrf, "kind": kind})
    run = str(r.url.path)
    while True:
        s = c.get(run + "/status").json()
        if s["finished"]:
            if s["status"] != "done":
                raise SystemExit(f"run {run} ended {s['status']}: {s['error']}")
            return run, time.perf_counter() - t0
        time.sleep(0.25)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--users", type=int, default=20)
    ap.add_argument("--think", type=float, default=0.5, help="seconds between a user's pages")
    ap.add_argument("--kind", default="full", choices=("full", "coverage"))
    ap.add_argument("--max-requests", type=int, default=400, help="per user")
    ap.add_argument("--max-seconds", type=float, default=900)
    args = ap.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="emgis-bench-"))
    data = tmp / "data"
    env = {**os.environ, "EMGIS_PASSWORD": PASSWORD}
    subprocess.run([sys.executable, "-m", "emgis.cli", "serve", "adduser", "planner",
                    "--data", str(data)], check=True, env=env, capture_output=True)
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "emgis.cli", "serve", "--data", str(data),
                               "--host", "127.0.0.1", "--port", str(port), "--parallel", "1"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    try:
        for _ in range(300):
            try:
                httpx.get(url + "/login", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        c, csrf = _login(url)
        files = [("files", (p.name, p.read_bytes())) for p in sorted(LEDGERS.iterdir())
                 if p.suffix != ".md"]
        r = c.post("/projects", data={"csrf": csrf, "title": "bench"}, files=files)
        project = str(r.url.path)
        first, t_first = _run(c, project, csrf, "full")
        print(f"first run (results to browse, road cache built): {t_first:.1f} s")
        _, alone = _run(c, project, csrf, args.kind)
        print(f"{args.kind} run alone: {alone:.1f} s")

        pages = {"project": project, "run page": first, "report": first + "/files/report.html",
                 "coverage map": first + "/files/coverage.html",
                 "gaps.csv": first + "/files/gaps.csv", "status": first + "/status"}
        times: dict[str, list[float]] = {k: [] for k in pages}
        errors: list[str] = []
        stop = threading.Event()
        deadline = time.monotonic() + args.max_seconds

        def user(k: int) -> None:
            client, _ = _login(url)
            names = list(pages)
            n = 0
            while not stop.is_set() and n < args.max_requests and time.monotonic() < deadline:
                name = names[(k + n) % len(names)]
                t0 = time.perf_counter()
                resp = client.get(pages[name])
                dt = time.perf_counter() - t0
                if resp.status_code != 200:
                    errors.append(f"{name}: {resp.status_code}")
                times[name].append(dt)
                n += 1
                stop.wait(args.think)
            client.close()

        threads = [threading.Thread(target=user, args=(k,)) for k in range(args.users)]
        for t in threads:
            t.start()
        time.sleep(1.0)  # the users are browsing when the run starts
        _, loaded = _run(c, project, csrf, args.kind)
        stop.set()
        for t in threads:
            t.join()
        every = [x for v in times.values() for x in v]

        def pct(v: list[float], q: float) -> float:
            return sorted(v)[min(len(v) - 1, int(q * len(v)))] * 1000 if v else float("nan")

        print(f"\n{args.users} users browsing while a {args.kind} run proceeds "
              f"({len(every)} pages, {len(errors)} errors):")
        print(f"  {'page':<14} {'n':>5} {'p50 ms':>8} {'p95 ms':>8}")
        for name, v in times.items():
            print(f"  {name:<14} {len(v):>5} {statistics.median(v) * 1000 if v else 0:>8.0f} "
                  f"{pct(v, 0.95):>8.0f}")
        print(f"  {'all':<14} {len(every):>5} {statistics.median(every) * 1000:>8.0f} "
              f"{pct(every, 0.95):>8.0f}")
        print(f"\n{args.kind} run alone {alone:.1f} s, with {args.users} users browsing "
              f"{loaded:.1f} s ({loaded / alone:.2f}x)")
        if errors:
            print("errors:", sorted(set(errors))[:10])
        c.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
