"""A post's text as the encoders read it, and the module's promise to import no torch."""

from __future__ import annotations

import subprocess
import sys

from training.encoders.post_text import post_text


def test_post_text_joins_caption_and_the_tags_it_lacks() -> None:
    assert post_text("Nice #food day", ["food", "yum"], ["bob"]) == "Nice #food day #yum @bob"
    assert post_text("  ", ["#travel"], []) == "#travel"
    assert post_text("just me") == "just me"


def test_post_text_masks_the_disclosure_markers() -> None:
    """Hashtags and phrases that disclose a paid post leave no trace in the encoder's text, from
    the caption or from the tags; words that merely contain a marker stay."""
    assert post_text("Paid partnership\nLoving @glossier #AD #makeup", ["ad", "makeup"]) == (
        "Loving @glossier #makeup"
    )
    assert post_text("Neue Farben, bezahlte Partnerschaft", ["werbung"], ["zara"]) == "Neue Farben, @zara"
    assert post_text("#adventure time, no ads here", ["adventure"]) == "#adventure time, no ads here"


def test_formatting_texts_imports_no_torch() -> None:
    """The Spark reader's workers format every post's text; they must not load torch (~0.3 GiB
    each, and they live beside the workers that embed)."""
    probe = "import sys, training.encoders.post_text; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
