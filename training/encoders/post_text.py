"""The text of a post as the text encoders read it, in training, in the Spark feature job and in
the streaming job alike. Apart from the encoder so that the workers formatting texts (the Spark
reader's stage) never import torch."""

from __future__ import annotations

from collections.abc import Iterable

from training.sponsorship.markers import mask_markers

# The version of post_text's recipe; feature caches key on it, so a change re-encodes every post.
POST_TEXT_RECIPE = "caption+tags, disclosure markers masked (2)"


def post_text(caption: str, hashtags: Iterable[str] = (), usertags: Iterable[str] = ()) -> str:
    """The text of a post as the encoder reads it: the caption, then the #hashtags and @usertags
    the caption does not already contain (captions usually carry their hashtags inline), with
    every disclosure marker (#ad, "paid partnership"...) removed: the features of a post, in
    training and in the streaming job alike, never see whether it disclosed a paid partnership."""
    caption = caption.strip()
    words = {w.lower().rstrip(".,!?") for w in caption.split()}
    tags = [f"#{t.strip().lstrip('#')}" for t in hashtags if t.strip("# ")]
    users = [f"@{u.strip().lstrip('@')}" for u in usertags if u.strip("@ ")]
    extra = [t for t in tags + users if t.lower() not in words]
    return mask_markers(" ".join([caption, *extra]) if caption else " ".join(extra))
