"""Named errors of the streaming package. Messages tell the operator what to do next."""


class ScoutError(Exception):
    """Base of every error this package raises on purpose."""


class ConfigError(ScoutError):
    """The configuration file, environment or flags are invalid."""


class BrokerError(ScoutError):
    """The Kafka broker could not be started, reached or stopped."""


class JarsMissingError(ScoutError):
    """The JVM jars resolved by Maven are not there; run `make setup`."""


class EventValidationError(ScoutError):
    """A post event failed parsing or validation; `reason` is the dead-letter reason code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


class CheckpointMismatchError(ScoutError):
    """A checkpoint was written by another model version than the one the job was started with."""


class ServiceError(ScoutError):
    """The look-up service cannot start or serve."""


class AttentionStateError(ScoutError):
    """Post scores or times cannot enter an influencer's attention state (not finite, wrong shape)."""


class SimilarityIndexError(ScoutError):
    """The similarity index was given vectors it cannot hold, or a snapshot that cannot be loaded."""


class UnknownInfluencerError(SimilarityIndexError, KeyError):
    """The similarity index holds no vector for the requested influencer."""


class ReplayError(ScoutError):
    """A dataset cannot be replayed as asked (bad options, a post that cannot become an event)."""


class StreamJobError(ScoutError):
    """The streaming query stopped with an error; the message carries the first line of its cause."""


class DemoError(ScoutError):
    """A step of `scout demo` failed: a command it ran, a process it started, a service it waited for."""


class PrometheusError(ScoutError):
    """The local Prometheus server could not be started, queried or stopped."""


class StateStoreError(ScoutError):
    """The influencer state store cannot be opened or written, or disagrees with Spark's checkpoint."""
