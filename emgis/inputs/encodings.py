"""Text encodings of input files, detected line by line: UTF-8 (with or without BOM) or
GBK/GB18030, a file that mixes them named with a line of each, a wrong declaration overruled."""

from __future__ import annotations

import codecs
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd

from emgis._errors import SettingsEncodingError
from emgis.inputs.fields import LayerSpec
from emgis.inputs.problems import ProblemLog
from emgis.texts import Msg

log = logging.getLogger(__name__)

def _is_utf8(name: str) -> bool:
    try:
        return codecs.lookup(name).name in ("utf-8", "utf-8-sig")
    except LookupError:
        return False


def _decodes(chunk: bytes, enc: str) -> bool:
    try:
        chunk.decode(enc)
    except UnicodeDecodeError:
        return False
    return True


@dataclass(frozen=True)
class _Sniff:
    """What a line-by-line look at some bytes found: the encoding to use, or why none fits."""

    encoding: str | None
    first_bad: int | None = None  # 1-based record of the first chunk not in that encoding
    mixed_with: int | None = None  # a record in the other encoding (mixed file)


def _sniff(chunks: list[bytes]) -> _Sniff:
    """UTF-8 if every chunk is; GB18030 if no non-ASCII chunk is UTF-8 and all are GB18030;
    otherwise the file mixes encodings (or is neither)."""
    utf8_rows: list[int] = []
    other_rows: list[int] = []
    for i, c in enumerate(chunks):
        if c.isascii():
            continue
        (utf8_rows if _decodes(c, "utf-8") else other_rows).append(i)
    if not other_rows:
        return _Sniff("utf-8")
    bad = [i for i in other_rows if not _decodes(chunks[i], "gb18030")]
    if bad:
        return _Sniff(None, first_bad=bad[0])
    if utf8_rows:
        return _Sniff(None, first_bad=other_rows[0], mixed_with=utf8_rows[0])
    return _Sniff("gb18030")


def _choose_encoding(chunks: list[bytes], declared: str | None, fname: str, plog: ProblemLog,
                     *, unit: str = "line") -> str | None:
    """The encoding to read with: auto-detected, or the declared one where it fits.

    A declared encoding that does not fit the bytes (decode errors, or a file that is UTF-8
    although declared GBK: its decode would be mojibake) gives way to auto-detection with a
    warning; a file mixing encodings is an error naming the first line in each.
    """
    auto = _sniff(chunks)
    where = Msg(f"enc_{unit}", n=auto.first_bad) if auto.first_bad is not None else ""
    if auto.encoding is None and auto.mixed_with is not None:
        plog.error(fname, Msg("enc_mixed", other=Msg(f"enc_{unit}", n=auto.mixed_with),
                              where=where), row=auto.first_bad)
        return None
    if declared is None:
        if auto.encoding is None:
            plog.error(fname, Msg("enc_neither", where=where), row=auto.first_bad)
        return auto.encoding
    fits = all(_decodes(c, declared) for c in chunks)
    if fits and (_is_utf8(declared) or auto.encoding != "utf-8"
                 or all(c.isascii() for c in chunks)):
        return declared
    if auto.encoding is not None:
        why = (Msg("enc_why_utf8", declared=declared) if fits
               else Msg("enc_why_not", declared=declared))
        plog.warning(fname, Msg("enc_declared_misfit", declared=declared, why=why,
                                auto=auto.encoding.upper()))
        return auto.encoding
    bad = next(i for i, c in enumerate(chunks) if not _decodes(c, declared))
    plog.error(fname, Msg("enc_not_declared", where=Msg(f"enc_{unit}", n=bad),
                          declared=declared), row=bad)
    return None


def _decode_csv(path: Path, encoding: str | None, plog: ProblemLog) -> str | None:
    raw = path.read_bytes()
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        plog.error(path.name, Msg("enc_utf16"))
        return None
    if b"\0" in raw:
        plog.error(path.name, Msg("enc_nul"))
        return None
    body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    enc = _choose_encoding(body.split(b"\n"), encoding, path.name, plog)
    if enc is None:
        return None
    text = body.decode(enc)
    return text


def _dbf_records(path: Path) -> list[bytes] | None:
    """The records of a shapefile's .dbf (bytes each), or None if there is no .dbf."""
    dbf = next((p for p in (path.with_suffix(".dbf"), path.with_suffix(".DBF")) if p.exists()),
               None)
    if dbf is None:
        return None
    data = dbf.read_bytes()
    if len(data) < 12:
        return []
    header_len = int.from_bytes(data[8:10], "little")
    rec_len = int.from_bytes(data[10:12], "little") or 1
    body = data[header_len:]
    return [body[i:i + rec_len] for i in range(0, len(body) - rec_len + 1, rec_len)]


def _known_encoding(name: str) -> bool:
    try:
        codecs.lookup(name)
    except LookupError:
        return False
    return True


_GARBLE = re.compile("[\ufffd\x80-\x9f]")


def _garbled(gdf: gpd.GeoDataFrame, spec: LayerSpec, plog: ProblemLog) -> bool:
    """Text with replacement characters or C1 controls was decoded wrongly: an error."""
    for col in gdf.columns:
        if col == gdf.geometry.name or not (gdf[col].dtype == object or
                                            pd.api.types.is_string_dtype(gdf[col].dtype)):
            continue
        for i, v in enumerate(gdf[col]):
            if isinstance(v, str) and _GARBLE.search(v):
                plog.error(spec.path.name, Msg("enc_garbled", v=v), row=i + 1,
                           field=str(col))
                return True
    return False


#: Letters that GBK bytes read as UTF-8 turn into (Latin Extended, IPA, Greek, Cyrillic ...):
#: Latin-1 letters (é, ©) are left out, a European name is no sign of GBK.
_ODD = re.compile("[\u0100-\u07ff]")
_CJK = re.compile("[\u3400-\u9fff]")
#: What GBK text holds beyond ASCII: GB2312's Chinese characters and full-width punctuation.
_HAN = re.compile("[\u4e00-\u9fa5\u3000-\u303f\uff00-\uffef]")


def settings_text(raw: bytes, name: str) -> str:
    """The text of a settings file (``district.toml``, ``province.toml``): UTF-8, with or
    without BOM. A file saved in GBK is named as such, including the one whose GBK bytes happen
    to be valid UTF-8 and would read as mojibake ("某省" read as 'ĳʡ').

    Raises
    ------
    SettingsEncodingError
        The file is GBK/GB18030 or not text; the message says how to save it as UTF-8.
    """
    body = raw[3:] if raw.startswith(codecs.BOM_UTF8) else raw
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        if _decodes(body, "gb18030"):
            raise SettingsEncodingError(Msg("settings_gbk", file=name)) from None
        raise SettingsEncodingError(Msg("settings_not_text", file=name)) from None
    wide = [c for c in text if ord(c) > 0x7F]
    # GBK read as UTF-8 gives only two-byte letters (U+0100-U+07FF: Latin Extended, IPA,
    # Greek, Cyrillic ...), never a Latin-1 letter or a CJK character; read as GBK the same
    # bytes are common Chinese characters and full-width punctuation and nothing else
    if len(wide) >= 2 and all(0x100 <= ord(c) <= 0x7FF for c in wide) \
            and _decodes(body, "gbk"):
        gbk = [c for c in body.decode("gbk") if ord(c) > 0x7F]
        if gbk and all(_HAN.match(c) for c in gbk):
            raise SettingsEncodingError(Msg("settings_gbk", file=name))
    return text
