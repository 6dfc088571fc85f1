"""Named errors of the training package."""


class TrainingError(Exception):
    """Base of every error this package raises on purpose."""


class DatasetError(TrainingError):
    """A dataset folder or archive is unusable as a whole (single bad records are counted, not raised)."""


class ModelNotFoundError(TrainingError):
    """A configured encoder or model folder does not exist locally; nothing is downloaded at run time."""


class ModelFormatError(TrainingError):
    """A model folder is incomplete or was written by an incompatible version."""
