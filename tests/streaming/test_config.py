"""Settings: defaults < TOML file < SCOUT_* environment < overrides; unknown keys refused; frozen."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from streaming.config import ScoutSettings, SponsorshipSettings, load_settings
from streaming.errors import ConfigError


@pytest.fixture
def toml_file(tmp_path: Path) -> Path:
    path = tmp_path / "scout.toml"
    path.write_text(
        '[kafka]\nbootstrap_servers = "file:1"\nposts_partitions = 7\n'
        '[kafka.topics]\nposts = "file-posts"\n'
        "[job]\ntau_seconds = 100.0\nmax_hashtags = 5\n"
    )
    return path


def test_defaults_without_any_source():
    settings = load_settings(None, None, environ={})
    assert settings == ScoutSettings()
    assert settings.kafka.topics.dlq == "posts.dlq" and settings.job.tau_seconds is None


def test_file_then_environment_then_overrides(toml_file: Path):
    environ = {
        "SCOUT_KAFKA__BOOTSTRAP_SERVERS": "env:2",
        "SCOUT_JOB__TAU_SECONDS": "200",
        "SCOUT_KAFKA__TOPICS__DLQ": "env-dlq",
        "OTHER": "ignored",
    }
    settings = load_settings(toml_file, {"kafka.bootstrap_servers": "flag:3"}, environ=environ)
    assert settings.kafka.bootstrap_servers == "flag:3"  # overrides beat env and file
    assert settings.job.tau_seconds == 200.0  # env beats file, converted to its type
    assert settings.kafka.topics.dlq == "env-dlq"  # env reaches nested sections
    assert settings.kafka.topics.posts == "file-posts"  # file beats defaults, nested merge keeps others
    assert settings.kafka.posts_partitions == 7 and settings.job.max_hashtags == 5
    assert settings.kafka.topics.profiles == "influencer-profiles"


def test_unknown_keys_are_refused_with_the_known_list(toml_file: Path):
    with pytest.raises(ConfigError) as caught:
        load_settings(None, {"kafka.bootstrap_server": "x"}, environ={})
    message = str(caught.value)
    assert "bootstrap_server" in message and "Known keys:" in message
    assert "kafka.bootstrap_servers" in message and "job.tau_seconds" in message
    with pytest.raises(ConfigError, match="Known keys:"):
        load_settings(None, None, environ={"SCOUT_JOBB__DEVICE": "cpu"})
    toml_file.write_text("[spark]\nmaster = 'local[1]'\nmastre = 'typo'\n")
    with pytest.raises(ConfigError, match="mastre"):
        load_settings(toml_file, None, environ={})


def test_invalid_values_and_files_are_config_errors(tmp_path: Path):
    with pytest.raises(ConfigError, match="posts_partitions"):
        load_settings(None, {"kafka.posts_partitions": 0}, environ={})
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "missing.toml", None, environ={})
    broken = tmp_path / "broken.toml"
    broken.write_text("[kafka\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(broken, None, environ={})


def test_settings_are_frozen():
    settings = load_settings(None, None, environ={})
    with pytest.raises(ValidationError):
        settings.kafka.bootstrap_servers = "elsewhere:9092"  # type: ignore[misc]
    with pytest.raises(ValidationError):
        settings.job = settings.job  # type: ignore[misc]


def _properties(path: Path) -> dict[str, str]:
    pairs = (line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")
    return {key.strip(): value.strip() for key, value in pairs}


def test_size_limits_agree_everywhere():
    from streaming import limits
    from streaming.events import load_schema
    from streaming.infra.kafka_admin import topic_specs

    limits.check_limits()
    broker = _properties(Path(__file__).resolve().parents[2] / "deploy" / "kafka" / "server.properties")
    assert int(broker["message.max.bytes"]) == limits.MESSAGE_MAX_BYTES
    assert int(broker["replica.fetch.max.bytes"]) >= limits.MESSAGE_MAX_BYTES
    specs = topic_specs(ScoutSettings().kafka)
    assert {spec.configs["max.message.bytes"] for spec in specs} == {str(limits.MESSAGE_MAX_BYTES)}
    job = ScoutSettings().job
    assert job.max_event_bytes == limits.DEFAULT_MAX_EVENT_BYTES
    assert job.max_event_bytes + limits.RECORD_OVERHEAD_BYTES <= limits.PRODUCER_MAX_REQUEST_BYTES
    post = load_schema("post_event")["properties"]
    assert post["influencer"]["maxLength"] == limits.INFLUENCER_MAX_CHARS
    assert post["post_id"]["maxLength"] == limits.POST_ID_MAX_CHARS
    assert post["image_uri"]["maxLength"] == limits.IMAGE_URI_MAX_CHARS
    dead = load_schema("dead_letter")["properties"]
    assert dead["detail"]["maxLength"] == limits.DETAIL_MAX_CHARS
    assert dead["original_b64"]["maxLength"] == 4 * -(-limits.ORIGINAL_MAX_BYTES // 3)
    assert dead["original_bytes"]["minimum"] == limits.ORIGINAL_MAX_BYTES + 1
    assert dead["key_bytes"]["minimum"] == limits.KEY_MAX_BYTES + 1
    reclassified = load_schema("reclassified")["properties"]
    assert reclassified["trigger_posts"]["maxItems"] == limits.TRIGGER_POSTS_MAX
    profile = load_schema("profile")
    sponsorship = profile["properties"]["sponsorship"]["properties"]
    assert sponsorship["brands"]["maxItems"] == limits.BRANDS_MAX
    assert sponsorship["brands"]["items"]["properties"]["brand"]["maxLength"] == limits.INFLUENCER_MAX_CHARS
    top_k = SponsorshipSettings.model_fields["top_k_posts"].metadata
    assert sponsorship["likely_undisclosed"]["maxItems"] == next(m.le for m in top_k if hasattr(m, "le"))
    likely_brands = profile["$defs"]["likely_post"]["properties"]["brands"]
    undisclosed = load_schema("undisclosed")["properties"]
    for brands in (likely_brands, undisclosed["brands"]):
        assert brands["maxItems"] == limits.POST_BRANDS_MAX
        assert brands["items"]["maxLength"] == limits.INFLUENCER_MAX_CHARS


def test_validation_limits_above_what_a_producer_can_write_are_refused():
    from streaming import limits

    load_settings(None, {"job.max_event_bytes": limits.MAX_EVENT_BYTES}, environ={})
    with pytest.raises(ConfigError, match="max_event_bytes"):
        load_settings(None, {"job.max_event_bytes": limits.MESSAGE_MAX_BYTES}, environ={})
    with pytest.raises(ConfigError, match="max_image_bytes"):
        load_settings(None, {"job.max_image_bytes": limits.MAX_EVENT_BYTES}, environ={})
