"""Texts made from a network alone, kept beside its cache (:func:`emgis.roads.cache.keep_beside`):
read back as written, never when damaged or changed, nothing kept without a cache."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest

from emgis.roads.cache import beside_path, fingerprint, keep_beside, read_beside


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    folder = tmp_path / ".emgis-cache"
    folder.mkdir()
    path = folder / "roads.osm.pbf-0123-abcd-4548-all-v6.npz"
    path.write_bytes(b"not read here")
    return path


def test_kept_text_is_read_back_beside_the_cache(cache: Path) -> None:
    text = '[{"c":"#ff0000","g":[[1.5,-2e-05]]}] 路网'
    assert read_beside(cache, "roads-1.json") is None  # nothing kept yet
    keep_beside(cache, "roads-1.json", text)
    kept = beside_path(cache, "roads-1.json")
    assert kept.parent == cache.parent
    assert kept.name == "roads.osm.pbf-0123-abcd-4548-all-v6.roads-1.json"
    assert read_beside(cache, "roads-1.json") == text
    assert read_beside(cache, "roads-2.json") is None  # another name: another text
    assert not [p for p in cache.parent.iterdir() if p.name.startswith(".")]  # no temp left


def test_nothing_is_kept_or_read_without_a_cache(tmp_path: Path) -> None:
    keep_beside(None, "roads-1.json", "[]")
    assert read_beside(None, "roads-1.json") is None
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("damage", ["truncated", "changed", "no_header", "other_mark",
                                    "empty"])
def test_a_text_that_is_not_whole_is_not_read(cache: Path, damage: str,
                                              caplog: pytest.LogCaptureFixture) -> None:
    keep_beside(cache, "roads-1.json", "[[1.0,2.0],[3.0,4.0]]")
    path = beside_path(cache, "roads-1.json")
    data = path.read_bytes()
    head, _, body = data.partition(b"\n")
    if damage == "truncated":
        data = data[:-3]
    elif damage == "changed":
        data = head + b"\n" + body.replace(b"1.0", b"9.0")
    elif damage == "no_header":
        data = body
    elif damage == "other_mark":
        data = b"emgis-beside-0 " + hashlib.sha256(body).hexdigest().encode() + b"\n" + body
    else:
        data = b""
    path.write_bytes(data)
    with caplog.at_level(logging.WARNING, logger="emgis.roads.cache"):
        assert read_beside(cache, "roads-1.json") is None
    assert path.name in caplog.text  # said once, with the file
    assert "beside the network cache" in caplog.text and "made again" in caplog.text
    keep_beside(cache, "roads-1.json", "[[1.0,2.0]]")  # kept anew over it
    assert read_beside(cache, "roads-1.json") == "[[1.0,2.0]]"


@pytest.mark.parametrize("name", ["", "../x.json", "a/b.json", ".hidden", "道路.json",
                                  "a b.json"])
def test_names_are_the_programs_own(cache: Path, name: str) -> None:
    with pytest.raises(ValueError, match="not a name"):
        beside_path(cache, name)


def test_a_folder_that_cannot_be_written_keeps_nothing(cache: Path) -> None:
    beside_path(cache, "roads-1.json").mkdir()  # a folder where the file would go
    keep_beside(cache, "roads-1.json", "[]")  # no error: the text is made again next time
    assert read_beside(cache, "roads-1.json") is None


def test_fingerprint_follows_every_array_and_the_text() -> None:
    a, b = np.arange(5.0), np.arange(3, dtype=np.int16)
    base = fingerprint(a, b, extra="wgs84")
    assert base == fingerprint(a.copy(), b.copy(), extra="wgs84")
    assert len(base) == 20
    changed = a.copy()
    changed[2] += 1e-9
    assert fingerprint(changed, b, extra="wgs84") != base
    assert fingerprint(a, b.astype(np.int32), extra="wgs84") != base  # the type counts
    assert fingerprint(a, b, extra="gcj02") != base
    assert fingerprint(b, a, extra="wgs84") != base  # the order counts
    assert fingerprint(a[:4], np.r_[a[4:], b], extra="wgs84") != base


def test_network_digest_is_the_cache_checksum_and_follows_the_arrays(tmp_path: Path) -> None:
    """A network built and written, the same network read back, and one hashed afresh have the
    same digest (the cache file's checksum, verified on reading); a vertex moved changes it."""
    import dataclasses
    import shutil

    from emgis.inputs.district import load_district
    from emgis.roads.cache import _arrays_of, _checksum, load_edge_arrays, network_digest
    from emgis.roads.network import load_network_arrays
    from tests.conftest import TINY

    root = tmp_path / "tiny"
    shutil.copytree(TINY, root, ignore=shutil.ignore_patterns(".emgis-cache"))
    built, path = load_network_arrays(load_district(root))  # built and written
    assert path is not None
    read = load_edge_arrays(path)
    afresh = dataclasses.replace(read)  # the same arrays, nothing known of them
    want = _checksum(_arrays_of(read))
    assert network_digest(built) == network_digest(read) == network_digest(afresh) == want
    vx = read.vx.copy()
    vx[0] += 1e-6
    assert network_digest(dataclasses.replace(read, vx=vx)) != want


def test_only_the_last_few_of_a_kind_stay(cache: Path) -> None:
    """Keeping a text removes the texts of its kind (its name apart from the digest) beyond
    the few kept or read last; other kinds, other caches' texts and the cache stay."""
    import os

    from emgis.roads.cache import KEEP_PER_KIND

    def name(i: int, kind: str = "snaps-drive", suffix: str = "") -> str:
        return f"{kind}-{i:020x}{suffix}"

    other_cache = cache.with_name("roads.osm.pbf-9999-abcd-4548-all-v6.npz")
    keep_beside(other_cache, name(99), "theirs")
    keep_beside(cache, name(50, "snaps-walk"), "walk")
    keep_beside(cache, name(51, "roads", ".json"), "[]")
    for i in range(KEEP_PER_KIND + 2):
        keep_beside(cache, name(i), f"t{i}")
        p = beside_path(cache, name(i))
        os.utime(p, ns=(10**18 + i * 10**9, 10**18 + i * 10**9))  # kept one second apart
    # the newest stay: the oldest two are gone
    left = [i for i in range(KEEP_PER_KIND + 2) if beside_path(cache, name(i)).exists()]
    assert left == list(range(2, KEEP_PER_KIND + 2))
    # reading one makes it recent: keeping another removes the least recent instead
    assert read_beside(cache, name(2)) == "t2"
    keep_beside(cache, name(77), "new")
    left = [i for i in [*range(KEEP_PER_KIND + 2), 77] if beside_path(cache, name(i)).exists()]
    assert 2 in left and 3 not in left and 77 in left and len(left) == KEEP_PER_KIND
    assert read_beside(cache, name(50, "snaps-walk")) == "walk"
    assert read_beside(cache, name(51, "roads", ".json")) == "[]"
    assert read_beside(other_cache, name(99)) == "theirs"
    assert cache.read_bytes() == b"not read here"


def test_superseded_caches_are_removed(tmp_path: Path, demo_copy: Path) -> None:
    """Opening a network removes the caches of the same road file name, settings, CRS and
    area whose file digest or format differ, with what was kept beside them; other
    districts' caches (other settings or areas), other files and the cache used stay."""
    from emgis import load_district
    from emgis.roads.cache import drop_superseded
    from emgis.roads.network import load_network_arrays

    folder = tmp_path / ".emgis-cache"
    folder.mkdir()
    me = folder / "roads.osm.pbf-0123abcd-00ff-4548-all-v6.npz"
    old_format = folder / "roads.osm.pbf-0123abcd-00ff-4548-all-v5.npz"
    old_file = folder / "roads.osm.pbf-99999999-00ff-4548-all-v6.npz"
    other_key = folder / "roads.osm.pbf-0123abcd-11ee-4548-all-v6.npz"
    other_area = folder / "roads.osm.pbf-0123abcd-00ff-4548-52fae29fb4-v6.npz"
    other_name = folder / "other.osm.pbf-0123abcd-00ff-4548-all-v5.npz"
    longer = folder / "roads.osm.pbf-0123abcd-00ff-4548-all-v50.roads-1.json"
    files = [me, old_format, old_file, other_key, other_area, other_name, longer,
             folder / "notes.txt"]
    beside_old = [folder / f"{old_format.stem}.roads-{'a' * 20}.json",
                  folder / f"{old_file.stem}.snaps-drive-{'b' * 20}"]
    for f in [*files, *beside_old]:
        f.write_bytes(b"x")
    gone = drop_superseded(me)
    assert sorted(gone) == sorted([old_format, old_file, *beside_old])
    assert all(f.exists() for f in files if f not in (old_format, old_file))
    assert drop_superseded(me) == []  # nothing left to remove

    # a real opening: an older format's cache of the demo's roads goes, the one used stays
    d = load_district(demo_copy)
    _, path = load_network_arrays(d)
    assert path is not None
    stale = path.with_name(path.name.replace(f"-v{path.name.rsplit('-v', 1)[1]}", "-v1.npz"))
    stale.write_bytes(b"old")
    kept = stale.with_name(stale.stem + ".roads-" + "c" * 20 + ".json")
    kept.write_bytes(b"[]")
    _, again = load_network_arrays(d)
    assert again == path and path.exists()
    assert not stale.exists() and not kept.exists()
