"""Read a copy of the Instagram influencer dataset (or a synthetic world in its layout) into records.

    with open_dataset("data/world") as ds:
        ds.report.posts_missing_metadata
        for post in ds.iter_posts(["some_user"]):
            image_bytes = ds.read_image(post.image_paths[0])

The copy may be a folder, a zip of the folder, or a folder whose ``info/`` is left zipped in parts
(several paths may be given; they are read as one copy). Every defect is counted in ``ds.report``
and warned about once per kind; a post without readable metadata is never yielded, but always counted.

``open_dataset(path, influencers=names)`` reads the copy as if it held only those influencers: the
lists and the post iteration leave the others out, so their posts are never read (the index and
``ds.report`` still cover the whole copy: they are built from file names and the mapping alone).
"""

from __future__ import annotations

import logging
from array import array
from collections.abc import Collection, Iterable, Iterator, Sequence
from pathlib import Path
from types import TracebackType

import numpy as np

from training.dataset import layout
from training.dataset.archive import WORLD_META_FILE, DatasetFiles, Member, NameIndex, name_hash
from training.dataset.info_json import parse_post
from training.dataset.mapping import MappedPost, merge_rows, parse_influencers
from training.dataset.mapping_index import MappingIndex
from training.dataset.records import InfluencerRecord, PostRecord
from training.dataset.report import DatasetReport, Examples
from training.errors import DatasetError, RecordFormatError

log = logging.getLogger(__name__)

PathLike = str | Path


