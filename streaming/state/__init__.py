"""Per-influencer attention state: the exact online-softmax update (numpy) and its batched torch form.

``segmented`` imports torch; import it explicitly where a batched update is wanted.
"""

from streaming.state.online_softmax import (
    REFERENCE_EPOCH_S,
    STATE_FIELDS,
    AttentionState,
    PostMeta,
    TopPost,
    adjusted_scores,
    embedding,
    from_row,
    recompute,
    softmax_weights,
    to_row,
    top_posts,
    top_weights,
    update,
)

__all__ = [
    "REFERENCE_EPOCH_S",
    "STATE_FIELDS",
    "AttentionState",
    "PostMeta",
    "TopPost",
    "adjusted_scores",
    "embedding",
    "from_row",
    "recompute",
    "softmax_weights",
    "to_row",
    "top_posts",
    "top_weights",
    "update",
]
