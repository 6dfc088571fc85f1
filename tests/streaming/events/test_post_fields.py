"""The post event's contract (streaming.events.post_fields) and the JSON Schema file agree field by
field, and a post goes from event to ValidPost to Spark row and back to the same event."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from streaming.events import load_schema, utc_timestamp
from streaming.events.post_event import POST_SCHEMA
from streaming.events.post_fields import (
    EVENT_FIELDS,
    EVENT_REQUIRED,
    PLACES,
    POST_COLUMNS,
    POST_KINDS,
    ValidPost,
    event_of,
)
from streaming.validate import ValidationLimits, validate_event

# The JSON Schema "type" of each kind of field.
JSON_TYPES = {"int": "integer", "long": "integer", "string": "string", "strings": "array",
              "timestamp": "string", "boolean": "boolean"}  # fmt: skip


def test_the_schema_file_lists_the_contract_fields() -> None:
    schema = load_schema("post_event")
    assert tuple(schema["properties"]) == EVENT_FIELDS
    assert tuple(schema["required"]) == EVENT_REQUIRED
    derived = [name for name, place in PLACES.items() if place == "derived"]
    assert derived == ["image_path", "mentions", "disclosures", "disclosed"]


def test_the_schema_file_types_each_field_as_its_kind() -> None:
    properties = load_schema("post_event")["properties"]
    for name in EVENT_FIELDS:
        declared = properties[name]["type"]
        expected = JSON_TYPES[POST_KINDS[name]]
        if PLACES[name] == "required":
            assert declared == expected, name
        else:
            assert declared in (expected, [expected, "null"]), name
        if POST_KINDS[name] == "strings":
            assert properties[name]["items"] == {"type": "string"}, name
        if POST_KINDS[name] == "timestamp":
            assert properties[name]["format"] == "date-time", name


def test_spark_columns_follow_the_contract() -> None:
    assert tuple(POST_SCHEMA.fieldNames()) == POST_COLUMNS
    assert POST_SCHEMA["hashtags"].dataType.simpleString() == "array<string>"
    assert POST_SCHEMA["likes"].dataType.simpleString() == "bigint"


def test_an_event_goes_to_a_row_and_back_unchanged(tmp_path) -> None:
    image = tmp_path / "a.jpg"
    image.write_bytes(b"\xff\xd8")
    event = {
        "schema": 1, "post_id": "p1", "influencer": "anna", "ts": "2019-05-01T12:00:00.250Z",
        "caption": "hello #sea", "hashtags": ["sea"], "usertags": ["bob"], "image_uri": image.as_uri(),
        "likes": 3, "comments": None, "sponsored": False, "sponsors": ["acme"],
    }  # fmt: skip
    post = validate_event(json.dumps(event).encode(), ValidationLimits(image_roots=(str(tmp_path),)))
    assert post.ts == datetime(2019, 5, 1, 12, 0, 0, 250_000, tzinfo=UTC)
    assert post.hashtags == ("sea",) and post.image_path == str(image)
    row = post.row()
    assert len(row) == len(POST_COLUMNS) and row[POST_COLUMNS.index("usertags")] == ["bob"]
    values = dict(zip(POST_COLUMNS, row, strict=True))
    assert values.pop("image_b64") is None  # an event carries one image field only
    assert event_of(values) == event
    derived = {name: getattr(post, name) for name, place in PLACES.items() if place == "derived"}
    again = ValidPost.from_event(event, **{**derived, "ts": post.ts, "sponsors": post.sponsors})
    assert again == post


def test_timestamps_have_one_format() -> None:
    assert utc_timestamp(datetime(2019, 5, 1, 12, tzinfo=UTC)) == "2019-05-01T12:00:00.000Z"
    assert utc_timestamp(datetime(2019, 5, 1, 12)) == "2019-05-01T12:00:00.000Z"  # naive: UTC
    assert utc_timestamp(datetime.fromisoformat("2019-05-01T14:00:00.123456+02:00")) == (
        "2019-05-01T12:00:00.123Z"
    )
