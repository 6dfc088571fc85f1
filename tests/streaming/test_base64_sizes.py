"""The base64 arithmetic the size limits use agrees with real base64."""

from __future__ import annotations

import base64

from streaming.limits import base64_chars, base64_max_bytes


def test_base64_sizes_match_the_encoder() -> None:
    for n in range(0, 40):
        text = base64.b64encode(bytes(n))
        assert base64_chars(n) == len(text), n
        # what the text's length promises at most, and at most two bytes of padding less
        assert base64_max_bytes(len(text)) - 2 <= n <= base64_max_bytes(len(text)), n
