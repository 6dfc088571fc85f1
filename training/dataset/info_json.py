"""The post metadata file: an Instagram GraphQL post object, read into plain fields and written back.

Reading is tolerant of the variants seen in real copies: the object may be wrapped
(``{"graphql": {"shortcode_media": ...}}``, ``{"node": ...}``), comments are counted under
``edge_media_to_comment`` or ``edge_media_preview_comment`` (or ``edge_media_to_parent_comment``),
likes under ``edge_media_preview_like`` or ``edge_liked_by``. A file without a usable
``taken_at_timestamp`` is a malformed record: the reader counts it, it never guesses a time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from training.errors import RecordFormatError
from training.sponsorship.markers import brand_mentions, disclosure_markers

# Instagram hashtags: letters, digits and underscores after '#'. Stored lower-case, without '#',
# first occurrence kept. training.dataset.spark_reader mirrors this with (?U)#(\w+).
HASHTAG_PATTERN = r"#(\w+)"
_HASHTAG = re.compile(HASHTAG_PATTERN)


def extract_hashtags(caption: str) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for tag in _HASHTAG.findall(caption):
        seen.setdefault(tag.lower(), None)
    return tuple(seen)


@dataclass(frozen=True, slots=True)
class PostInfo:
    """What one post metadata file says: the post's fields, and the account that owns it."""

    record_fields: Mapping[str, Any]  # the PostRecord fields a file gives, by name: ts, caption...
    owner: str | None


def _unwrap(obj: Any) -> dict[str, Any]:
    for path in (("graphql", "shortcode_media"), ("data", "shortcode_media"), ("node",)):
        node = obj
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict):
            return node
    if not isinstance(obj, dict):
        raise RecordFormatError("not_an_object", f"expected a JSON object, got {type(obj).__name__}")
    return obj


def _edges(node: dict[str, Any], key: str) -> list[dict[str, Any]]:
    edges = (node.get(key) or {}).get("edges") if isinstance(node.get(key), dict) else None
    if not isinstance(edges, list):
        return []
    return [e.get("node") for e in edges if isinstance(e, dict) and isinstance(e.get("node"), dict)]


def _count(node: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        section = node.get(key)
        if isinstance(section, dict) and isinstance(section.get("count"), int):
            return int(section["count"])
    return None


def parse_post(raw: bytes | str) -> PostInfo:
    """One post metadata file -> PostInfo. Raises RecordFormatError(reason, detail) when unusable."""
    try:
        obj = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RecordFormatError("bad_json", str(exc)) from exc
    node = _unwrap(obj)
    ts_raw = node.get("taken_at_timestamp")
    if isinstance(ts_raw, bool) or not isinstance(ts_raw, int | float):
        raise RecordFormatError("no_timestamp", f"taken_at_timestamp is {ts_raw!r}")
    caption = "\n".join(str(n.get("text") or "") for n in _edges(node, "edge_media_to_caption"))
    usertags = tuple(
        str(n["user"]["username"])
        for n in _edges(node, "edge_media_to_tagged_user")
        if isinstance(n.get("user"), dict) and n["user"].get("username")
    )
    sponsors = tuple(
        dict.fromkeys(
            str(n["sponsor"]["username"]).lower()
            for n in _edges(node, "edge_media_to_sponsor_user")
            if isinstance(n.get("sponsor"), dict) and n["sponsor"].get("username")
        )
    )
    owner = node.get("owner")
    access = node.get("accessibility_caption")
    hashtags = extract_hashtags(caption)
    record_fields = {
        "ts": datetime.fromtimestamp(ts_raw, tz=UTC),
        "caption": caption,
        "hashtags": hashtags,
        "usertags": usertags,
        "likes": _count(node, "edge_media_preview_like", "edge_liked_by"),
        "comments": _count(
            node, "edge_media_to_comment", "edge_media_preview_comment", "edge_media_to_parent_comment"
        ),
        "sponsored": bool(_edges(node, "edge_media_to_sponsor_user"))
        or node.get("is_paid_partnership") is True,
        "is_video": node.get("is_video") is True,
        "accessibility_caption": str(access) if isinstance(access, str) else None,
        "sponsors": sponsors,
        "mentions": brand_mentions(usertags, caption),
        "disclosures": disclosure_markers(caption, hashtags),
    }
    has_owner = isinstance(owner, dict) and owner.get("username")
    return PostInfo(record_fields, owner=str(owner["username"]) if has_owner else None)


def build_post(
    *,
    post_id: str,
    shortcode: str,
    owner: str,
    owner_id: str,
    ts: datetime,
    caption: str,
    usertags: tuple[str, ...],
    likes: int,
    comments: int,
    sponsor: str | None,
    is_video: bool,
    image_count: int,
    image_size: int,
    accessibility_caption: str | None,
    comment_key: str = "edge_media_to_comment",
) -> dict[str, Any]:
    """A GraphQL post object shaped like the public files (the fields parse_post reads, and context)."""
    typename = "GraphVideo" if is_video else ("GraphSidecar" if image_count > 1 else "GraphImage")
    node: dict[str, Any] = {
        "__typename": typename,
        "id": post_id,
        "shortcode": shortcode,
        "dimensions": {"height": image_size, "width": image_size},
        "display_url": f"https://scontent.cdninstagram.com/{shortcode}.jpg",
        "accessibility_caption": accessibility_caption,
        "is_video": is_video,
        "edge_media_to_tagged_user": {
            "edges": [{"node": {"user": {"username": u}, "x": 0.5, "y": 0.5}} for u in usertags]
        },
        "edge_media_to_caption": {"edges": [{"node": {"text": caption}}] if caption else []},
        "caption_is_edited": False,
        comment_key: {"count": comments, "edges": []},
        "comments_disabled": False,
        "taken_at_timestamp": int(ts.timestamp()),
        "edge_media_preview_like": {"count": likes, "edges": []},
        "edge_media_to_sponsor_user": {
            "edges": [{"node": {"sponsor": {"username": sponsor}}}] if sponsor else []
        },
        "location": None,
        "owner": {"id": owner_id, "username": owner},
        "is_ad": False,
    }
    if is_video:
        node["video_view_count"] = likes * 4
    return node
