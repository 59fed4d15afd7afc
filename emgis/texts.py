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

    def fmt(self, key: str, **values: object) -> str:
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
            over = nearest_min - target_min
            return self.fmt("cause.over_target", n=f"{over:.1f}" if over >= 0.05 else "<0.1")
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


class Msg(str):
    """A message that can be said in every catalogue language.

    The string itself is the English text of the catalogue's ``[msg]`` entry ``key`` (or of
    ``section.name``, any entry of the catalogue) with ``values`` filled in, so a
    :class:`Msg` goes wherever a ``str`` goes (exceptions, problem lists, logs); :meth:`say`
    gives it in another language. A value may itself be a :class:`Msg` (a part of a
    sentence), said in the same language.
    """

    key: str
    values: dict[str, Any]  # read back by the errors that carry a Msg

    def __new__(cls, key: str, /, **values: object) -> Msg:
        self = super().__new__(cls, _fill(texts("en"), key, values))
        self.key = key
        self.values = values
        return self

    def say(self, t: Texts) -> str:
        """The message in the catalogue ``t``'s language."""
        return _fill(t, self.key, self.values)

    def __reduce__(self) -> tuple[Any, ...]:  # pickled by key and values (Dask workers)
        return (_restore, (self.key, self.values))


def _restore(key: str, values: dict[str, object]) -> Msg:
    return Msg(key, **values)


def _fill(t: Texts, key: str, values: Mapping[str, object]) -> str:
    text = t[key] if "." in key else t["msg." + key]
    return text.format(**{k: _value(t, v) for k, v in values.items()})


def _value(t: Texts, v: object) -> object:
    """A field's value in ``t``'s language: a Msg said, a tuple a list of such said and
    joined (``, `` in English, ``、`` in Chinese), anything else as it is."""
    if isinstance(v, Msg):
        return v.say(t)
    if isinstance(v, tuple):
        return t["msg.list_sep"].join(str(_value(t, x)) for x in v)
    return v


def msg_to_json(text: str) -> Any:
    """A text for a JSON file: a :class:`Msg` as ``{"msg": key, "values": {...}}`` (its values
    numbers, texts or messages), any other text as it is."""
    if isinstance(text, Msg):
        return {"msg": text.key, "values": {k: msg_to_json(v) if isinstance(v, str) else v
                                            for k, v in text.values.items()}}
    return str(text)


def msg_from_json(value: Any) -> str:
    """The inverse of :func:`msg_to_json`."""
    if isinstance(value, dict) and "msg" in value:
        return Msg(value["msg"], **{k: msg_from_json(v) if isinstance(v, (str, dict)) else
                                    tuple(v) if isinstance(v, list) else v  # JSON: a tuple
                                    for k, v in value.get("values", {}).items()})
    return str(value)


def say(text: object, lang: str | Texts = "en") -> str:
    """Any text in ``lang``: a :class:`Msg` (or an exception carrying one) is said in that
    language, anything else as it is."""
    t = lang if isinstance(lang, Texts) else texts(lang)
    if isinstance(text, BaseException):
        problems = getattr(text, "problems", None)
        if isinstance(problems, list):  # a ValidationError: its problems, each said
            errors = [p for p in problems if p.level == "error"]
            return "\n".join([t.fmt("msg.input_errors", n=len(errors)),
                              *(f"  - {p.say(t)}" for p in errors)])
        args = text.args
        if len(args) == 1 and isinstance(args[0], Msg):
            return args[0].say(t)
        return str(text)
    return text.say(t) if isinstance(text, Msg) else str(text)


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


def shown_minutes(minutes: float, target: float, *, digits: int = 2) -> float:
    """Minutes rounded for print without contradicting the target: a time over the target never
    prints as the target or below (5.003 against 5 prints 5.01 with two digits), one within it
    never prints above it. Statuses are decided on the unrounded times; this only prints them.
    """
    if minutes != minutes or target != target:
        return minutes
    step = 10.0 ** -digits
    out = round(minutes, digits)
    if minutes > target + 1e-9 and out <= target + 1e-12:
        out = round(target + step, digits)
    elif minutes <= target + 1e-9 and out > target + 1e-12:
        out = round(target, digits) if round(target, digits) <= target else round(
            target - step, digits)
    return out
