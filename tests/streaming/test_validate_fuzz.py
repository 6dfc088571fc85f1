"""Fuzzing the validator: valid events of a synthetic world (streaming.replay.to_post_event), then
mutated (fields deleted or replaced, wrong types, huge strings, spoofing characters, deep nesting,
random bytes, truncation, flipped bytes). Each outcome is a valid post that honours the limits, or
EventValidationError with a reason of REASONS, never another exception; and the dead letter built
from each rejected record fits the limits and its schema, whatever the record held.

Bounded: about 2,600 examples in all, well under 30 s on two cores.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from datetime import timedelta, timezone
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from streaming import limits
from streaming.errors import EventValidationError
from streaming.events import load_schema
from streaming.events.post_event import dead_letter_key, dead_letter_record
from streaming.replay import encode, ordered_posts, to_post_event
from streaming.validate import REASONS, ValidationLimits, ValidPost, forbidden_char, validate_event

FUZZ = settings(
    max_examples=1600,
    deadline=5000,  # ms for one example; the 9,000,000-byte ones take ~0.1 s on an idle machine
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    print_blob=True,
)
RAW = settings(FUZZ, max_examples=1000)
OUTCOMES: Counter[str] = Counter()  # reason (or "valid") -> examples, over the whole module
HUGE = 9_000_000  # between the default validation limit and the broker's cap
World = tuple[list[dict[str, Any]], tuple[ValidationLimits, ...]]  # valid events, limit sets


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[list[dict[str, Any]], tuple[ValidationLimits, ...]]:
    """Valid events (image URIs and inline images) and two sets of limits: the defaults, and tight
    ones that the world's own events sit close to."""
    from training.dataset.reader import open_dataset
    from training.synth import WorldKnobs
    from training.synth.writer import generate_world

    root = tmp_path_factory.mktemp("fuzz") / "world"
    generate_world(root, WorldKnobs(influencers=4, posts=4, seed=8, image_size=16), progress=False)
    with open_dataset(root) as dataset:
        posts = [p for p in ordered_posts(dataset) if p.image_paths]
        events = [to_post_event(p, mode, dataset.read_image) for p in posts for mode in ("uri", "b64")]
    roots = (str((root / "image").resolve()),)
    tight = ValidationLimits(
        max_event_bytes=6000, max_caption_chars=300, max_hashtags=4, max_image_bytes=600, image_roots=roots
    )
    return events, (ValidationLimits(image_roots=roots), tight)


# -- strategies ---------------------------------------------------------------------------------

FIELDS = ("schema", "post_id", "influencer", "ts", "caption", "hashtags", "usertags", "image_uri",
          "image_b64", "likes", "comments", "sponsored")  # fmt: skip
SPOOF = st.sampled_from(
    "\x00\x01\x07\x08\x1b\x7f\x85\x9f\u00ad\u061c\u200b\u200c\u200d\u200e\u200f\u2028\u2029"
    "\u202a\u202b\u202c\u202d\u202e\u2060\u2066\u2067\u2068\u2069\ufeff\ue000"
)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=20,
)
NOT_OBJECTS = (
    st.none() | st.booleans() | st.integers() | st.text(max_size=40) | st.lists(JSON_VALUES, max_size=5)
)
# Lengths around each limit (the tight ones, the defaults, streaming.limits), and far past them.
HUGE_SIZES = {
    "caption": [300, 301, 5000, 5001, 70_000, HUGE],
    "influencer": [30, 64, 65, 10_000, HUGE],
    "post_id": [128, 129, 100_000],
    "image_uri": [12_288, 12_289, 100_000],
    "ts": [100, 100_000],
    "hashtags": [1000, 100_000],
}
TIMESTAMPS = st.one_of(
    st.builds(
        lambda d, minutes: d.replace(tzinfo=timezone(timedelta(minutes=minutes))).isoformat(),
        st.datetimes(),
        st.integers(-(24 * 60 - 1), 24 * 60 - 1),
    ),
    st.datetimes().map(lambda d: d.isoformat()),  # no UTC offset
    st.sampled_from(
        [
            "0001-01-01T00:00:00+01:00",
            "9999-12-31T23:59:59-23:59",
            "2019-02-30T00:00:00Z",
            "2019-05-01T12:00:00.123456789Z",
            "1554076800",
            "",
            "T",
            "2019-05-01 12:00:00+00",
        ]
    ),
    st.text(max_size=30),
)
URIS = st.one_of(
    st.text(max_size=60),
    st.text(max_size=60).map(lambda t: "file://" + t),
    st.text(max_size=60).map(lambda t: "file:///" + t),
    st.sampled_from(
        [
            "file://[::1/a.jpg",
            "file://a\uff03b/a.jpg",
            "file:///etc/passwd",
            "http://x/a.jpg",
            "/tmp/../etc/hostname",
            "file:///a%00b.jpg",
            "file://%2F/a.jpg",
            "\x00",
            "/a\x00b",
        ]
    ),
)


