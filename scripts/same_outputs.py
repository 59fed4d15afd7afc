"""Check that two output folders of `emgis run` hold the same files, byte for byte.

Only the manifest's clock readings may differ (run.json: when the run started and ended, and its
run id); every other file must be byte-identical, so a refactoring that
claims "behaviour unchanged" can prove it::

    emgis run data/demo --out A            # on the old tree
    emgis run data/demo --out B            # on the new tree
    python scripts/same_outputs.py A B     # exit 0 when the same, 1 with the differences
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from pathlib import Path
from typing import Any

#: Manifest keys that hold clock readings or where the run happened, not results.
VOLATILE = {"started", "finished", "run_id"}
#: Files that are not results (the lock the writer holds while it writes).
IGNORED = {".emgis.lock"}


def _strip(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def differences(a: Path, b: Path) -> list[str]:
    """What differs between two output folders (an empty list when they are the same)."""
    files_a = {p.relative_to(a).as_posix() for p in a.rglob("*") if p.is_file()} - IGNORED
    files_b = {p.relative_to(b).as_posix() for p in b.rglob("*") if p.is_file()} - IGNORED
    out = [f"only in {a}: {name}" for name in sorted(files_a - files_b)]
    out += [f"only in {b}: {name}" for name in sorted(files_b - files_a)]
    for name in sorted(files_a & files_b):
        pa, pb = a / name, b / name
        if name == "run.json":
            ja = _strip(json.loads(pa.read_text(encoding="utf-8")))
            jb = _strip(json.loads(pb.read_text(encoding="utf-8")))
            if ja != jb:
                out.append(f"run.json differs beyond its clock readings: {_first_diff(ja, jb)}")
        elif _digest(pa) != _digest(pb):
            out.append(f"differs: {name}")
    return out


def _first_diff(x: Any, y: Any, where: str = "") -> str:
    if isinstance(x, dict) and isinstance(y, dict):
        for key in sorted(set(x) | set(y)):
            if x.get(key) != y.get(key):
                return _first_diff(x.get(key), y.get(key), f"{where}.{key}")
    if isinstance(x, list) and isinstance(y, list) and len(x) == len(y):
        for i, (u, v) in enumerate(zip(x, y)):
            if u != v:
                return _first_diff(u, v, f"{where}[{i}]")
    return f"{where or '/'}: {str(x)[:120]!r} vs {str(y)[:120]!r}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("a", type=Path)
    parser.add_argument("b", type=Path)
    args = parser.parse_args(argv)
    diff = differences(args.a, args.b)
    n = sum(1 for p in args.a.rglob("*") if p.is_file())
    if diff:
        print("\n".join(diff))
        print(f"{len(diff)} difference(s) in {n} files")
        return 1
    print(f"same: {n} files byte-identical (run.json apart from its clock readings)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
