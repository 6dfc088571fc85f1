"""A tiny dataset copy in the exact public layout, with every defect real copies have.

influencers.txt   header, a '=====' separator line, labels 'fasion' and 'pets', an unknown label
                  ('astrology'), a repeated username, a row with too few fields
mapping           header, a repeated row, a repeated post with an extra image, a multi-image post,
                  a broken image list, a row with one field, an influencer not in influencers.txt
info/             alice's posts unpacked; bob's and carol's only inside two zip parts;
                  one post with no metadata file, one with bad JSON, one without a timestamp,
                  one wrapped as {"graphql": {"shortcode_media": ...}} with preview comments;
                  a paid-partnership tag (alice 102), disclosure markers in German (bob 202) and
                  English (carol 301)
image/            two mapped images missing
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from training.dataset.info_json import build_post

T0 = datetime(2019, 3, 1, 12, 0, tzinfo=UTC)
JPEG = b"\xff\xd8\xff\xe0fake-jpeg-bytes\xff\xd9"


def _info(owner: str, post_id: str, day: int, caption: str, **kw: object) -> dict:
    defaults: dict = dict(
        post_id=post_id,
        shortcode=f"sc{post_id}",
        owner=owner,
        owner_id="1",
        ts=T0.replace(day=day),
        caption=caption,
        usertags=(),
        likes=10,
        comments=2,
        sponsor=None,
        is_video=False,
        image_count=1,
        image_size=64,
        accessibility_caption=None,
    )
    defaults.update(kw)
    return build_post(**defaults)


@dataclass(frozen=True)
class DefectCopy:
    root: Path  # the folder (info partly zipped inside it)
    jpeg: bytes = JPEG  # the bytes of every image written


def write_defect_copy(root: Path) -> DefectCopy:
    (root / "info").mkdir(parents=True)
    (root / "image").mkdir()
    (root / "influencers.txt").write_text(
        "Username\tCategory\t#Followers\t#Followees\t#Posts\n"
        "=============================================\n"
        "alice\tbeauty\t1,432\t1089\t363\n"
        "bob\tfasion\t50000\t300\t1200\n"
        "carol\tpets\t800\t20\t90\n"
        "dave\tfood\t12\t5\t4\n"
        "erin\tastrology\t100\t100\t100\n"
        "alice\tbeauty\t1\t1\t1\n"
        "broken\tfood\n"
    )
    (root / "JSON-Image_files_mapping.txt").write_text(
        "influencer_name\tJSON_PostMetadata_file_name\tImage_file_name\n"
        "alice\t101.info\t['101.jpg']\n"
        "alice\t102.info\t['102.jpg', '102_1.jpg', '102_2.jpg']\n"
        "alice\t103.info\t['103.jpg']\n"
        "alice\t101.info\t['101.jpg']\n"
        "bob\t201.info\t['201.jpg']\n"
        "bob\t202.info\t['202.jpg']\n"
        "bob\t202.info\t['202.jpg', '202_1.jpg']\n"
        "carol\t301.info\t['301.jpg']\n"
        "carol\t302.info\t['302.jpg']\n"
        "dave\t401.info\t['401.jpg']\n"
        "dave\t402.info\t['402.jpg'\n"
        "frank\t501.info\t['501.jpg']\n"
        "onlyonefield\n"
    )
    info = {
        "alice-101.info": _info("alice", "101", 3, "Morning glow #Makeup #skincare #makeup"),
        "alice-102.info": _info(
            "alice",
            "102",
            1,
            "Three looks @brand",
            usertags=("brand", "friend"),
            image_count=3,
            sponsor="Brand",
            likes=500,
            comments=40,
        ),
        "alice-103.info": _info("alice", "103", 2, "", accessibility_caption="Photo of a lipstick"),
        "frank-501.info": _info("frank", "501", 9, "unlisted #misc"),
        "dave-401.info": "{not json",
        "dave-402.info": json.dumps({"id": "402", "edge_media_to_caption": {"edges": []}}),
    }
    zipped = {
        "info_part1.zip": {
            "bob-201.info": {
                "graphql": {
                    "shortcode_media": {
                        **_info("bob", "201", 5, "Fit check #OOTD", comments=0),
                    }
                }
            },
            "bob-202.info": _info(
                "bob",
                "202",
                4,
                "Street style, bezahlte Partnerschaft mit @Levis #Werbung",
                is_video=True,
                image_count=2,
                comment_key="edge_media_preview_comment",
                comments=7,
            ),
        },
        "info_part2.zip": {
            "carol-301.info": _info("carol", "301", 6, "Good boy #dog #Ad thanks @chewy."),
        },
    }
    for name, obj in info.items():
        text = obj if isinstance(obj, str) else json.dumps(obj)
        (root / "info" / name).write_text(text)
    for archive, members in zipped.items():
        with zipfile.ZipFile(root / archive, "w") as zf:
            for name, obj in members.items():
                zf.writestr(f"info/{name}", json.dumps(obj))
    for name in ["101", "102", "102_2", "201", "202", "202_1", "301", "302", "401", "402", "501"]:
        (root / "image" / f"{_owner(name)}-{name}.jpg").write_bytes(JPEG)
    return DefectCopy(root)


def _owner(image: str) -> str:
    return {"1": "alice", "2": "bob", "3": "carol", "4": "dave", "5": "frank"}[image[0]]


@pytest.fixture
def defect_copy(tmp_path: Path) -> DefectCopy:
    return write_defect_copy(tmp_path / "copy")
