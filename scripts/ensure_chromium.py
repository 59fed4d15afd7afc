"""Make sure a headless Chromium is available for the map-rendering tests.

Looks for chromium / chromium-browser / google-chrome on PATH; if none is there and this is a
Debian/Ubuntu machine where we are root, installs Debian's ``chromium`` package with apt-get.
Prints the browser it found and exits 0; exits 1 with instructions otherwise.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find() -> str | None:
    for name in NAMES:
        path = shutil.which(name)
        if path:
            return path
    return None


def main() -> int:
    found = find()
    if found is None and shutil.which("apt-get") and os.geteuid() == 0:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], check=False, env=env,
                       stdout=subprocess.DEVNULL)
        found = find()
    if found is None:
        print("No Chromium found: install it (Debian/Ubuntu: apt-get install chromium) so the "
              "map tests can render the maps.", file=sys.stderr)
        return 1
    print(f"headless browser: {found}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
