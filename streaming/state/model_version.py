"""The one check that a state is continued only by the model that built it.

A state's h and s come from one model: folding another model's posts into it would mix two spaces.
The job's checkpoint records the version it was built with (streaming.job.runner.claim_checkpoint),
an AttentionState its own (streaming.state.online_softmax.update); both ask here.
"""

from __future__ import annotations

from streaming.errors import CheckpointMismatchError


def check_model_version(held: str, running: str, holder: str) -> None:
    """Raise CheckpointMismatchError when ``holder`` (built by model ``held``) meets model ``running``."""
    if held != running:
        raise CheckpointMismatchError(
            f"{holder} holds state of model {held}, the job was started with model {running}; start the "
            "new model on a fresh checkpoint: point spark.checkpoint_dir at a fresh directory (it replays "
            "`posts` from the topic's retention), or go back to the old model"
        )
