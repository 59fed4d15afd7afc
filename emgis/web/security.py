"""What keeps the workbench safe on a bureau's network, in one place.

- Passwords: :func:`hash_password` (scrypt of the standard library, a random salt per
  password; compared in constant time).
- Uploads: :func:`upload_name` (every browser file name through
  :func:`emgis.outputs.folder.safe_stem`, only the formats a district folder takes),
  :class:`Limits` (size and count), :func:`extract_zip` (no path outside the folder, no
  symlinks or devices, the total uncompressed size and the compression ratio bounded and
  counted as the bytes come out, not taken from the zip's own header).
- Pages: :func:`csp` (a Content-Security-Policy on every page: scripts only from the server,
  or the inline scripts of an output page named by their sha256), :class:`BodyLimit` (an ASGI
  middleware refusing a request body above the limit, whatever its Content-Length says).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
import zipfile
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from emgis.outputs.folder import safe_stem

# --- passwords ------------------------------------------------------------------------------

_N, _R, _P = 2**14, 8, 1


def hash_password(password: str) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64) of a password."""
    salt = secrets.token_bytes(16)
    dk = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), base64.b64encode(salt).decode(),
                     base64.b64encode(dk).decode()])


def verify_password(password: str, stored: str | None) -> bool:
    """Whether ``password`` matches ``stored``; the same work is done when there is no user,
    so a wrong name takes as long as a wrong password."""
    if not stored:
        hash_password(password)
        return False
    try:
        algo, n, r, p, salt, want = stored.split("$")
        if algo != "scrypt":
            return False
        dk = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt), n=int(n),
                            r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(dk, base64.b64decode(want))


# --- uploads --------------------------------------------------------------------------------

#: The formats a project takes (lower case; ``.osm.pbf`` ends in ``.pbf``).
UPLOAD_SUFFIXES = (".xlsx", ".xls", ".csv", ".zip", ".geojson", ".json", ".gpkg", ".pbf",
                   ".osm")
#: The files a zip may hold (a shapefile's parts, and the formats above but zip).
ZIP_SUFFIXES = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qpj", ".xlsx", ".xls", ".csv",
                ".geojson", ".json", ".gpkg", ".pbf", ".osm")


class UploadError(ValueError):
    """An upload that is refused; ``key`` names the catalogue text ([web]) and ``values``
    fill it."""

    def __init__(self, key: str, **values: object) -> None:
        super().__init__(key)
        self.key = key
        self.values = values


@dataclass(frozen=True)
class Limits:
    """Bounds of what a browser may send."""

    #: Bytes of one request body (all files of an upload together).
    request_bytes: int = 200 * 1024 * 1024
    #: Files of one upload.
    files: int = 40
    #: Bytes a zip may unpack to, in all.
    zip_bytes: int = 500 * 1024 * 1024
    #: Members of a zip.
    zip_members: int = 200
    #: Largest ratio of unpacked to packed bytes of a zip member (and of the whole zip).
    zip_ratio: float = 100.0


def _suffix(name: str) -> str:
    low = name.lower()
    if low.endswith(".osm.pbf"):
        return ".osm.pbf"
    return os.path.splitext(low)[1]


def upload_name(raw: str, allowed: tuple[str, ...] = UPLOAD_SUFFIXES) -> str:
    """A safe file name for a name the browser sent: the last part of any path, its stem
    through :func:`safe_stem`, its suffix one of ``allowed`` (lower case).

    Raises
    ------
    UploadError
        The suffix is not one the project takes.
    """
    base = re.split(r"[\\/]", str(raw))[-1]
    suffix = _suffix(base)
    plain = suffix.removeprefix(".osm") if suffix == ".osm.pbf" else suffix
    if not suffix or plain not in allowed or not re.fullmatch(r"[.a-z]+", suffix):
        raise UploadError("upload_format", name=base, formats=" ".join(allowed))
    stem = base[: len(base) - len(suffix)]
    return safe_stem(stem) + suffix