class InstagramDataset:
    """One dataset copy, indexed on open (compactly: memory grows with influencers and files, a few
    bytes a file); posts are resolved and parsed lazily, one influencer at a time. With
    ``influencers``, only those are listed and read (see the module's docstring)."""

    def __init__(self, files: DatasetFiles, influencers: Collection[str] | None = None) -> None:
        self.files = files
        self._only = None if influencers is None else frozenset(influencers)
        self.report = DatasetReport(
            archives=[str(p) for p in files.archives], duplicate_members=files.duplicate_members
        )
        for name in (layout.INFLUENCERS_FILE, layout.MAPPING_FILE):
            if name not in files.meta:
                raise DatasetError(f"no {name} found; is this a copy of the influencer dataset?")
        self._influencers = parse_influencers(files.lines(files.meta[layout.INFLUENCERS_FILE]), self.report)
        self._labels = {r.username: r.category for r in self._influencers}
        self._mapping = MappingIndex(files.open_binary(files.meta[layout.MAPPING_FILE]), self.report)
        self._bad_posts: set[tuple[str, str]] = set()
        self._check_references()

    def _check_references(self) -> None:
        """Counts that need only the index, one influencer's rows at a time: merged rows, missing
        metadata and images, unlisted influencers, metadata files no row names."""
        report, files = self.report, self.files
        unlisted = [name for name in self._mapping.influencers if name not in self._labels]
        no_posts = [r.username for r in self._influencers if r.username not in self._mapping]
        broken, duplicates = Examples(by_line=True), Examples(by_line=True)
        missing_info, missing_images = Examples(), Examples()
        mapped_info = array("q")
        for influencer in self._mapping.influencers:
            merged = merge_rows(self._mapping.rows_of(influencer))
            broken.extend((n, f"line {n}") for n in merged.broken_lists)
            duplicates.extend(merged.duplicates)
            info_names = [layout.info_member_name(influencer, p.json_name) for p in merged.posts]
            mapped_info.extend(name_hash(n) for n in info_names)
            missing_info.extend(_absent(info_names, files.info))
            images = [layout.image_member_name(influencer, i) for p in merged.posts for i in p.image_names]
            missing_images.extend(_absent(images, files.images))
            report.posts_mapped += len(merged.posts)
            report.images_mapped += len(images)
            report.multi_image_posts += sum(len(p.image_names) > 1 for p in merged.posts)
        report.bad_image_lists = broken.count
        report.duplicate_mapping_rows = duplicates.count
        named = NameIndex.of_hashes(mapped_info).contains(files.info.hashes)  # (info files,) bool
        del mapped_info
        report.influencers_unlisted = len(unlisted)
        report.influencers_without_posts = len(no_posts)
        report.posts_missing_metadata = missing_info.count
        report.posts = report.posts_mapped - missing_info.count
        report.images_missing = missing_images.count
        report.info_unmapped = int(len(named) - named.sum())
        unmapped = Examples()
        if report.info_unmapped:  # the names, for the warning: a second listing, only in this case
            unnamed = set(files.info.hashes[~named].tolist())
            for name in files.info_names():
                if name_hash(name) in unnamed:
                    unmapped.extend([name])
                    if len(unmapped.examples) == Examples.KEEP:
                        break
        report.warn(
            "bad_image_lists",
            broken.count,
            "mapping rows have a broken image list; quoted names were salvaged",
            broken.examples,
        )
        report.warn(
            "duplicate_mapping_rows",
            duplicates.count,
            "mapping rows repeat an earlier post and were merged into it",
            duplicates.examples,
        )
        report.warn(
            "influencers_unlisted",
            len(unlisted),
            "influencers have posts but no row in influencers.txt (label None)",
            unlisted,
        )
        report.warn(
            "influencers_without_posts",
            len(no_posts),
            "influencers of influencers.txt have no mapped posts",
            no_posts,
        )
        report.warn(
            "posts_missing_metadata",
            missing_info.count,
            "mapped posts have no metadata file and are not read",
            missing_info.examples,
        )
        report.warn(
            "images_missing",
            missing_images.count,
            "mapped images are missing; their posts keep the images that exist",
            missing_images.examples,
        )
        report.warn(
            "info_unmapped",
            report.info_unmapped,
            "metadata files are named by no mapping row and are not read",
            unmapped.examples,
        )
        report.warn(
            "duplicate_members",
            report.duplicate_members,
            "files exist both unpacked and in an archive (or in two archives); first kept",
        )

    # -- the public API ---------------------------------------------------------------------------

    def influencers(self) -> list[InfluencerRecord]:
        """influencers.txt in file order, labels canonical (rows with unknown labels are counted)."""
        return [r for r in self._influencers if self._kept(r.username)]

    def usernames(self) -> list[str]:
        """Every influencer with posts: those of influencers.txt first, in file order, then the rest."""
        listed = [r.username for r in self._influencers if r.username in self._mapping]
        names = listed + [name for name in self._mapping.influencers if name not in self._labels]
        return [name for name in names if self._kept(name)]

    def iter_posts(self, usernames: Iterable[str] | None = None) -> Iterator[PostRecord]:
        """Posts grouped by influencer (in ``usernames`` order, default ``self.usernames()``), each
        influencer's posts in time order (ties by post id). Influencers left out by the copy's
        ``influencers`` filter are skipped, unread."""
        names = self.usernames() if usernames is None else list(usernames)
        outside = [name for name in names if not self._kept(name)]
        if outside:
            log.warning(
                "%d requested influencers are outside the influencers this copy was opened with "
                "(e.g. %s); they are not read",
                len(outside),
                ", ".join(outside[:3]),
            )
            names = [name for name in names if self._kept(name)]
        unknown = [name for name in names if name not in self._mapping]
        if unknown:
            log.warning(
                "%d requested influencers have no posts in this copy (e.g. %s)",
                len(unknown),
                ", ".join(unknown[:3]),
            )
        for name in names:
            posts = merge_rows(self._mapping.rows_of(name)).posts
            records = [r for r in (self._read_post(name, p) for p in posts) if r]
            records.sort(key=lambda r: (r.ts, r.post_id))
            yield from records

    def posts_of(self, username: str) -> list[PostRecord]:
        return list(self.iter_posts([username]))

    def _kept(self, username: str) -> bool:
        return self._only is None or username in self._only

    def read_image(self, path: PathLike) -> bytes:
        """The bytes of an image a PostRecord names, from disk or straight from its archive."""
        return self.files.read(self.files.locate(path))

    def read_meta_file(self, name: str = WORLD_META_FILE) -> bytes | None:
        """A top-level file of the copy (e.g. a synthetic world's ``world.json``), None if absent."""
        member = self.files.meta.get(name)
        return None if member is None else self.files.read(member)

    # -- one post ---------------------------------------------------------------------------------

    def _read_post(self, influencer: str, post: MappedPost) -> PostRecord | None:
        info = self.files.info_member(layout.info_member_name(influencer, post.json_name))
        if info is None:
            return None  # counted as posts_missing_metadata when the copy was opened
        try:
            meta = parse_post(self.files.read(info))
        except RecordFormatError as exc:
            self._count_bad(influencer, post, info, exc.reason, exc.detail)
            return None
        except OSError as exc:
            self._count_bad(influencer, post, info, "unreadable", str(exc))
            return None
        if meta.owner is not None and meta.owner != influencer:
            self.report.owner_mismatches += 1
            log.debug(
                "%s: owner %r differs from the mapping's %r; the mapping wins",
                info.location,
                meta.owner,
                influencer,
            )
        found = (self.files.image_member(layout.image_member_name(influencer, n)) for n in post.image_names)
        images = tuple(m.location for m in found if m is not None)
        return PostRecord(
            influencer=influencer,
            label=self._labels.get(influencer),
            post_id=post.post_id,
            image_paths=images,
            **meta.record_fields,
        )

    def _count_bad(self, influencer: str, post: MappedPost, info: Member, reason: str, detail: str) -> None:
        key = (influencer, post.json_name)
        if key in self._bad_posts:
            return
        self._bad_posts.add(key)
        self.report.bad_metadata(reason)
        message = f"posts_bad_metadata: {info.location} skipped ({reason}: {detail})"
        if len(self._bad_posts) <= 10:
            log.warning(message)
            self.report.warnings.append(message)
        elif len(self._bad_posts) == 11:
            log.warning("posts_bad_metadata: more unreadable metadata files; see the report's counts")

    # -- lifetime ---------------------------------------------------------------------------------

    def close(self) -> None:
        self._mapping.close()
        self.files.close()

    def __enter__(self) -> InstagramDataset:
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.close()


def _absent(names: list[str], index: NameIndex) -> list[str]:
    """The names the index does not hold, in order (one vectorised look-up for them all)."""
    hashes = np.fromiter((name_hash(n) for n in names), np.int64, len(names))
    return [name for name, ok in zip(names, index.contains(hashes), strict=True) if not ok]


def open_dataset(
    path: PathLike | Sequence[PathLike], influencers: Collection[str] | None = None
) -> InstagramDataset:
    """Open a dataset folder, a zip of it, or several paths read as one copy (e.g. a folder plus
    the zipped ``info`` parts kept elsewhere). Raises DatasetError if the layout files are absent.
    ``influencers``: read only these (e.g. a sample, ``training.dataset.sample``)."""
    roots = [Path(path)] if isinstance(path, str | Path) else [Path(p) for p in path]
    if not roots:
        raise DatasetError("open_dataset needs at least one folder or archive")
    for root in roots:
        if not root.exists():
            raise DatasetError(f"{root} does not exist")
    return InstagramDataset(DatasetFiles(roots), influencers)
