"""The texts of emgis's outputs, one catalogue per language (``emgis/_texts/LANG.toml``).

Every word a planner reads in a report, a map, a table header or the console comes from here,
so ``--lang zh`` gives Chinese everywhere but in the ids and names taken from the input. Fields
in braces are filled with :meth:`Texts.fmt` (numbers, and ids and names from the input: the
catalogue's text is the template, never the input's).
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

LANGS = ("en", "zh")


class Texts:
    """A language's catalogue: ``texts["report.title"]``, ``texts.kind("stockpile")`` ..."""

    def __init__(self, lang: str, data: Mapping[str, Mapping[str, str]]) -> None:
        self.lang = lang
        self.data = data

    def __getitem__(self, key: str) -> str:
        section, _, name = key.partition(".")
        return self.data[section][name]

    def get(self, section: str, name: str, default: str | None = None) -> str:
        """A text of a section, or ``default`` (the name itself) when the catalogue lacks it."""
        return self.data.get(section, {}).get(name, name if default is None else default)

    def fmt(self, key: str, **values: Any) -> str:
        """A text with its fields filled (``str.format`` on the catalogue's own text)."""
        return self[key].format(**values)

    def kind(self, kind: str) -> str:
        """A unit kind's name."""
        return self.get("kind", kind)

    def status(self, status: str) -> str:
        """A coverage status in words."""
        return self.get("status", status)

    def section(self, name: str) -> Mapping[str, str]:
        """A whole section (e.g. ``map``)."""
        return self.data[name]

    def cause(self, cause: str, *, kind: str, nearest_min: float, target_min: float,
              access_m: float) -> str:
        """Why a village is outside target, in words (empty for a covered one)."""
        if not cause:
            return ""
        if cause == "over_target":
            return self.fmt("cause.over_target", n=f"{nearest_min - target_min:.1f}")
        if cause == "no_road_access":
            m = "?" if access_m != access_m else f"{access_m:,.0f}"
            return self.fmt("cause.no_road_access", m=m)
        if cause in ("cut_off", "no_unit"):
            return self.fmt(f"cause.{cause}", kind=self.kind(kind))
        return self.get("cause", cause)

    def words(self, key: str) -> list[str]:
        """A list of texts (e.g. a table's column heads)."""
        section, _, name = key.partition(".")
        value = self.data[section][name]
        return [str(v) for v in value] if isinstance(value, list) else [str(value)]

    def num(self, value: float, digits: int = 0) -> str:
        """A number with thousands separators."""
        return f"{value:,.{digits}f}"


@cache
def texts(lang: str = "en") -> Texts:
    """The catalogue of ``lang`` (``"en"`` or ``"zh"``).

    Raises
    ------
    ValueError
        An unknown language.
    """
    if lang not in LANGS:
        raise ValueError(f"language {lang!r}: expected one of {', '.join(LANGS)}")
    raw = resources.files("emgis").joinpath("_texts", f"{lang}.toml").read_text("utf-8")
    return Texts(lang, tomllib.loads(raw))