def extract_zip(path: Path, dest: Path, limits: Limits) -> list[str]:
    """Unpack a zip into ``dest`` (flat: every member's name through :func:`upload_name`).

    Refused, before anything is written: a member that is absolute or climbs out (``..``), a
    symlink or device, an encrypted member, a format a project does not take, two members of
    one name, more than ``limits.zip_members`` members, a declared total above
    ``limits.zip_bytes`` or a ratio above ``limits.zip_ratio``. While unpacking, the bytes
    that come out are counted, so a zip whose header lies stops at the limit (the partial
    files are removed).

    Returns
    -------
    list[str]
        The names written.
    """
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UploadError("zip_bad", name=path.name) from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(zf.infolist()) > limits.zip_members:
            raise UploadError("zip_too_many", n=limits.zip_members)
        names: dict[str, zipfile.ZipInfo] = {}
        total = 0
        packed = 0
        for info in infos:
            name = info.filename
            parts = re.split(r"[\\/]", name)
            if name.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", name) or ".." in parts:
                raise UploadError("zip_path", name=name)
            mode = info.external_attr >> 16
            if mode and (stat.S_ISLNK(mode) or not (stat.S_ISREG(mode) or mode & 0o170000 == 0)):
                raise UploadError("zip_link", name=name)
            if info.flag_bits & 0x1:
                raise UploadError("zip_encrypted", name=name)
            if parts[-1].startswith(".") or "__MACOSX" in parts:
                continue  # a system's metadata, not data
            safe = upload_name(parts[-1], ZIP_SUFFIXES)
            if safe.lower() in {n.lower() for n in names}:
                raise UploadError("zip_duplicate", name=safe)
            names[safe] = info
            total += info.file_size
            packed += info.compress_size
            if info.file_size > limits.zip_ratio * max(info.compress_size, 1) + 1024:
                raise UploadError("zip_bomb", name=name)
        if total > limits.zip_bytes:
            raise UploadError("zip_too_big", mb=limits.zip_bytes // (1024 * 1024))
        if total > limits.zip_ratio * max(packed, 1) + 1024:
            raise UploadError("zip_bomb", name=path.name)
        written: list[Path] = []
        out = 0
        try:
            for safe, info in names.items():
                target = dest / safe
                if target.resolve().parent != dest.resolve():
                    raise UploadError("zip_path", name=info.filename)
                n = 0
                with zf.open(info) as src, target.open("wb") as fh:
                    written.append(target)
                    while True:
                        chunk = src.read(1 << 16)
                        if not chunk:
                            break
                        n += len(chunk)
                        out += len(chunk)
                        if n > info.file_size or out > limits.zip_bytes or \
                                n > limits.zip_ratio * max(info.compress_size, 1) + 1024:
                            raise UploadError("zip_bomb", name=info.filename)
                        fh.write(chunk)
        except BaseException:
            for p in written:
                p.unlink(missing_ok=True)
            raise
    return list(names)


# --- pages ----------------------------------------------------------------------------------

_INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")"
                            r"[^>]*>(.*?)</script>", re.S | re.I)


def script_hashes(page: str) -> list[str]:
    """``'sha256-...'`` of every inline script of a page (an output page of a run: its
    Leaflet and map script), for its Content-Security-Policy."""
    out = []
    for body in _INLINE_SCRIPT.findall(page):
        digest = hashlib.sha256(body.encode("utf-8")).digest()
        out.append(f"'sha256-{base64.b64encode(digest).decode()}'")
    return sorted(set(out))


def csp(*, scripts: list[str] | None = None, output_page: bool = False) -> str:
    """The Content-Security-Policy of a page: the workbench's own pages run only the
    server's script files; an output page of a run runs only its own inline scripts (named
    by hash) and may show background tiles from the internet where they can be reached."""
    script = "'self'" if scripts is None else " ".join(["'self'", *scripts])
    parts = [
        "default-src 'self'",
        f"script-src {script}",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data: blob:" + (" https:" if output_page else ""),
        "font-src 'self' data:",
        "connect-src 'self'",
        "frame-src 'self'",
        "frame-ancestors 'self'",
        "form-action 'self'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
    return "; ".join(parts)


SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "SAMEORIGIN",
    "Cross-Origin-Opener-Policy": "same-origin",
}

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class BodyLimit:
    """Refuse (413) a request whose body exceeds ``limit`` bytes: at once when its
    Content-Length says so, else as soon as the bytes received pass the limit."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for k, v in scope.get("headers", []):
            if k == b"content-length":
                try:
                    too = int(v) > self.limit
                except ValueError:
                    too = True
                if too:
                    await _refuse(send)
                    return
        seen = 0
        too_large = False
        refused = False

        async def limited() -> Message:
            nonlocal seen, too_large
            if too_large:
                return {"type": "http.disconnect"}
            msg = await receive()
            if msg["type"] == "http.request":
                seen += len(msg.get("body", b""))
                if seen > self.limit:
                    too_large = True
                    return {"type": "http.disconnect"}
            return msg

        async def watch(msg: Message) -> None:
            nonlocal refused
            if not too_large:
                await send(msg)
            elif not refused:
                refused = True
                await _refuse(send)

        try:
            await self.app(scope, limited, watch)
        except Exception:
            if not too_large:
                raise
        if too_large and not refused:
            await _refuse(send)


async def _refuse(send: Send) -> None:
    body = b"413 request too large"
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
