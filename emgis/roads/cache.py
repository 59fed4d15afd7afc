"""The network cache: one .npz per road file, settings, CRS and clip area, with a format version
and a checksum (a damaged cache is rebuilt with one warning).

Beside it, texts made from that network alone that a run would otherwise make again each time
(the maps' road layer: :func:`emgis.outputs.mappage.road_layer`), each under a name that
carries the digest of what it was made from (:func:`fingerprint`, with the network's own
checksum, :func:`network_digest`), with a checksum of its own (:func:`keep_beside`,
:func:`read_beside`)."""

from __future__ import annotations

import contextlib
import functools
import glob
import hashlib
import json
import logging
import os
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import shapely
from pyproj import CRS

from emgis._errors import CacheError
from emgis.inputs.settings import Settings
from emgis.texts import Msg, msg_from_json, msg_to_json

if TYPE_CHECKING:

    from emgis.inputs.district import District, RoadSource

from emgis._files import atomic_write
from emgis.roads.edges import EdgeArrays

log = logging.getLogger(__name__)

#: Bump when the cached arrays change meaning or shape: older caches are then rebuilt.
#: 5: the walking network's arrays beside the roads' (``walk_*``). 6: each network's
#: ``key_rank`` (:data:`_MADE`).
CACHE_FORMAT = 6
CACHE_DIR = ".emgis-cache"


# --- the cache ----------------------------------------------------------------------------------

_ARRAYS = ("node_ids", "node_x", "node_y", "u", "v", "length", "travel_time", "twin", "vptr",
           "vx", "vy", "vdist", "vtime", "vclass", "component")


#: What :class:`EdgeArrays` makes from its arrays on first use and the cache keeps made: the
#: edges' order by key, which snapping breaks ties in (a province's 2.7 million edges took
#: 1.1 s to sort at every start).
_MADE = ("key_rank",)


