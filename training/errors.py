"""Named errors of the training package."""


class TrainingError(Exception):
    """Base of every error this package raises on purpose."""


class DatasetError(TrainingError):
    """A dataset folder or archive is unusable as a whole (single bad records are counted, not raised)."""


class ModelNotFoundError(TrainingError):
    """A configured encoder or model folder does not exist locally; nothing is downloaded at run time."""


class ModelFormatError(TrainingError):
    """A model folder is incomplete or was written by an incompatible version."""


class RecordFormatError(TrainingError):
    """One record of a dataset is malformed; readers count it under `reason` and go on."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class ImageDecodeError(TrainingError):
    """An image's bytes cannot be decoded (corrupt, truncated, not an image, too large)."""


class KnobError(TrainingError, ValueError):
    """A synthetic-world knob is out of range; the message names the knob and its allowed values."""


class SplitError(TrainingError, ValueError):
    """A dataset is too small for the requested split or folds; the message says how many
    influencers per category it needs."""


class FeatureStoreError(TrainingError):
    """A feature store is missing, of another format, incomplete, or not of the dataset given."""


class SampleError(TrainingError, ValueError):
    """A sample of a copy's influencers cannot be drawn as asked (fewer than two, or more than the
    copy holds); the message says how many it has."""
