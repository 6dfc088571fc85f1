from __future__ import annotations

from training.dataset.check import KEYS, check_dataset, format_check


def test_check_counts_every_defect(defect_copy) -> None:
    result = check_dataset(defect_copy.root)
    assert list(result)[: len(KEYS)] == list(KEYS)
    assert result["influencers"] == 4
    assert result["by_category"]["fashion"] == 1 and result["by_category"]["pet"] == 1
    assert result["posts"] == 7  # 10 mapped, 1 without metadata, 2 unreadable
    assert result["posts_missing_metadata"] == 1
    assert result["posts_bad_metadata"] == {"bad_json": 1, "no_timestamp": 1}
    assert result["images_missing"] == 2
    assert result["duplicate_mapping_rows"] == 2
    assert result["label_fixes"] == {"fasion": "fashion", "pets": "pet"}
    assert result["posts_sponsor_tag"] == 1  # alice 102
    assert result["posts_disclosure_marker"] == 2  # bob 202 (#Werbung, German phrase), carol 301 (#Ad)
    assert result["posts_brand_mention"] == 3  # alice 102, bob 202, carol 301
    assert "world" not in result
    quick = check_dataset(defect_copy.root, parse=False)
    assert quick["posts"] == 9 and not quick["metadata_parsed"]
    assert quick["posts_sponsor_tag"] is None and quick["posts_disclosure_marker"] is None
    text = format_check(result)
    assert "posts with metadata: 7 of 10 mapped" in text and "unreadable metadata: 2" in text
    assert "1 posts with the paid-partnership tag, 2 with a disclosure marker" in text
