from __future__ import annotations

import json
import logging
import shutil
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from training.dataset.reader import open_dataset
from training.errors import DatasetError


def test_defect_copy_counts(defect_copy, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING), open_dataset(defect_copy.root) as ds:
        report = ds.report
        assert [r.username for r in ds.influencers()] == ["alice", "bob", "carol", "dave"]
        assert report.by_category == {
            "beauty": 1,
            "family": 0,
            "fashion": 1,
            "fitness": 0,
            "food": 1,
            "interior": 0,
            "pet": 1,
            "travel": 0,
            "other": 0,
        }
        assert report.label_fixes == {"fasion": "fashion", "pets": "pet"}
        assert report.separator_lines == 1
        assert report.bad_influencer_rows == 1
        assert report.duplicate_influencers == 1
        assert report.unknown_labels == {"astrology": 1}
        assert report.mapping_rows == 13
        assert report.bad_mapping_rows == 1
        assert report.bad_image_lists == 1
        assert report.duplicate_mapping_rows == 2
        assert report.posts_mapped == 10
        assert report.posts_missing_metadata == 1
        assert report.influencers_unlisted == 1
        assert report.images_mapped == 13
        assert report.images_missing == 2
        assert report.multi_image_posts == 2
        assert len(report.archives) == 2
        assert report.posts == 9  # bad metadata is only known once read
        posts = list(ds.iter_posts())
        assert report.posts == 7 == len(posts)
        assert report.posts_bad_metadata == {"bad_json": 1, "no_timestamp": 1}
        list(ds.iter_posts())  # a second pass counts nothing twice
        assert report.posts == 7
    kinds = {w.split(":")[0] for w in report.warnings}
    assert {
        "label_fixes",
        "unknown_labels",
        "duplicate_mapping_rows",
        "bad_image_lists",
        "posts_missing_metadata",
        "images_missing",
        "influencers_unlisted",
        "posts_bad_metadata",
        "bad_influencer_rows",
        "bad_mapping_rows",
    } <= kinds
    assert "posts_missing_metadata: 1 mapped posts" in caplog.text


def test_posts_grouped_in_time_order_with_fields(defect_copy) -> None:
    with open_dataset(defect_copy.root) as ds:
        posts = list(ds.iter_posts())
        assert [(p.influencer, p.post_id) for p in posts] == [
            ("alice", "102"),
            ("alice", "103"),
            ("alice", "101"),
            ("bob", "202"),
            ("bob", "201"),
            ("carol", "301"),
            ("frank", "501"),
        ]
        by_id = {p.post_id: p for p in posts}
        a101, a102, a103 = by_id["101"], by_id["102"], by_id["103"]
        assert a101.hashtags == ("makeup", "skincare")
        assert a101.ts == datetime(2019, 3, 3, 12, 0, tzinfo=UTC)
        assert a101.label == "beauty" and not a101.sponsored and a101.likes == 10 and a101.comments == 2
        assert a102.usertags == ("brand", "friend") and a102.sponsored
        assert [p.name for p in a102.image_paths] == ["alice-102.jpg", "alice-102_2.jpg"]
        assert a103.image_paths == () and a103.caption == "" and a103.hashtags == ()
        assert a103.accessibility_caption == "Photo of a lipstick"
        # from the zip parts: a wrapped GraphQL object, preview comments, a video
        assert by_id["201"].label == "fashion" and by_id["201"].hashtags == ("ootd",)
        assert by_id["201"].comments == 0
        assert by_id["202"].is_video and by_id["202"].comments == 7
        assert [p.name for p in by_id["202"].image_paths] == ["bob-202.jpg", "bob-202_1.jpg"]
        assert by_id["301"].label == "pet"
        # sponsorship: the paid-partnership tag, the brands named, the disclosure markers
        assert (a102.sponsors, a102.mentions, a102.disclosures) == (("brand",), ("brand", "friend"), ())
        assert (by_id["202"].sponsors, by_id["202"].mentions) == ((), ("levis",)) and not by_id[
            "202"
        ].sponsored
        assert by_id["202"].disclosures == ("#werbung", "bezahlte partnerschaft")
        assert (by_id["301"].mentions, by_id["301"].disclosures) == (("chewy",), ("#ad",))
        assert (a101.sponsors, a101.mentions, a101.disclosures) == ((), (), ())
        assert by_id["501"].label is None
        assert ds.read_image(a102.image_paths[0]) == defect_copy.jpeg
        assert [p.post_id for p in ds.iter_posts(["carol", "alice"])] == ["301", "102", "103", "101"]


