"""The post event's fields, once: the contract every other form of a post derives from.

``ValidPost`` lists the fields of a valid post in order, each with its kind and its place in the
event (post_event.schema.json): ``required``, ``optional``, or ``derived`` (computed by validation,
never sent). From it come the Spark columns (streaming.events.post_event.POST_SCHEMA), the parse
stage's rows (streaming.job.parse), the validator's result (streaming.validate) and the events the
replay sends (streaming.replay); a test checks the JSON Schema file against it. Adding an optional
event field is one line here, its property in the schema file, and the code that uses it.

Pure Python: no Spark, no Kafka.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields
from datetime import datetime
from typing import Any, Literal

from streaming.events import utc_timestamp

Kind = Literal["int", "long", "string", "strings", "timestamp", "boolean"]
Place = Literal["required", "optional", "derived"]


def _field(kind: Kind, place: Place = "required") -> Any:
    return field(metadata={"kind": kind, "place": place})


@dataclass(frozen=True, slots=True)
class ValidPost:
    """One post that passed validation (streaming.validate.validate_event)."""

    schema: int = _field("int")
    post_id: str = _field("string")
    influencer: str = _field("string")  # also the Kafka key
    ts: datetime = _field("timestamp")  # event time, timezone-aware, UTC
    caption: str = _field("string")
    hashtags: tuple[str, ...] = _field("strings")
    usertags: tuple[str, ...] = _field("strings")
    image_uri: str | None = _field("string", "optional")  # as sent
    image_path: str | None = _field("string", "derived")  # image_uri resolved inside the image roots
    image_b64: str | None = _field("string", "optional")  # exactly one of image_uri and image_b64
    likes: int | None = _field("long", "optional")
    comments: int | None = _field("long", "optional")
    sponsored: bool | None = _field("boolean", "optional")
    # the paid-partnership accounts, as validation normalises them (streaming.validate)
    sponsors: tuple[str, ...] | None = _field("strings", "optional")
    # derived from the caption, hashtags and user tags (training.sponsorship.markers)
    mentions: tuple[str, ...] = _field("strings", "derived")  # the accounts the post names
    disclosures: tuple[str, ...] = _field("strings", "derived")  # its disclosure markers (#ad, ...)
    disclosed: bool = _field("boolean", "derived")  # sponsors, sponsored or a disclosure marker

    @classmethod
    def from_event(cls, event: Mapping[str, Any], **parsed: Any) -> ValidPost:
        """A post from a decoded event that passed the structure check; ``parsed`` gives every
        timestamp and derived field (the validator computes those), the rest is copied by kind."""
        values = {
            name: _from_json(kind, event.get(name)) for name, kind in POST_KINDS.items() if name not in parsed
        }
        missing = [name for name in values if POST_KINDS[name] == "timestamp" or PLACES[name] == "derived"]
        assert not missing, f"from_event needs the parsed value of {missing}"
        return cls(**values, **parsed)

    def row(self) -> tuple[Any, ...]:
        """The values in POST_COLUMNS order, arrays as lists (a row of POST_SCHEMA)."""
        return tuple(_listed(getattr(self, name)) for name in POST_COLUMNS)


POST_FIELDS: tuple[Field, ...] = fields(ValidPost)
POST_COLUMNS: tuple[str, ...] = tuple(f.name for f in POST_FIELDS)
POST_KINDS: dict[str, Kind] = {f.name: f.metadata["kind"] for f in POST_FIELDS}
PLACES: dict[str, Place] = {f.name: f.metadata["place"] for f in POST_FIELDS}
# The keys of a post event, in the order the replay writes them.
EVENT_FIELDS: tuple[str, ...] = tuple(name for name, place in PLACES.items() if place != "derived")
EVENT_REQUIRED: tuple[str, ...] = tuple(name for name, place in PLACES.items() if place == "required")


def _from_json(kind: Kind, value: Any) -> Any:
    if value is None:
        return None
    if kind == "strings":
        return tuple(value)
    if kind in ("int", "long"):
        return int(value)  # JSON Schema's integer takes 3.0 too
    return value


def _listed(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def event_of(values: Mapping[str, Any]) -> dict[str, Any]:
    """A post event (JSON-ready, keys in EVENT_FIELDS order) from the values given by field name;
    fields not given are left out, timestamps written as streaming.events.utc_timestamp does."""
    event: dict[str, Any] = {}
    for name in EVENT_FIELDS:
        if name in values:
            value = values[name]
            if POST_KINDS[name] == "timestamp" and value is not None:
                value = utc_timestamp(value)
            event[name] = _listed(value)
    return event
