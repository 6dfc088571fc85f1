"""The round trip's generated events: deterministic, and each one is rejected exactly as labelled."""

from __future__ import annotations

from collections import Counter

from streaming.errors import EventValidationError
from streaming.roundtrip import MALFORMED_KINDS, demo_events
from streaming.validate import ValidationLimits, validate_event


def test_generated_events_validate_or_fail_with_their_label():
    limits = ValidationLimits(max_caption_chars=300)
    events = demo_events(40, 16, seed=3, max_caption_chars=300)
    outcomes = Counter()
    for key, value, expected in events:
        try:
            post = validate_event(value, limits)
        except EventValidationError as exc:
            assert exc.reason == expected, (exc, value[:100])
            outcomes[exc.reason] += 1
        else:
            assert expected is None and post.influencer.encode() == key and post.image_b64
            outcomes["valid"] += 1
    assert outcomes == Counter({"valid": 40, **{kind: 2 for kind in MALFORMED_KINDS}})
    assert demo_events(40, 16, seed=3, max_caption_chars=300) == events
    assert demo_events(40, 16, seed=4, max_caption_chars=300) != events
