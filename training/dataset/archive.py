"""Where the files of a dataset copy live: plain folders, zip archives, or both at once.

The public copy ships ``info/`` zipped in parts; people unzip some parts and not others, or zip the
whole folder. ``DatasetFiles`` indexes every place once, by base name (names carry the username, so
they are unique), and reads a file from wherever it is, straight from the zip when it is a member.

The index is sized for the public copy's ten million posts: ``info/`` and ``image/`` folders are
listed entry by entry (never as one list), and each file costs a 64-bit hash of its base name, the
place it was found and its row there (14 bytes; a zip member adds its offsets and sizes, 36 bytes),
instead of a Python object per file. ``Member`` objects are made only when a name is looked up.
"""

from __future__ import annotations

import logging
import os
import threading
import zipfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from training.dataset import layout
from training.errors import DatasetError

log = logging.getLogger(__name__)

WORLD_META_FILE = "world.json"
_META_FILES = (layout.INFLUENCERS_FILE, layout.MAPPING_FILE, WORLD_META_FILE)
_MAX_DEPTH = 3  # how deep below a root folder to look for info/, image/ and archives
_KINDS = ("info", "image")


@dataclass(frozen=True, slots=True)
class Member:
    """One file of the layout: a plain file (``member`` None) or a member of the zip at ``path``."""

    path: Path
    member: str | None = None

    @property
    def location(self) -> Path:
        """A path naming it: the file itself, or ``archive.zip/member/name``."""
        return self.path if self.member is None else self.path / self.member


def _kind(name: str) -> str | None:
    base = name.rsplit("/", 1)[-1]
    if base in _META_FILES:
        return base
    lower = base.lower()
    if lower.endswith(layout.INFO_SUFFIX):
        return "info"
    if lower.endswith(layout.IMAGE_SUFFIXES):
        return "image"
    return None


def name_hash(base: str) -> int:
    """64 bits naming a base name within this process (``hash`` of a str: fast, and stable until exit)."""
    return hash(base)


