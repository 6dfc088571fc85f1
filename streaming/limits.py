"""Every size limit of a Kafka record and of a name, in one place; the rest derives from here.

    record on any topic       <= MESSAGE_MAX_BYTES      broker message.max.bytes (deploy/kafka/
                                                        server.properties, checked by a test), each
                                                        topic's max.message.bytes (kafka_admin)
    record a producer sends   <= PRODUCER_MAX_REQUEST_BYTES   max.request.size of every producer
                                                        (streaming.infra.kafka_admin.kafka_producer)
    post event the job takes  <= JobSettings.max_event_bytes <= MAX_EVENT_BYTES (validation)
    dead letter the job writes <= DEAD_LETTER_MAX_BYTES, whatever it read (streaming.events.post_event)

A dead letter keeps the source topic, partition and offset, so the original can always be read
again from `posts`; of the original value it keeps the whole bytes up to ORIGINAL_MAX_BYTES, past
that a prefix of that many bytes, the length and a sha256. The original key is kept up to
KEY_MAX_BYTES, past that a prefix (the length and a sha256 go into the value).

Names: an influencer (the Kafka key, the state key, the FAISS id and a page label) and a post id are
non-empty, at most INFLUENCER_MAX_CHARS / POST_ID_MAX_CHARS code points, and hold no character of
FORBIDDEN_NAME_CATEGORIES: controls (NUL, ESC, DEL...), format characters (the bidirectional
overrides, embeddings, isolates and marks, zero-width characters, BOM), surrogates, private use,
line and paragraph separators. Instagram usernames (letters, digits, '.', '_', at most 30) pass.
"""

from __future__ import annotations

# The broker's cap on one record batch, and every topic's (set explicitly on each topic we create).
MESSAGE_MAX_BYTES = 10 * 1024 * 1024
# What a producer may send in one request: one record of up to the topic's cap.
PRODUCER_MAX_REQUEST_BYTES = MESSAGE_MAX_BYTES
# Room kept under the caps for the key (an influencer name), record headers and batch framing.
RECORD_OVERHEAD_BYTES = 64 * 1024

# A whole post event (the Kafka value, an inline image included): the default validation limit,
# and the largest one a configuration may set (an accepted event must still be producible).
DEFAULT_MAX_EVENT_BYTES = 8_000_000
MAX_EVENT_BYTES = PRODUCER_MAX_REQUEST_BYTES - RECORD_OVERHEAD_BYTES

# Names (code points, after JSON decoding).
INFLUENCER_MAX_CHARS = 64
POST_ID_MAX_CHARS = 128
# An image_uri as sent: a path longer than PATH_MAX (4096) cannot be opened anyway; percent-escapes
# may triple it. Profiles keep the URIs of their top posts, so this bounds them too.
IMAGE_URI_MAX_CHARS = 3 * 4096
# Unicode general categories no name may contain.
FORBIDDEN_NAME_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Zl", "Zp"})

# Sponsorship (streaming.state.sponsorship): the accounts one post names that the job keeps (its
# sponsors and mentions, each a valid name), and the brands kept per influencer (the most counted).
POST_BRANDS_MAX = 20
BRANDS_MAX = 100

# A reclassification lists the post ids of the update that changed the category: the latest this many.
TRIGGER_POSTS_MAX = 100

# Dead letters.
ORIGINAL_MAX_BYTES = 64 * 1024  # the original value, whole up to this, else its prefix
KEY_MAX_BYTES = 1024  # the original key, whole up to this, else its prefix (a valid name is <= 256)
DETAIL_MAX_CHARS = 1000  # the human-readable detail, cut with an ellipsis past this


def base64_chars(n_bytes: int) -> int:
    """Characters of the standard (padded) base64 of ``n_bytes`` bytes."""
    return 4 * -(-n_bytes // 3)


def base64_max_bytes(n_chars: int) -> int:
    """The most bytes ``n_chars`` characters of base64 decode to (up to two fewer with padding)."""
    return n_chars // 4 * 3


# What one dead letter may take at most (JSON value + key): the base64 prefix, the detail escaped
# at worst (12 bytes a code point as a surrogate pair escape) and the fixed fields with room to spare.
DEAD_LETTER_MAX_BYTES = base64_chars(ORIGINAL_MAX_BYTES) + 12 * DETAIL_MAX_CHARS + KEY_MAX_BYTES + 8 * 1024


def check_limits() -> None:
    """Raise AssertionError when the limits above contradict each other (run by the tests and on import)."""
    assert PRODUCER_MAX_REQUEST_BYTES <= MESSAGE_MAX_BYTES, "producers would send what topics refuse"
    assert DEFAULT_MAX_EVENT_BYTES <= MAX_EVENT_BYTES, "the default event limit is above the ceiling"
    assert MAX_EVENT_BYTES + RECORD_OVERHEAD_BYTES <= PRODUCER_MAX_REQUEST_BYTES, (
        "an accepted event plus its key would not fit a producer request"
    )
    assert DEAD_LETTER_MAX_BYTES <= PRODUCER_MAX_REQUEST_BYTES - RECORD_OVERHEAD_BYTES, (
        "a dead letter would not fit a producer request"
    )
    assert 4 * INFLUENCER_MAX_CHARS <= KEY_MAX_BYTES, "a valid influencer key would be cut in a dead letter"


check_limits()