def _checksum(arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    for name in sorted(arrays):
        _hash_array(h, name, arrays[name])
    return h.hexdigest()


def _hash_array(h: Any, name: str, a: np.ndarray) -> None:
    """One array into the checksum: its name, type, shape and bytes (read in place)."""
    a = np.ascontiguousarray(a)
    h.update(f"{name}:{a.dtype.str}:{a.shape}".encode())
    h.update(a.reshape(-1).view(np.uint8).data if a.size else b"")


def _arrays_of(ea: EdgeArrays) -> dict[str, Any]:
    """The arrays the cache holds of a network, by their names in the file."""
    arrays = {k: getattr(ea, k) for k in (*_ARRAYS, *_MADE)}
    walk = ea.walk
    if walk is not None:  # the walking network, beside the roads
        arrays.update({f"walk_{k}": getattr(walk, k) for k in (*_ARRAYS, *_MADE)})
    return arrays


#: Where a network keeps its arrays' checksum (:func:`network_digest`) once it is known.
_DIGEST = "_cache_checksum"


def network_digest(ea: EdgeArrays) -> str:
    """The checksum of the arrays the cache holds of ``ea`` (the roads' nodes, edges, vertices,
    times and classes per vertex, and their walking network's; not a scenario's hazards or
    penalty): what is kept beside the cache for these roads is named by it.

    Known without hashing when the network was read from the cache or written to it (the
    file's checksum, verified on reading); otherwise hashed once and kept with the network
    (a province's arrays are hundreds of megabytes)."""
    got = ea.__dict__.get(_DIGEST)
    if not isinstance(got, str):
        got = _checksum(_arrays_of(ea))
        ea.__dict__[_DIGEST] = got
    return got


def save_edge_arrays(ea: EdgeArrays, path: str | Path) -> Path:
    """Write the arrays to an ``.npz`` file with their format version and a checksum,
    atomically."""

    path = Path(path)
    arrays = _arrays_of(ea)
    walk = ea.walk
    checksum = _checksum(arrays)
    meta = {"format": CACHE_FORMAT, "classes": list(ea.classes), "main": ea.main,
            "notes": [msg_to_json(n) for n in ea.notes], "checksum": checksum}
    if walk is not None:
        meta["walk"] = {"classes": list(walk.classes), "main": walk.main}

    def write(p: Path) -> None:
        with p.open("wb") as fh:
            np.savez(fh, meta=np.array(json.dumps(meta)), **arrays)

    atomic_write(path, write)
    ea.__dict__[_DIGEST] = checksum  # these arrays' checksum, as a read would find it
    return path


def load_edge_arrays(path: str | Path) -> EdgeArrays:
    """Read arrays written by :func:`save_edge_arrays`.

    Raises
    ------
    CacheError
        The file is damaged (truncated, not an npz, arrays changed) or of another format.
    """
    path = Path(path)
    h = hashlib.sha256()
    # each array is hashed on a second thread while the next is read (hashlib lets go of
    # the GIL): the checksum is ready about when the reading ends (a province's network is
    # some hundreds of megabytes)
    with ThreadPoolExecutor(max_workers=1) as pool:
        try:
            with path.open("rb") as fh, np.load(fh, allow_pickle=False) as z:
                meta = json.loads(str(z["meta"]))
                own = (*_ARRAYS, *_MADE)
                names = [*own, *(f"walk_{k}" for k in own)] \
                    if isinstance(meta, dict) and "walk" in meta else list(own)
                arrays: dict[str, Any] = {}
                hashed = []
                for k in sorted(names):
                    arrays[k] = z[k]
                    hashed.append(pool.submit(_hash_array, h, k, arrays[k]))
                for f in hashed:
                    f.result()
        except Exception as exc:
            raise CacheError(Msg("cache_damaged", path=str(path),
                                 detail=type(exc).__name__)) from exc
    if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT:
        raise CacheError(Msg("cache_format", path=str(path),
                             format=meta.get("format") if isinstance(meta, dict) else "?"))
    if meta.get("checksum") != h.hexdigest():
        raise CacheError(Msg("cache_checksum", path=str(path)))
    walk = None
    if "walk" in meta:
        walk = EdgeArrays(**{k: arrays[f"walk_{k}"] for k in _ARRAYS},
                          classes=tuple(meta["walk"]["classes"]), main=int(meta["walk"]["main"]))
        walk.__dict__.update({k: arrays[f"walk_{k}"] for k in _MADE})  # as if made
    out = EdgeArrays(**{k: arrays[k] for k in _ARRAYS if k != "component"},
                     classes=tuple(meta["classes"]), component=arrays["component"],
                     main=int(meta["main"]),
                     notes=tuple(msg_from_json(n) for n in meta.get("notes", ())), walk=walk)
    out.__dict__.update({k: arrays[k] for k in _MADE})  # as if made
    out.__dict__[_DIGEST] = meta["checksum"]  # verified above
    return out


# --- what is made from a network alone, kept beside its cache ------------------------------

#: First word of a text kept beside a network cache (:func:`keep_beside`), before its
#: checksum: a file without it, or whose text fails the checksum, is not read.
_BESIDE_MARK = "emgis-beside-1"


def beside_path(cache: Path, name: str) -> Path:
    """Where the text ``name`` made from the network of ``cache`` is kept: beside it, as
    ``<cache's name>.<name>`` (``name`` is the program's: letters, digits, ``.``, ``-``)."""
    if not name or not all(c.isascii() and (c.isalnum() or c in ".-") for c in name) \
            or name.startswith("."):
        raise ValueError(f"not a name for a file beside the cache: {name!r}")
    return cache.with_name(f"{cache.stem}.{name}")


def read_beside(cache: Path | None, name: str) -> str | None:
    """The text kept beside the network cache ``cache`` under ``name`` by :func:`keep_beside`,
    or None: no cache, nothing kept, or a file that is not whole (its checksum fails; it is
    then made again and kept anew)."""
    if cache is None:
        return None
    try:
        data = beside_path(cache, name).read_bytes()
    except OSError:
        return None
    head, sep, body = data.partition(b"\n")
    parts = head.decode("ascii", "replace").split(" ")
    if not sep or len(parts) != 2 or parts[0] != _BESIDE_MARK or \
            parts[1] != hashlib.sha256(body).hexdigest():
        log.warning("%s", Msg("kept_checksum", path=str(beside_path(cache, name))))
        return None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None
    with contextlib.suppress(OSError):  # read now: among the last of its kind to stay
        os.utime(beside_path(cache, name))
    return text


#: Texts of one kind (a name apart from its digest, :data:`_DIGESTED`) kept beside one cache:
#: keeping another removes the least recently kept or read beyond these (each change of the
#: villages or units keeps new snaps, of the layers a new datum mark: a folder of them would
#: only grow).
KEEP_PER_KIND = 4

#: A kept name: its kind, a digest of 20 hex digits (:func:`fingerprint`), perhaps a suffix.
_DIGESTED = re.compile(r"^(?P<kind>[A-Za-z0-9.-]*?)-[0-9a-f]{20}(?P<suffix>\.[A-Za-z0-9]+)?$")


def _prune_beside(cache: Path, name: str) -> None:
    """Remove the texts of ``name``'s kind beside ``cache`` beyond the :data:`KEEP_PER_KIND`
    kept or read last (``name`` among them); a file that cannot be removed stays."""
    m = _DIGESTED.match(name)
    if m is None:
        return
    kind, suffix = m.group("kind"), m.group("suffix") or ""
    own = f"{cache.stem}."
    found = []
    try:
        for p in cache.parent.glob(f"{glob.escape(own + kind)}-*"):
            other = _DIGESTED.match(p.name.removeprefix(own))
            if other is not None and other.group("kind") == kind and \
                    (other.group("suffix") or "") == suffix and p.name != own + name:
                found.append((p.stat().st_mtime_ns, p.name, p))
    except OSError:
        return
    for _, _, p in sorted(found, reverse=True)[KEEP_PER_KIND - 1:]:
        _remove(p)


def _remove(path: Path) -> bool:
    """Remove a file the program kept (True), or leave it where it cannot be removed."""
    try:
        path.unlink()
    except OSError:
        log.debug("could not remove %s", path, exc_info=True)
        return False
    return True


def keep_beside(cache: Path | None, name: str, text: str) -> None:
    """Keep ``text``, made from the network of ``cache`` alone, beside it under ``name``
    (atomically, with a checksum), for the next run on the same network to read
    (:func:`read_beside`) instead of making it again. Nothing is kept without a cache; a
    folder that cannot be written keeps nothing (the text is made again next time). Of the
    texts of one kind (the name apart from its digest), the :data:`KEEP_PER_KIND` kept or
    read last stay."""
    if cache is None:
        return
    body = text.encode("utf-8")
    head = f"{_BESIDE_MARK} {hashlib.sha256(body).hexdigest()}\n".encode("ascii")

    def write(p: Path) -> None:
        with p.open("wb") as fh:
            fh.write(head)
            fh.write(body)

    try:
        atomic_write(beside_path(cache, name), write)
    except OSError:
        log.debug("could not keep %s beside %s", name, cache, exc_info=True)
        return
    _prune_beside(cache, name)


def fingerprint(*arrays: np.ndarray, extra: str = "") -> str:
    """A digest of some arrays (their types, shapes and bytes) and a text: the key of what is
    kept beside a cache for exactly these inputs (20 hex digits)."""
    h = hashlib.sha256(extra.encode("utf-8"))
    for i, a in enumerate(arrays):
        _hash_array(h, str(i), a)
    return h.hexdigest()[:20]


def _file_digest(path: Path) -> str:
    st = path.stat()
    return _digest_of(str(path.resolve()), st.st_size, st.st_mtime_ns)


@functools.lru_cache(maxsize=64)
def _digest_of(path: str, size: int, mtime_ns: int) -> str:
    """A file's digest, read once per content (size and time) in a process: a provincial road
    file is looked up by every district of a batch."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


def _user_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "emgis"


def cache_path(source: RoadSource, *, settings: Settings, crs: CRS,
               clip: shapely.Geometry | None = None) -> Path:
    """Where the network built from ``source`` with these settings, CRS and clip area is
    cached: ``.emgis-cache/`` beside the road file, or the user's cache folder
    (``$XDG_CACHE_HOME/emgis``) when that cannot be written."""
    epsg = crs.to_epsg() or hashlib.sha256(crs.to_wkt().encode()).hexdigest()[:8]
    area = "all" if clip is None else hashlib.sha256(
        shapely.to_wkb(shapely.set_precision(clip, 1.0))).hexdigest()[:10]
    name = (f"{source.path.name}-{_file_digest(source.path)}-{settings.network_key()}"
            f"-{epsg}-{area}-v{CACHE_FORMAT}.npz")
    folder = source.path.parent / CACHE_DIR
    try:
        folder.mkdir(exist_ok=True)
        probe = folder / f".probe-{os.getpid()}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError:
        folder = _user_cache()
    return folder / name


#: A cache's name (:func:`cache_path`): the road file's name and digest, the settings' key,
#: the CRS, the clip area and the format.
_CACHE_NAME = re.compile(r"^(?P<file>.+)-(?P<digest>[0-9a-f]+)-(?P<key>[0-9a-f]+)"
                         r"-(?P<crs>[0-9a-f]+)-(?P<area>[0-9a-f]+|all)-v(?P<v>[0-9]+)\.npz$")


def drop_superseded(path: Path) -> list[Path]:
    """Remove the caches ``path`` supersedes, with what was kept beside them: those of the
    same road file name, settings, CRS and clip area in its folder whose file digest or
    format differ (the road file changed since, or an older emgis wrote them: no run reads
    them again; a province's is most of a gigabyte). Caches of other settings or areas (other
    districts on the same roads) stay. Returns the files removed; one that cannot be removed
    stays."""
    me = _CACHE_NAME.match(path.name)
    if me is None:
        return []
    gone: list[Path] = []
    try:
        siblings = sorted(path.parent.glob("*.npz"))
    except OSError:
        return gone
    for p in siblings:
        other = _CACHE_NAME.match(p.name)
        if other is None or p.name == path.name or any(
                other.group(g) != me.group(g) for g in ("file", "key", "crs", "area")):
            continue
        beside = [q for q in sorted(path.parent.glob(glob.escape(p.stem) + ".*")) if q != p]
        gone += [q for q in [p, *beside] if _remove(q)]
    if gone:
        log.info("removed %d superseded cache files beside %s", len(gone), path.name)
    return gone


def clip_area(district: District) -> shapely.Geometry | None:
    """The area the roads are clipped to: the district's area (townships or ``[district]
    bbox``, else the hull of every point) grown by ``[network] clip_buffer_m``; None when
    ``[network] clip = false``."""
    net = district.settings.network
    if not net.clip:
        return None
    area = district.area
    if area is None:
        pts = [g for layer in (district.villages, district.teams, district.stockpiles,
                               district.shelters, district.candidates)
               for g in layer.geometry.values if g is not None and not g.is_empty]
        if not pts:
            return None
        area = shapely.convex_hull(shapely.multipoints(pts))
    return shapely.buffer(area, net.clip_buffer_m)