def test_everything_zipped(defect_copy, tmp_path: Path) -> None:
    """The whole folder as one archive (nested under a top folder) reads the same, images included."""
    archive = tmp_path / "copy.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(defect_copy.root.rglob("*")):
            if path.is_file() and path.suffix != ".zip":
                zf.write(path, f"top/{path.relative_to(defect_copy.root)}")
            elif path.suffix == ".zip":
                with zipfile.ZipFile(path) as part:
                    for name in part.namelist():
                        zf.writestr(f"top/{name}", part.read(name))
    with open_dataset(defect_copy.root) as folder, open_dataset(archive) as zipped:
        a, b = list(folder.iter_posts()), list(zipped.iter_posts())
        assert [(p.post_id, p.caption, p.ts, p.hashtags) for p in a] == [
            (p.post_id, p.caption, p.ts, p.hashtags) for p in b
        ]
        assert str(b[0].image_paths[0]).startswith(str(archive))
        assert zipped.read_image(b[0].image_paths[0]) == defect_copy.jpeg
        assert zipped.report.images_missing == folder.report.images_missing


def test_info_parts_kept_elsewhere(defect_copy, tmp_path: Path) -> None:
    parts = tmp_path / "parts"
    parts.mkdir()
    for part in defect_copy.root.glob("*.zip"):
        shutil.move(part, parts / part.name)
    with open_dataset(defect_copy.root) as alone:
        assert alone.report.posts_missing_metadata == 4
    with open_dataset([defect_copy.root, *sorted(parts.glob("*.zip"))]) as joined:
        assert joined.report.posts_missing_metadata == 1


def test_not_a_dataset(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="influencers.txt"):
        open_dataset(tmp_path)
    with pytest.raises(DatasetError, match="does not exist"):
        open_dataset(tmp_path / "nope")


def _report_counts(report: dict) -> dict:
    return {k: v for k, v in report.items() if k not in ("warnings", "archives")}


def test_rows_of_one_influencer_spread_over_the_mapping(defect_copy, tmp_path: Path) -> None:
    """Rows interleaved across influencers (and CRLF line ends) read as the grouped file does: the
    same posts per influencer, the same counts, warnings quoting lines in file order."""
    mapping = defect_copy.root / "JSON-Image_files_mapping.txt"
    with open_dataset(defect_copy.root) as ds:
        grouped = {name: [repr(p) for p in ds.iter_posts([name])] for name in ds.usernames()}
        counts = _report_counts(ds.report.to_json())
    header, *rows = mapping.read_text().splitlines()
    # every influencer's rows apart; bob's repeated row now comes before alice's
    spread = [rows[i] for i in (5, 0, 7, 6, 1, 9, 2, 3, 4, 8, 10, 11, 12)]
    mapping.write_bytes(("\r\n".join([header, *spread]) + "\r\n").encode())
    with open_dataset(defect_copy.root) as ds:
        assert ds._mapping.runs > len(ds.usernames())
        assert {name: [repr(p) for p in ds.iter_posts([name])] for name in ds.usernames()} == grouped
        assert _report_counts(ds.report.to_json()) == counts
        seen, repeats = set(), []  # the rows that repeat a post, in the new file order
        for row in spread:
            key = tuple(row.split("\t")[:2])
            if key in seen:
                repeats.append("/".join(key))
            seen.add(key)
        assert repeats == ["bob/202.info", "alice/101.info"]
        duplicates = next(w for w in ds.report.warnings if w.startswith("duplicate_mapping_rows"))
        assert duplicates.endswith(f"(e.g. {', '.join(repeats)})")


def test_files_found_twice_and_metadata_no_row_names(defect_copy) -> None:
    """A second copy of a file counts once and the first found is read (a folder's own files, the
    archive here, before its sub-folders); metadata files no row names are counted and named."""
    root = defect_copy.root
    (root / "info" / "zed-999.info").write_text("{}")
    info = json.loads((root / "info" / "alice-101.info").read_text())
    info["edge_media_to_caption"]["edges"][0]["node"]["text"] = "Zipped glow"
    with zipfile.ZipFile(root / "extra.zip", "w") as zf:
        zf.writestr("copy/info/alice-101.info", json.dumps(info))
        zf.writestr("copy/info/yy-1.info", "{}")
        zf.writestr("copy/image/alice-101.jpg", b"other bytes")
    with open_dataset(root) as ds:
        assert ds.report.duplicate_members == 2
        assert ds.report.info_unmapped == 2
        unmapped = next(w for w in ds.report.warnings if w.startswith("info_unmapped"))
        assert "yy-1.info, zed-999.info" in unmapped
        alice = {p.post_id: p for p in ds.iter_posts(["alice"])}
        assert alice["101"].caption == "Zipped glow"
        assert alice["101"].image_paths[0] == root / "extra.zip" / "copy/image/alice-101.jpg"
        assert ds.read_image(alice["101"].image_paths[0]) == b"other bytes"
        assert len(list(ds.iter_posts())) == ds.report.posts == 7
