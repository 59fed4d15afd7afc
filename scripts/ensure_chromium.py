"""Make sure a headless Chromium, and a font with Chinese glyphs, are available for the tests.

Looks for chromium / chromium-browser / google-chrome on PATH, and for a CJK font (``fc-list
:lang=zh``); whatever is missing is installed on a Debian/Ubuntu machine where we are root
(Debian's ``chromium`` and ``fonts-noto-cjk`` packages), so that the maps and the report render,
in Chinese too, as glyphs rather than boxes. Prints what it found and exits 0; exits 1 with
instructions otherwise.
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


def cjk_font() -> str | None:
    if not shutil.which("fc-list"):
        return None
    out = subprocess.run(["fc-list", ":lang=zh", "family"], capture_output=True, text=True,
                         check=False).stdout.strip()
    return out.splitlines()[0] if out else None


def main() -> int:
    found, font = find(), cjk_font()
    can_install = shutil.which("apt-get") and os.geteuid() == 0
    if (found is None or font is None) and can_install:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        packages = ([] if found else ["chromium"]) + ([] if font else ["fonts-noto-cjk"])
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", *packages], check=False, env=env,
                       stdout=subprocess.DEVNULL)
        found, font = find(), cjk_font()
    if found is None:
        print("No Chromium found: install it (Debian/Ubuntu: apt-get install chromium) so the "
              "map tests can render the maps.", file=sys.stderr)
        return 1
    print(f"headless browser: {found}")
    if font is None:
        print("No font with Chinese glyphs: install one (Debian/Ubuntu: apt-get install "
              "fonts-noto-cjk) to see Chinese in screenshots; the tests do not need it.",
              file=sys.stderr)
    else:
        print(f"Chinese font: {font}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
