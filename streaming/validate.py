"""Validation of one raw post event (the Kafka value bytes): a typed post, or a reason to dead-letter it.

Pure: no Kafka, no Spark, no file reads (an ``image_uri`` is only resolved, to keep it inside the
allowed roots; whether the image decodes is the embed stage's business). Structure is checked with
the event's JSON Schema (streaming/events/post_event.schema.json); the limits that come from
configuration are checked explicitly. Each failure raises EventValidationError(reason, detail) with
one of the REASONS codes; the first problem found wins, in this order:

    oversized_event, bad_json, not_an_object, unsupported_schema,
    missing_field, wrong_type, empty_post_id, empty_influencer, no_image, both_images,
    post_id_too_long, post_id_forbidden_char, influencer_too_long, influencer_forbidden_char,
    bad_timestamp, caption_too_long, too_many_hashtags, bad_base64, image_too_large,
    image_uri_too_long, image_uri_outside_roots

Derived (streaming.events.post_fields): ``mentions``, the accounts the post names (its user tags
and the caption's @mentions), and ``disclosures``, its disclosure markers (#ad, "paid partnership",
...), both found by training.sponsorship.markers; ``sponsors`` are kept normalised as ``accounts``
does; the post is ``disclosed`` when it has sponsors, ``sponsored`` is true or it has a marker.

Names (streaming.limits): ``influencer`` is the Kafka key, the state key, the FAISS id and a page
label, ``post_id`` is published in profiles; each is at most INFLUENCER_MAX_CHARS / POST_ID_MAX_CHARS
code points and holds no control, format (bidirectional overrides and isolates, zero-width), surrogate,
private-use or line/paragraph separator character. Instagram usernames always pass.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from streaming.config import JobSettings
from streaming.errors import EventValidationError
from streaming.events import SCHEMA_VERSION, load_schema
from streaming.events.post_fields import ValidPost
from streaming.limits import (
    DEFAULT_MAX_EVENT_BYTES,
    FORBIDDEN_NAME_CATEGORIES,
    IMAGE_URI_MAX_CHARS,
    INFLUENCER_MAX_CHARS,
    POST_BRANDS_MAX,
    POST_ID_MAX_CHARS,
    base64_max_bytes,
)
from training.sponsorship.markers import brand_mentions, disclosure_markers

REASONS: tuple[str, ...] = (
    "oversized_event",
    "bad_json",
    "not_an_object",
    "unsupported_schema",
    "missing_field",
    "wrong_type",
    "empty_post_id",
    "empty_influencer",
    "no_image",
    "both_images",
    "post_id_too_long",
    "post_id_forbidden_char",
    "influencer_too_long",
    "influencer_forbidden_char",
    "bad_timestamp",
    "caption_too_long",
    "too_many_hashtags",
    "bad_base64",
    "image_too_large",
    "image_uri_too_long",
    "image_uri_outside_roots",
)
_PRIORITY = {reason: rank for rank, reason in enumerate(REASONS)}
_WHITESPACE = re.compile(rb"\s+")
# Event times the job accepts (nanosecond timestamps downstream end in 2262).
TS_RANGE = (datetime(1970, 1, 1, tzinfo=UTC), datetime(2200, 1, 1, tzinfo=UTC))


@dataclass(frozen=True)
class ValidationLimits:
    """The configured limits; ``image_roots`` are kept resolved (symlinks and ``..`` removed)."""

    max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES
    max_caption_chars: int = 5000
    max_hashtags: int = 60
    max_image_bytes: int = 5_000_000
    image_roots: tuple[str, ...] = ()

    @classmethod
    def from_settings(cls, job: JobSettings) -> ValidationLimits:
        return cls(
            max_event_bytes=job.max_event_bytes,
            max_caption_chars=job.max_caption_chars,
            max_hashtags=job.max_hashtags,
            max_image_bytes=job.max_image_bytes,
            image_roots=tuple(os.path.realpath(root) for root in job.image_roots),
        )


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(load_schema("post_event"))


def _reject(reason: str, detail: str) -> EventValidationError:
    assert reason in _PRIORITY, f"unknown dead-letter reason {reason!r}"
    return EventValidationError(reason, detail)


def _field(error: ValidationError) -> str:
    return ".".join(str(part) for part in error.absolute_path) or "(event)"


def _describe(error: ValidationError) -> tuple[str, str]:
    """(reason, detail) of one JSON Schema error; details never echo the (maybe huge) value."""
    name = _field(error)
    keyword = error.validator
    if keyword == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return "missing_field", f"missing required field(s): {', '.join(missing)}"
    if keyword == "type":
        expected = error.validator_value
        expected = " or ".join(expected) if isinstance(expected, list) else expected
        return "wrong_type", f"{name} must be {expected}, got {type(error.instance).__name__}"
    if keyword == "minLength" and name in ("post_id", "influencer"):
        return f"empty_{name}", f"{name} is empty"
    if keyword == "minLength" and name in ("image_uri", "image_b64"):
        return "no_image", f"{name} is empty"
    if keyword == "maxLength" and name in ("post_id", "influencer", "image_uri"):
        limit = error.validator_value
        return f"{name}_too_long", f"{name} has {len(error.instance)} characters, limit {limit}"
    if keyword == "minimum":
        return "wrong_type", f"{name} must be a non-negative integer"
    if keyword == "maximum":
        return "wrong_type", f"{name} is out of range"
    if keyword == "const":  # integer versions other than ours are refused before the schema check
        return "wrong_type", f"{name} must be the integer {error.validator_value!r}"
    if keyword == "oneOf":
        if "image_uri" in error.instance and "image_b64" in error.instance:
            return "both_images", "event has both image_uri and image_b64; send exactly one"
        return "no_image", "event has neither image_uri nor image_b64"
    return "wrong_type", f"{name}: {keyword} check failed"


def _check_structure(event: dict[str, Any]) -> None:
    problems = [_describe(error) for error in _validator().iter_errors(event)]
    if problems:
        reason, detail = min(problems, key=lambda problem: _PRIORITY[problem[0]])
        raise _reject(reason, detail)
    # JSON may escape lone UTF-16 surrogates ("\ud800"): valid JSON, but no Unicode text.
    texts = [event[key] for key in ("post_id", "influencer", "caption", "image_uri") if key in event]
    for text in [*texts, *event["hashtags"], *event["usertags"], *(event.get("sponsors") or ())]:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError as exc:
            raise _reject("bad_json", "a string holds a lone surrogate escape, not Unicode text") from exc


def forbidden_char(text: str) -> str | None:
    """The first character of ``text`` that no name may hold (streaming.limits), or None."""
    if text.isascii() and text.isprintable():
        return None
    for char in text:
        if unicodedata.category(char) in FORBIDDEN_NAME_CATEGORIES:
            return char
    return None


def check_name(field: str, text: str, max_chars: int) -> None:
    """Reject a non-empty name (``field`` is post_id or influencer) that is too long or spoofable."""
    if len(text) > max_chars:
        raise _reject(f"{field}_too_long", f"{field} has {len(text)} characters, limit {max_chars}")
    char = forbidden_char(text)
    if char is not None:
        where = text.index(char)
        name = unicodedata.name(char, unicodedata.category(char))
        raise _reject(
            f"{field}_forbidden_char",
            f"{field} holds U+{ord(char):04X} ({name}) at position {where}; names may not hold "
            "control, format (bidirectional, zero-width) or separator characters",
        )


def _parse_ts(text: str) -> datetime:
    try:
        ts = datetime.fromisoformat(text)
    except ValueError as exc:
        raise _reject("bad_timestamp", f"ts {text[:40]!r} is not an ISO-8601 date-time") from exc
    if ts.tzinfo is None:
        raise _reject("bad_timestamp", f"ts {text[:40]!r} has no UTC offset (e.g. 2019-05-01T12:00:00Z)")
    outside = f"ts {text[:40]!r} is outside {TS_RANGE[0].year}..{TS_RANGE[1].year}"
    try:
        ts = ts.astimezone(UTC)
    except OverflowError as exc:  # e.g. 0001-01-01T00:00:00+01:00 is before year 1 in UTC
        raise _reject("bad_timestamp", outside) from exc
    if not TS_RANGE[0] <= ts < TS_RANGE[1]:
        raise _reject("bad_timestamp", outside)
    return ts


def _check_image_b64(data: str, limits: ValidationLimits) -> None:
    compact = _WHITESPACE.sub(b"", data.encode("ascii", errors="replace"))
    if base64_max_bytes(len(compact)) > limits.max_image_bytes + 2:  # + the padding
        raise _reject("image_too_large", f"image_b64 decodes to more than {limits.max_image_bytes} bytes")
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise _reject("bad_base64", f"image_b64 is not valid base64 ({exc})") from exc
    if len(decoded) > limits.max_image_bytes:
        raise _reject("image_too_large", f"image is {len(decoded)} bytes, limit {limits.max_image_bytes}")


def resolve_image_uri(uri: str, image_roots: tuple[str, ...]) -> str:
    """The absolute local path of ``uri`` (a file URI or an absolute path) inside the roots, if any."""
    if len(uri) > IMAGE_URI_MAX_CHARS:
        raise _reject(
            "image_uri_too_long", f"image_uri has {len(uri)} characters, limit {IMAGE_URI_MAX_CHARS}"
        )
    try:
        parts = urlsplit(uri)
    except ValueError as exc:  # e.g. an unclosed IPv6 bracket, a netloc that NFKC-normalises to '/'
        raise _reject("image_uri_outside_roots", f"image_uri is not a valid URI ({str(exc)[:200]})") from exc
    if parts.scheme == "file":
        if parts.netloc not in ("", "localhost"):
            raise _reject("image_uri_outside_roots", f"file URI on another host ({parts.netloc[:60]})")
        path = unquote(parts.path)
    elif parts.scheme == "":
        path = uri
    else:
        raise _reject(
            "image_uri_outside_roots",
            f"scheme {parts.scheme[:20]!r} not allowed; only local files (file:// or a path)",
        )
    if not os.path.isabs(path):
        raise _reject("image_uri_outside_roots", f"{path[:200]!r} is relative; send an absolute path")
    try:
        resolved = os.path.realpath(path)
    except (ValueError, OSError) as exc:
        raise _reject("image_uri_outside_roots", f"{path[:200]!r} cannot be resolved ({exc})") from exc
    if image_roots and not any(Path(resolved).is_relative_to(root) for root in image_roots):
        raise _reject("image_uri_outside_roots", f"{path[:200]!r} resolves outside the image roots")
    return resolved


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not JSON")


def validate_event(raw: bytes | None, limits: ValidationLimits) -> ValidPost:
    """The post in ``raw`` (one Kafka value), or EventValidationError(reason, detail)."""
    if raw is None:
        raise _reject("bad_json", "the record has no value (a tombstone)")
    if len(raw) > limits.max_event_bytes:
        raise _reject("oversized_event", f"event is {len(raw)} bytes, limit {limits.max_event_bytes}")
    try:
        event = json.loads(raw, parse_constant=_reject_constant)
    except (UnicodeDecodeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise _reject("bad_json", f"not JSON: {str(exc)[:200]}") from exc
    except RecursionError as exc:  # arrays or objects nested deeper than the interpreter's stack
        raise _reject("bad_json", "JSON nested too deeply") from exc
    if not isinstance(event, dict):
        raise _reject("not_an_object", f"event must be a JSON object, got {type(event).__name__}")
    version = event.get("schema")
    if isinstance(version, int) and not isinstance(version, bool) and version != SCHEMA_VERSION:
        raise _reject(
            "unsupported_schema", f"schema {version} is not supported (this job reads {SCHEMA_VERSION})"
        )
    _check_structure(event)
    check_name("post_id", event["post_id"], POST_ID_MAX_CHARS)
    check_name("influencer", event["influencer"], INFLUENCER_MAX_CHARS)

    ts = _parse_ts(event["ts"])
    if len(event["caption"]) > limits.max_caption_chars:
        raise _reject(
            "caption_too_long",
            f"caption has {len(event['caption'])} characters, limit {limits.max_caption_chars}",
        )
    if len(event["hashtags"]) > limits.max_hashtags:
        raise _reject("too_many_hashtags", f"{len(event['hashtags'])} hashtags, limit {limits.max_hashtags}")
    image_uri, image_b64 = event.get("image_uri"), event.get("image_b64")
    image_path = None
    if image_b64 is not None:
        _check_image_b64(image_b64, limits)
    else:
        image_path = resolve_image_uri(image_uri, limits.image_roots)

    sponsors = event.get("sponsors")
    disclosures = disclosure_markers(event["caption"], event["hashtags"])
    return ValidPost.from_event(
        event,
        ts=ts,
        image_path=image_path,
        sponsors=None if sponsors is None else accounts(sponsors),
        mentions=accounts(brand_mentions(event["usertags"], event["caption"])),
        disclosures=disclosures,
        disclosed=bool(sponsors) or event.get("sponsored") is True or bool(disclosures),
    )


def accounts(names: Iterable[str]) -> tuple[str, ...]:
    """Account names as the job keeps them (sponsors, mentions): lower case without '@', each once
    (training.sponsorship.markers), only those a name may be (INFLUENCER_MAX_CHARS, no forbidden
    character), the first POST_BRANDS_MAX. They are published as brands and shown on the page."""
    kept = (name for name in brand_mentions(names, "") if len(name) <= INFLUENCER_MAX_CHARS)
    return tuple(name for name in kept if forbidden_char(name) is None)[:POST_BRANDS_MAX]
