"""The one typed, frozen configuration of a Scout process, read once.

Sources, lowest precedence first: built-in defaults < a TOML file (``--config``) < environment
variables ``SCOUT_<SECTION>__<KEY>`` < command-line overrides. Unknown keys anywhere are rejected
with the list of known ones. Library code receives the settings object (or one of its sections);
it never reads the environment itself. The layers are pydantic-settings sources (init, environment,
TOML) merged by it; `load_settings` picks them, so a bare `ScoutSettings()` is just the defaults.

Example ``scout.toml``::

    [kafka]
    bootstrap_servers = "127.0.0.1:9092"

    [job]
    model_dir = "artifacts/model"
    tau_seconds = 2592000
"""

from __future__ import annotations

import logging
import os
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)
from pydantic_settings.sources.utils import parse_env_vars

from streaming import limits
from streaming.errors import ConfigError
from training.encoders.options import DecodeMode, HostDecoder, Precision

log = logging.getLogger(__name__)

ENV_PREFIX = "SCOUT_"


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TopicNames(_Section):
    posts: str = "posts"
    dlq: str = "posts.dlq"
    profiles: str = "influencer-profiles"
    reclassified: str = "influencer-reclassified"
    similar: str = "influencer-similar"
    followers: str = "influencer-followers"
    undisclosed: str = "influencer-undisclosed"


class KafkaSettings(_Section):
    bootstrap_servers: str = "127.0.0.1:9092"
    topics: TopicNames = TopicNames()
    # Bounds the job's parallelism: one task per partition per micro-batch. The default suits a
    # two-core machine (more tasks than cores only adds latency); clusters set more (deploy/cluster).
    posts_partitions: int = Field(2, ge=1)
    # Passed untouched to every client (e.g. security.protocol, sasl.mechanism, ssl.truststore.location).
    client_properties: dict[str, str] = {}


class BrokerSettings(_Section):
    """The single-node KRaft broker started by `scout kafka start` (development and tests)."""

    host: str = "127.0.0.1"
    port: int = Field(9092, ge=1, le=65535)
    controller_port: int = Field(9093, ge=1, le=65535)
    data_dir: Path = Path("build/kafka")
    heap: str = "512m"
    start_timeout_s: float = 60.0
    stop_timeout_s: float = 30.0
    # Written by deploy/bootstrap.sh (Maven); the template and log4j2 config live in config_dir.
    classpath_file: Path = Path("build/kafka.classpath")
    config_dir: Path = Path("deploy/kafka")
    java: str = "java"


class SparkSettings(_Section):
    master: str = "local[2]"
    app_name: str = "influencer-scout"
    # Spark SQL's shuffle partitions. The job itself shuffles nothing (its state stage runs on the
    # driver, streaming.job.stateful); as for posts_partitions, the default suits a two-core machine.
    shuffle_partitions: int = Field(2, ge=1)
    checkpoint_dir: Path = Path("build/checkpoints/stream")
    trigger_seconds: float = Field(1.0, gt=0)
    max_offsets_per_trigger: int | None = None
    starting_offsets: str = "earliest"
    classpath_file: Path = Path("build/spark.classpath")
    driver_memory: str = "2g"
    # The driver's heap for `scout features` (in local mode the driver is the executor as well),
    # apart from the job's. The driver lists no dataset file, so it does not grow with the copy:
    # 1g held 150,000 and 300,000 posts (README, "The paper's scale").
    features_driver_memory: str = "1g"
    extra_conf: dict[str, str] = {}


