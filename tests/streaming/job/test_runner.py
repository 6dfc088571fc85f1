"""The checkpoint claim: a checkpoint remembers the model version and tau it was built with."""

from __future__ import annotations

import json

import pytest

from streaming.errors import CheckpointMismatchError
from streaming.job.runner import CHECKPOINT_INFO, CheckpointInfo, claim_checkpoint


def test_a_new_checkpoint_records_what_built_it(tmp_path) -> None:
    info = CheckpointInfo("v1", None)
    assert claim_checkpoint(tmp_path / "ckpt", info) == info
    assert json.loads((tmp_path / "ckpt" / CHECKPOINT_INFO).read_text()) == {
        "model_version": "v1", "tau_seconds": None, "undisclosed_threshold": None,
    }  # fmt: skip
    assert claim_checkpoint(tmp_path / "ckpt", info) == info  # the same job restarts


def test_another_model_version_is_refused_with_what_to_do(tmp_path) -> None:
    claim_checkpoint(tmp_path, CheckpointInfo("v1", None))
    with pytest.raises(CheckpointMismatchError, match=r"model v1.*model v2.*fresh directory"):
        claim_checkpoint(tmp_path, CheckpointInfo("v2", None))


def test_another_tau_is_refused(tmp_path) -> None:
    claim_checkpoint(tmp_path, CheckpointInfo("v1", 86400.0))
    with pytest.raises(CheckpointMismatchError, match="tau_seconds=86400.0"):
        claim_checkpoint(tmp_path, CheckpointInfo("v1", None))


def test_another_sponsorship_threshold_is_refused(tmp_path) -> None:
    claim_checkpoint(tmp_path, CheckpointInfo("v1", None, 0.5))
    assert claim_checkpoint(tmp_path, CheckpointInfo("v1", None, 0.5)).undisclosed_threshold == 0.5
    with pytest.raises(CheckpointMismatchError, match="undisclosed_threshold=0.5, the job has 0.8"):
        claim_checkpoint(tmp_path, CheckpointInfo("v1", None, 0.8))