@st.composite
def mutated(draw: st.DrawFn, events: list[dict[str, Any]]) -> bytes:
    """One event of the world, spoiled in zero, one or several ways, as Kafka value bytes."""
    chosen = dict(draw(st.sampled_from(events)))
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from([
            "delete", "replace", "empty", "huge", "huge", "huge", "spoof", "nest", "number", "ts", "uri",
            "b64", "both_images", "schema", "many_tags", "not_an_object",
        ]))  # fmt: skip
        name = draw(st.sampled_from(FIELDS))
        event(f"mutation: {how}")
        if how == "delete":
            chosen.pop(name, None)
        elif how == "replace":
            chosen[name] = draw(JSON_VALUES)
        elif how == "empty":
            field_name = draw(
                st.sampled_from(["post_id", "influencer", "caption", "image_uri", "image_b64", name])
            )
            chosen[field_name] = draw(st.sampled_from(["", "", [], {}, None, 0]))
        elif how == "huge":
            field_name = draw(st.sampled_from(sorted(HUGE_SIZES)))
            text = draw(st.sampled_from('xé東🌊\\"')) * draw(st.sampled_from(HUGE_SIZES[field_name]))
            chosen[field_name] = [text] if field_name == "hashtags" else text
            if field_name == "image_uri":
                chosen.pop("image_b64", None)
        elif how == "spoof":
            field_name = draw(st.sampled_from(["influencer", "post_id"]))
            text = str(chosen.get(field_name, "anna"))
            at = draw(st.integers(0, len(text)))
            chosen[field_name] = text[:at] + draw(SPOOF) + text[at:]
        elif how == "nest":
            depth = draw(st.sampled_from([10, 500, 5000, 200_000]))
            return encode(chosen)[:-1] + b',"extra":' + b"[" * depth + b"]" * depth + b"}"
        elif how == "number":
            chosen[draw(st.sampled_from(["likes", "comments", "schema"]))] = draw(
                st.integers(-(2**70), 2**70) | st.floats() | st.sampled_from([True, 1.0, -0.0, 2**63])
            )
        elif how == "ts":
            chosen["ts"] = draw(TIMESTAMPS)
        elif how == "uri":
            chosen.pop("image_b64", None)
            chosen["image_uri"] = draw(URIS)
        elif how == "b64":
            chosen.pop("image_uri", None)
            chosen["image_b64"] = draw(
                st.binary(max_size=900).map(lambda b: base64.b64encode(b).decode()) | st.text(max_size=50)
            )
        elif how == "both_images":
            chosen.setdefault("image_uri", "file:///x.jpg")
            chosen.setdefault("image_b64", "AAAA")
        elif how == "schema":
            chosen["schema"] = draw(st.sampled_from([0, 2, 99, "1", 1.0, True, None, [1]]))
        elif how == "many_tags":
            chosen["hashtags"] = ["t"] * draw(st.sampled_from([4, 5, 60, 61, 1000]))
        elif how == "not_an_object":
            return json.dumps(draw(NOT_OBJECTS)).encode()
    return encode(chosen)  # a NaN or an infinity drawn into a field is written as Python writes it


@st.composite
def damaged(draw: st.DrawFn, events: list[dict[str, Any]]) -> bytes:
    """Bytes that were once a valid event: truncated, flipped, spliced, or random altogether."""
    raw = encode(draw(st.sampled_from(events)))
    how = draw(st.sampled_from(["random", "truncate", "flip", "splice", "prefix_suffix"]))
    event(f"damage: {how}")
    if how == "random":
        return draw(st.binary(max_size=3000))
    if how == "truncate":
        return raw[: draw(st.integers(0, len(raw)))]
    if how == "flip":
        at = draw(st.integers(0, len(raw) - 1))
        return raw[:at] + bytes([draw(st.integers(0, 255))]) + raw[at + 1 :]
    if how == "splice":
        at = draw(st.integers(0, len(raw)))
        return raw[:at] + draw(st.binary(min_size=1, max_size=64)) + raw[at:]
    return draw(st.binary(max_size=8)) + raw + draw(st.binary(max_size=8))