class _ZipPlace:
    """One archive: its open file and, per indexed member, what reading it needs (no ZipInfo kept)."""

    def __init__(self, path: Path, archive: zipfile.ZipFile) -> None:
        self.path = path
        self.archive = archive
        self.prefixes: list[str] = []  # the folder part of member names, shared by many members
        self.prefix = array("I")
        self.header_offset = array("q")
        self.compress_size = array("q")
        self.file_size = array("q")
        self.crc = array("I")
        self.compress_type = array("H")
        self.flag_bits = array("H")
        self.others: dict[str, zipfile.ZipInfo] = {}  # the few unindexed members read (meta files)

    def add(self, info: zipfile.ZipInfo, base: str, prefix_ids: dict[str, int]) -> int:
        prefix = info.orig_filename[: len(info.orig_filename) - len(base)]
        if prefix not in prefix_ids:
            prefix_ids[prefix] = len(self.prefixes)
            self.prefixes.append(prefix)
        self.prefix.append(prefix_ids[prefix])
        self.header_offset.append(info.header_offset)
        self.compress_size.append(info.compress_size)
        self.file_size.append(info.file_size)
        self.crc.append(info.CRC)
        self.compress_type.append(info.compress_type)
        self.flag_bits.append(info.flag_bits)
        return len(self.prefix) - 1

    def name(self, row: int, base: str) -> str:
        return self.prefixes[self.prefix[row]] + base

    def info(self, row: int, base: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(self.name(row, base))
        info.header_offset = self.header_offset[row]
        info.compress_size = self.compress_size[row]
        info.file_size = self.file_size[row]
        info.CRC = self.crc[row]
        info.compress_type = self.compress_type[row]
        info.flag_bits = self.flag_bits[row]
        return info


class NameIndex:
    """The base names of one kind of file (info or image) -> where the first copy found lives.

    Built from (hash, place, row) triples in scan order; a name found again later is a duplicate.
    A look-up compares hashes only: a name the copy lacks is taken for one of its n files with a
    chance of n / 2**64 (one in two trillion at ten million files)."""

    def __init__(self, hashes: array, places: array, rows: array) -> None:
        h = np.frombuffer(hashes, dtype=np.int64)
        order = np.argsort(h, kind="stable")  # equal names keep scan order: the first found first
        h = h[order]
        first = np.ones(len(h), dtype=bool)
        first[1:] = h[1:] != h[:-1]
        self.duplicates = int(len(h) - first.sum())
        keep = order[first]
        self.hashes = h[first]
        self.places = np.frombuffer(places, dtype=np.uint16)[keep]
        self.rows = np.frombuffer(rows, dtype=np.uint32)[keep]

    @classmethod
    def of_hashes(cls, hashes: array) -> NameIndex:
        """An index of bare name hashes (places and rows unused), to test membership."""
        index = cls.__new__(cls)
        index.hashes = np.sort(np.frombuffer(hashes, dtype=np.int64))
        index.places = index.rows = np.zeros(0, dtype=np.uint32)
        index.duplicates = 0
        return index

    def __len__(self) -> int:
        return len(self.hashes)

    def find(self, base: str) -> int:
        """The entry of ``base``, or -1."""
        h = name_hash(base)
        i = int(np.searchsorted(self.hashes, h))
        return i if i < len(self.hashes) and int(self.hashes[i]) == h else -1

    def __contains__(self, base: str) -> bool:
        return self.find(base) >= 0

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """(n,) bool: which of the given name hashes are indexed."""
        i = np.minimum(np.searchsorted(self.hashes, hashes), max(len(self.hashes) - 1, 0))
        return (self.hashes[i] == hashes) if len(self.hashes) else np.zeros(len(hashes), dtype=bool)


class DatasetFiles:
    """Index of one dataset copy spread over folders and zip archives."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.meta: dict[str, Member] = {}
        self.archives: list[Path] = []
        self.duplicate_members = 0
        self._places: list[Path | _ZipPlace] = []  # folders (info/ or image/) and archives, in scan order
        self._zips: dict[Path, _ZipPlace] = {}
        self._scan: dict[str, tuple[array, array, array]] = {
            kind: (array("q"), array("H"), array("I")) for kind in _KINDS
        }
        self._lock = threading.Lock()
        for root in roots:
            root = Path(root)
            if root.is_dir():
                self._scan_folder(root, 0)
            elif root.is_file() and zipfile.is_zipfile(root):
                self._scan_zip(root)
            else:
                raise DatasetError(f"{root} is neither a dataset folder nor a zip archive")
        self.info = NameIndex(*self._scan.pop("info"))
        self.images = NameIndex(*self._scan.pop("image"))
        self.duplicate_members += self.info.duplicates + self.images.duplicates
        if self.duplicate_members:
            log.debug("%d files found twice (unpacked and in an archive); first kept", self.duplicate_members)

    # -- indexing ---------------------------------------------------------------------------------

    def _place(self, place: Path | _ZipPlace) -> int:
        if len(self._places) >= np.iinfo(np.uint16).max:
            raise DatasetError("more than 65535 folders and archives in one dataset copy")
        self._places.append(place)
        return len(self._places) - 1

    def _add(self, kind: str, base: str, place: int, row: int = 0) -> None:
        hashes, places, rows = self._scan[kind]
        hashes.append(name_hash(base))
        places.append(place)
        rows.append(row)

    def _add_meta(self, name: str, member: Member) -> None:
        if name in self.meta:
            self.duplicate_members += 1
            log.debug(
                "%s found twice (%s and %s); keeping the first",
                name,
                self.meta[name].location,
                member.location,
            )
            return
        self.meta[name] = member

    def _scan_file(self, path: Path, depth: int) -> None:
        """A file outside info/ and image/ folders (or one of their rare non-layout files)."""
        name = path.name
        if name.lower().endswith(".zip"):
            self._scan_zip(path)
        elif name.lower().endswith((".z01", ".001")):
            log.warning(
                "%s is one volume of a multi-volume archive; join the volumes into one "
                "zip first (e.g. `zip -s 0 %s --out joined.zip`)",
                path,
                path.name,
            )
        elif name in _META_FILES and depth <= _MAX_DEPTH:
            self._add_meta(name, Member(path))

    def _scan_folder(self, here: Path, depth: int) -> None:
        """Files first (sorted), then the folders below (sorted), down to ``_MAX_DEPTH``; an info/ or
        image/ folder is listed entry by entry and not descended into."""
        if here.name in (layout.INFO_DIR, layout.IMAGE_DIR):
            self._scan_layout_folder(here, depth)
            return
        with os.scandir(here) as entries:
            listed = sorted(entries, key=lambda e: e.name)
        for entry in listed:
            if not entry.is_dir():
                self._scan_file(Path(entry.path), depth)
        if depth >= _MAX_DEPTH:
            return
        for entry in listed:
            if entry.is_dir() and not entry.is_symlink():  # as os.walk: linked folders are not entered
                self._scan_folder(Path(entry.path), depth + 1)

    def _scan_layout_folder(self, here: Path, depth: int) -> None:
        place = self._place(here)
        others: list[Path] = []
        with os.scandir(here) as entries:
            for entry in entries:
                if entry.is_dir():
                    continue
                kind = _kind(entry.name)
                if kind in _KINDS:
                    self._add(kind, entry.name, place)
                else:
                    others.append(Path(entry.path))
        for path in sorted(others):
            self._scan_file(path, depth)

    def _scan_zip(self, path: Path) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            log.warning("%s is not a readable zip archive (%s); skipped", path, exc)
            return
        zipped = _ZipPlace(path, archive)
        place = self._place(zipped)
        self._zips[path] = zipped
        self.archives.append(path)
        prefix_ids: dict[str, int] = {}
        for info in archive.infolist():
            name = info.filename
            if name.endswith("/"):
                continue
            kind = _kind(name)
            base = name.rsplit("/", 1)[-1]
            if kind in _KINDS:
                if not info.orig_filename.endswith(base):
                    log.warning("%s: member %r has an odd name; skipped", path, info.orig_filename)
                    continue
                self._add(kind, base, place, zipped.add(info, base, prefix_ids))
            elif kind is not None:
                zipped.others[name] = info
                self._add_meta(kind, Member(path, name))
        # What reading needs is kept above; the archive's own per-member tables are dropped (opening
        # a member by a ZipInfo made from those fields does not consult them).
        archive.filelist = []
        archive.NameToInfo = {}

    # -- looking up -------------------------------------------------------------------------------

    def _member(self, index: NameIndex, entry: int, base: str) -> Member:
        place = self._places[int(index.places[entry])]
        if isinstance(place, _ZipPlace):
            return Member(place.path, place.name(int(index.rows[entry]), base))
        return Member(place / base)

    def info_member(self, base: str) -> Member | None:
        entry = self.info.find(base)
        return None if entry < 0 else self._member(self.info, entry, base)

    def image_member(self, base: str) -> Member | None:
        entry = self.images.find(base)
        return None if entry < 0 else self._member(self.images, entry, base)

    def locate(self, path: Path | str) -> Member:
        """The member behind a path the reader handed out (``Member.location``)."""
        path = Path(path)
        found = self.image_member(path.name) or self.info_member(path.name)
        if found is not None and found.location == path:
            return found
        if path.is_file():
            return Member(path)
        raise FileNotFoundError(f"{path} is neither a file nor a member of this dataset's archives")

    def info_names(self) -> Iterator[str]:
        """The base name of every info file kept, place by place: a folder's in name order, an
        archive's in its own order. A second listing of the places, for the examples of a report."""
        for number, place in enumerate(self._places):
            if isinstance(place, _ZipPlace):
                with zipfile.ZipFile(place.path) as archive:
                    names = (n.rsplit("/", 1)[-1] for n in archive.namelist() if _kind(n) == "info")
                    yield from (n for n in names if self._kept_at(n, number))
            else:
                with os.scandir(place) as entries:
                    names = sorted(e.name for e in entries if not e.is_dir() and _kind(e.name) == "info")
                yield from (n for n in names if self._kept_at(n, number))

    def _kept_at(self, base: str, place: int) -> bool:
        entry = self.info.find(base)
        return entry >= 0 and int(self.info.places[entry]) == place

    # -- reading ----------------------------------------------------------------------------------

    def _zip_info(self, member: Member) -> zipfile.ZipInfo:
        place = self._zips.get(member.path)
        name = member.member or ""
        if place is None:
            raise FileNotFoundError(f"{member.path} is not one of this dataset's archives")
        if name in place.others:
            return place.others[name]
        base = name.rsplit("/", 1)[-1]
        for index in (self.info, self.images):
            entry = index.find(base)
            if entry >= 0 and self._places[int(index.places[entry])] is place:
                row = int(index.rows[entry])
                if place.name(row, base) == name:
                    return place.info(row, base)
        raise KeyError(f"there is no item named {name!r} in the archive {member.path}")

    def read(self, member: Member) -> bytes:
        if member.member is None:
            return member.path.read_bytes()
        with self._lock:
            place = self._zips[member.path]
            with place.archive.open(self._zip_info(member)) as handle:
                return handle.read()

    def open_binary(self, member: Member):  # noqa: ANN201 - a binary file object
        """A binary stream of the file (a zip member is decompressed as it is read)."""
        if member.member is None:
            return member.path.open("rb")
        return self._zips[member.path].archive.open(self._zip_info(member))

    def read_text(self, member: Member) -> str:
        return self.read(member).decode("utf-8", errors="replace")

    def lines(self, member: Member) -> Iterable[str]:
        return self.read_text(member).splitlines()

    def close(self) -> None:
        with self._lock:
            for place in self._zips.values():
                place.archive.close()
            self._zips.clear()
