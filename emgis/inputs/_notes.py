"""Messages of the input readers, said in English or Chinese from a module's own catalogue.

The readers of :mod:`emgis.inputs` keep their texts in a module-level ``MESSAGES`` dict
(``key -> (English, Chinese)``) until they move into ``emgis/_texts``; a :class:`Note` is such a
message with its values, and like :class:`emgis.texts.Msg` it *is* its English text, so it goes
wherever a ``str`` goes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Separator of a list's items, per language (as ``msg.list_sep`` of the catalogues).
_LIST_SEP = {"en": ", ", "zh": "、"}


class Note(str):
    """A message of an input reader that can be said in English and Chinese.

    Parameters
    ----------
    catalogue
        The module's ``MESSAGES``: key -> (English template, Chinese template).
    key
        The message.
    values
        The template's fields; a tuple is said as a list, a :class:`Note` in the same language.
    """

    key: str
    values: dict[str, Any]
    catalogue: Mapping[str, tuple[str, str]]

    def __new__(cls, catalogue: Mapping[str, tuple[str, str]], key: str, /,
                **values: Any) -> Note:
        self = super().__new__(cls, _fill(catalogue, key, values, "en"))
        self.key = key
        self.values = values
        self.catalogue = catalogue
        return self

    def say(self, lang: Any = "en") -> str:
        """The message in ``lang`` (``"en"``, ``"zh"`` or a :class:`emgis.texts.Texts`)."""
        code = lang if isinstance(lang, str) else str(getattr(lang, "lang", "en"))
        return _fill(self.catalogue, self.key, self.values, code)


def _fill(catalogue: Mapping[str, tuple[str, str]], key: str, values: Mapping[str, Any],
          lang: str) -> str:
    en, zh = catalogue[key]
    return (zh if lang == "zh" else en).format(**{k: _value(v, lang) for k, v in values.items()})


def _value(v: Any, lang: str) -> Any:
    if isinstance(v, Note):
        return v.say(lang)
    if isinstance(v, tuple):
        return _LIST_SEP.get(lang, ", ").join(str(_value(x, lang)) for x in v)
    return v