class JobSettings(_Section):
    model_dir: Path = Path("build/model")
    image_roots: tuple[Path, ...] = ()
    max_caption_chars: int = Field(5000, ge=1)
    # An inline image travels base64-encoded (4/3 of its size) inside an event: it must fit one.
    max_image_bytes: int = Field(5_000_000, ge=1, le=limits.base64_max_bytes(limits.MAX_EVENT_BYTES))
    max_hashtags: int = Field(60, ge=0)
    # A whole post event (the Kafka value), inline image included. At most streaming.limits'
    # MAX_EVENT_BYTES: below the producer and topic caps, so an accepted event can be written again.
    max_event_bytes: int = Field(limits.DEFAULT_MAX_EVENT_BYTES, ge=1, le=limits.MAX_EVENT_BYTES)
    embed_batch_size: int = Field(64, ge=1)
    # The embed stage's encoder precision and JPEG decoding (training.encoders.options says what
    # each means; on a CPU device the host always decodes).
    embed_precision: Precision = "fp32"
    embed_decode: DecodeMode = "gpu"
    embed_host_decoder: HostDecoder = "pil"
    device: str = "auto"
    # Recency time constant in seconds; None means all-time attention.
    tau_seconds: float | None = Field(None, gt=0)
    top_k_posts: int = Field(5, ge=1)
    similar_k: int = Field(10, ge=1)
    metrics_port: int = Field(9108, ge=0, le=65535)


class SponsorshipSettings(_Section):
    """Paid posts per influencer (streaming.state.sponsorship), scored by the model's sponsored head."""

    # An undisclosed post whose sponsored probability reaches this is flagged: published on
    # kafka.topics.undisclosed, kept among the influencer's likely-undisclosed posts, its brands counted.
    undisclosed_threshold: float = Field(0.5, gt=0, le=1)
    # The likely-undisclosed posts kept per influencer (the most probable).
    top_k_posts: int = Field(5, ge=1, le=50)


class SimilaritySettings(_Section):
    """The FAISS index behind similar-influencer search (streaming.similarity.index)."""

    # Exact inner-product search up to this many influencers, HNSW past it. Measured on 2 cores
    # (bench/results/similar.json): one exact query costs ~1 ms at 10k, ~25 ms at 100k.
    exact_max_size: int = Field(20_000, ge=0)
    hnsw_m: int = Field(32, ge=4)
    hnsw_ef_construction: int = Field(64, ge=8)
    hnsw_ef_search: int = Field(64, ge=1)
    # HNSW cannot delete: replaced or removed vectors stay as filtered stale entries until their
    # share of the index passes this, then the index is rebuilt from the live vectors.
    rebuild_stale_share: float = Field(0.2, gt=0, lt=1)
    # An upsert within this cosine of the stored vector overwrites it in place (no stale entry).
    hnsw_inplace_min_cosine: float = Field(0.95, ge=-1, le=1.5)


class ServiceSettings(_Section):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=0, le=65535)
    max_k: int = Field(100, ge=1)
    page_size_max: int = Field(200, ge=1)
    # Read influencer-profiles/-reclassified from Kafka (off: an empty store, e.g. API tests).
    materialise: bool = True
    # Load job.model_dir for similar-by-posts look-ups (off, or no model there: that route answers 503).
    load_model: bool = True
    # Recent reclassifications a newly opened page (or a reconnecting feed) is sent first.
    feed_backlog: int = Field(50, ge=0)
    max_posts_per_query: int = Field(50, ge=1)
    # Bearer token every route but /health needs (`Authorization: Bearer TOKEN`). Optional on a
    # loopback host; the service refuses to start on any other host without one.
    api_token: SecretStr | None = Field(None, min_length=16)
    # Largest request body accepted (413 past it); room for one post with a job.max_image_bytes image.
    max_body_bytes: int = Field(16_000_000, ge=1)
    # POST /api/similar runs the encoders: a token bucket per client address, refilled at this many
    # requests per second up to `similar_burst` (429 with Retry-After when empty).
    similar_rate_per_s: float = Field(1.0, gt=0)
    similar_burst: int = Field(10, ge=1)
    # Serve only the profiles of this model version; unset: the version of the newest profile (the
    # model the job runs now). Profiles of other versions are never mixed into answers.
    model_version: str | None = Field(None, min_length=1)
    # Points (profile updates) and category changes kept per influencer for its history.
    history_points: int = Field(100, ge=1, le=10_000)


