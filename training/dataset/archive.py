"""Where the files of a dataset copy live: plain folders, zip archives, or both at once.

The public copy ships ``info/`` zipped in parts; people unzip some parts and not others, or zip the
whole folder. ``DatasetFiles`` indexes every place once, by base name (names carry the username, so
they are unique), and reads a file from wherever it is, straight from the zip when it is a member.
"""

from __future__ import annotations

import logging
import os
import threading
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from training.dataset import layout
from training.errors import DatasetError

log = logging.getLogger(__name__)

WORLD_META_FILE = "world.json"
_META_FILES = (layout.INFLUENCERS_FILE, layout.MAPPING_FILE, WORLD_META_FILE)
_MAX_DEPTH = 3  # how deep below a root folder to look for info/, image/ and archives


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


class DatasetFiles:
    """Index of one dataset copy spread over folders and zip archives."""

    def __init__(self, roots: Sequence[Path]) -> None:
        self.meta: dict[str, Member] = {}
        self.info: dict[str, Member] = {}
        self.images: dict[str, Member] = {}
        self.archives: list[Path] = []
        self.duplicate_members = 0
        self._zips: dict[Path, zipfile.ZipFile] = {}
        self._lock = threading.Lock()
        for root in roots:
            root = Path(root)
            if root.is_dir():
                self._scan_folder(root)
            elif root.is_file() and zipfile.is_zipfile(root):
                self._scan_zip(root)
            else:
                raise DatasetError(f"{root} is neither a dataset folder nor a zip archive")

    # -- indexing ---------------------------------------------------------------------------------

    def _add(self, kind: str, base: str, member: Member) -> None:
        table = self.info if kind == "info" else self.images if kind == "image" else self.meta
        if base in table:
            self.duplicate_members += 1
            log.debug(
                "%s found twice (%s and %s); keeping the first", base, table[base].location, member.location
            )
            return
        table[base] = member

    def _scan_folder(self, root: Path) -> None:
        for dirpath, dirnames, filenames in os.walk(root):
            here = Path(dirpath)
            depth = len(here.relative_to(root).parts)
            for name in sorted(filenames):
                path = here / name
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
                    self._add(name, name, Member(path))
                elif here.name in (layout.INFO_DIR, layout.IMAGE_DIR):
                    kind = _kind(name)
                    if kind in ("info", "image"):
                        self._add(kind, name, Member(path))
            dirnames.sort()
            if depth >= _MAX_DEPTH or here.name in (layout.INFO_DIR, layout.IMAGE_DIR):
                dirnames.clear()

    def _scan_zip(self, path: Path) -> None:
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            log.warning("%s is not a readable zip archive (%s); skipped", path, exc)
            return
        self._zips[path] = archive
        self.archives.append(path)
        for name in archive.namelist():
            if name.endswith("/"):
                continue
            kind = _kind(name)
            if kind is not None:
                self._add(kind, name.rsplit("/", 1)[-1], Member(path, name))

    # -- reading ----------------------------------------------------------------------------------

    def read(self, member: Member) -> bytes:
        if member.member is None:
            return member.path.read_bytes()
        with self._lock:
            return self._zips[member.path].read(member.member)

    def read_text(self, member: Member) -> str:
        return self.read(member).decode("utf-8", errors="replace")

    def locate(self, path: Path | str) -> Member:
        """The member behind a path the reader handed out (``Member.location``)."""
        path = Path(path)
        found = self.images.get(path.name) or self.info.get(path.name)
        if found is not None and found.location == path:
            return found
        if path.is_file():
            return Member(path)
        raise FileNotFoundError(f"{path} is neither a file nor a member of this dataset's archives")

    def lines(self, member: Member) -> Iterable[str]:
        return self.read_text(member).splitlines()

    def close(self) -> None:
        with self._lock:
            for archive in self._zips.values():
                archive.close()
            self._zips.clear()