KEYS = st.one_of(
    st.none(),
    st.binary(max_size=64),
    st.integers(limits.KEY_MAX_BYTES - 1, limits.KEY_MAX_BYTES + 1).map(lambda n: b"k" * n),
    st.sampled_from([b"x" * 100_000, b"anna.berg"]),
)


# -- checks -------------------------------------------------------------------------------------


def check_valid(post: ValidPost, raw: bytes, limits_used: ValidationLimits) -> None:
    assert len(raw) <= limits_used.max_event_bytes
    assert 0 < len(post.influencer) <= limits.INFLUENCER_MAX_CHARS and forbidden_char(post.influencer) is None
    assert 0 < len(post.post_id) <= limits.POST_ID_MAX_CHARS and forbidden_char(post.post_id) is None
    assert len(post.caption) <= limits_used.max_caption_chars
    assert len(post.hashtags) <= limits_used.max_hashtags
    assert (post.image_uri is None) != (post.image_b64 is None)
    assert post.image_uri is None or len(post.image_uri) <= limits.IMAGE_URI_MAX_CHARS


def check_dead_letter(raw: bytes, key: bytes | None, error: EventValidationError, offset: int) -> None:
    letter = dead_letter_record(
        stage="parse", reason=error.reason, detail=error.detail, source_topic="posts", source_partition=0,
        source_offset=offset, source_timestamp=None, original=raw, key=key,
    )  # fmt: skip
    _dead_letter_validator().validate(letter)
    out_key = dead_letter_key(key)
    body = json.dumps(letter, separators=(",", ":")).encode()
    assert len(body) + len(out_key or b"") <= limits.DEAD_LETTER_MAX_BYTES
    assert out_key is None or len(out_key) <= limits.KEY_MAX_BYTES
    kept = base64.b64decode(letter["original_b64"], validate=True)
    if len(raw) > limits.ORIGINAL_MAX_BYTES:
        assert kept == raw[: limits.ORIGINAL_MAX_BYTES] and letter["original_bytes"] == len(raw)
        assert letter["original_sha256"] == hashlib.sha256(raw).hexdigest()
    else:
        assert kept == raw and "original_bytes" not in letter


_VALIDATOR: list[jsonschema.protocols.Validator] = []


def _dead_letter_validator() -> jsonschema.protocols.Validator:
    if not _VALIDATOR:
        _VALIDATOR.append(jsonschema.Draft202012Validator(load_schema("dead_letter")))
    return _VALIDATOR[0]


def outcome(raw: bytes, key: bytes | None, limits_used: ValidationLimits, offset: int) -> str:
    try:
        post = validate_event(raw, limits_used)
    except EventValidationError as exc:
        assert exc.reason in REASONS, exc.reason
        assert exc.detail, "every rejection explains itself"
        check_dead_letter(raw, key, exc, offset)
        return exc.reason
    check_valid(post, raw, limits_used)
    return "valid"


# -- the fuzz -----------------------------------------------------------------------------------


@FUZZ
@given(data=st.data())
def test_mutated_events_validate_or_give_a_reason_and_a_bounded_dead_letter(world, data) -> None:
    events, limit_sets = world
    raw = data.draw(mutated(events), label="value")
    key = data.draw(KEYS, label="key")
    limits_used = data.draw(st.sampled_from(limit_sets), label="limits")
    result = outcome(raw, key, limits_used, data.draw(st.integers(0, 2**62)))
    event(f"outcome: {result}")
    OUTCOMES[result] += 1


@RAW
@given(data=st.data())
def test_damaged_bytes_validate_or_give_a_reason_and_a_bounded_dead_letter(world, data) -> None:
    events, limit_sets = world
    raw = data.draw(damaged(events), label="value")
    result = outcome(raw, data.draw(KEYS, label="key"), data.draw(st.sampled_from(limit_sets)), 7)
    event(f"outcome: {result}")
    OUTCOMES[result] += 1


def test_unmutated_world_events_are_valid(world) -> None:
    events, limit_sets = world
    for chosen in events:
        assert outcome(encode(chosen), chosen["influencer"].encode(), limit_sets[0], 0) == "valid"


def test_the_fuzz_reached_most_reasons() -> None:
    if sum(OUTCOMES.values()) < 1000:
        pytest.skip("run with the fuzz tests above")
    reached = set(OUTCOMES) - {"valid"}
    assert OUTCOMES["valid"] >= 50, OUTCOMES
    assert len(reached) >= 15, f"only {sorted(reached)} of {len(REASONS)} reasons: {OUTCOMES}"