class ScoutSettings(BaseSettings):
    """Every section; ``ScoutSettings()`` is the built-in defaults. A process builds its settings
    with ``load_settings``, the one place that reads a file and the environment."""

    model_config = SettingsConfigDict(
        frozen=True, extra="forbid", env_prefix=ENV_PREFIX, env_nested_delimiter="__", case_sensitive=False
    )

    kafka: KafkaSettings = KafkaSettings()
    broker: BrokerSettings = BrokerSettings()
    spark: SparkSettings = SparkSettings()
    job: JobSettings = JobSettings()
    sponsorship: SponsorshipSettings = SponsorshipSettings()
    similarity: SimilaritySettings = SimilaritySettings()
    service: ServiceSettings = ServiceSettings()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # A bare constructor reads nothing but its arguments; load_settings chooses the sources.
        return (init_settings,)


class _EnvironSource(EnvSettingsSource):
    """pydantic-settings' environment source over a given mapping (``os.environ`` by default)."""

    def __init__(self, settings_cls: type[BaseSettings], environ: Mapping[str, str]) -> None:
        self._environ = environ
        super().__init__(settings_cls)

    def _load_env_vars(self) -> Mapping[str, str | None]:
        return parse_env_vars(
            self._environ, self.case_sensitive, self.env_ignore_empty, self.env_parse_none_str
        )


def _known_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    keys = []
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            keys.extend(_known_keys(annotation, f"{prefix}{name}."))
        else:
            keys.append(f"{prefix}{name}")
    return keys


def _nest(dotted: dict[str, Any]) -> dict[str, Any]:
    """{"kafka.topics.posts": "x"} -> {"kafka": {"topics": {"posts": "x"}}}"""
    nested: dict[str, Any] = {}
    for key, value in dotted.items():
        node = nested
        *parents, leaf = key.split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return nested


def _unknown_sections(environ: Mapping[str, str]) -> list[str]:
    """SCOUT_<SECTION>__... variables that name no section (a section refuses its own unknown keys)."""
    sections = set(ScoutSettings.model_fields)
    return sorted(
        key
        for key in environ
        if key.upper().startswith(ENV_PREFIX)
        and "__" in key
        and key[len(ENV_PREFIX) :].split("__", 1)[0].lower() not in sections
    )


def _invalid(problems: str) -> ConfigError:
    known = ", ".join(_known_keys(ScoutSettings))
    return ConfigError(f"invalid configuration ({problems}). Known keys: {known}")


def _checked_toml(config_file: Path) -> Path:
    """The file once it exists and parses, so that its faults are ConfigErrors naming it."""
    try:
        tomllib.loads(Path(config_file).read_text())
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {config_file} does not exist") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {config_file} is not valid TOML: {exc}") from exc
    return Path(config_file)


def load_settings(
    config_file: Path | None = None,
    overrides: dict[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> ScoutSettings:
    """Build the settings once: defaults < TOML file < SCOUT_* environment < overrides.

    ``overrides`` uses dotted keys (``{"kafka.bootstrap_servers": "127.0.0.1:19092"}``). The layers
    are pydantic-settings sources, merged by it section by section.
    """
    environ = os.environ if environ is None else environ
    unknown = _unknown_sections(environ)
    if unknown:
        raise _invalid(f"environment variables naming no section: {', '.join(unknown)}")
    sources: list[PydanticBaseSettingsSource] = [
        InitSettingsSource(ScoutSettings, init_kwargs=_nest(overrides or {})),
        _EnvironSource(ScoutSettings, environ),
    ]
    if config_file is not None:
        sources.append(TomlConfigSettingsSource(ScoutSettings, toml_file=_checked_toml(config_file)))
    try:
        settings = ScoutSettings(_build_sources=(tuple(sources), {}))
    except ValidationError as exc:
        raise _invalid(
            "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors())
        ) from exc
    log.debug("settings loaded: %s", settings)
    return settings
