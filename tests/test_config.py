"""Settings from the environment, and an app that refuses to start when it should."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from redis import Redis

from helpline import create_app
from helpline.config import Settings
from helpline.errors import ConfigError, FlowError

PRODUCTION = {
    "TWILIO_ACCOUNT_SID": "AC" + "2" * 32,
    "TWILIO_AUTH_TOKEN": "real-token",
    "TWILIO_PHONE_NUMBER": "+15005550006",
    "SECRET_KEY": "s3cret",
    "HELPLINE_CALL_NUMBER": "1-800-555-0100",
}


def test_production_refuses_to_start_without_secrets_and_names_them() -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({})
    message = str(caught.value)
    for name in PRODUCTION:
        assert f"{name} is required in production" in message


def test_production_settings_are_read_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            **PRODUCTION,
            "CONVERSATION_TTL": "12h",
            "PUBLIC_BASE_URL": "https://x.org/",
            "HELPLINE_HOURS": "Mon-Sun 08:00-20:00",
        }
    )
    assert settings.is_production and settings.twilio_credentials
    assert settings.conversation_ttl == timedelta(hours=12)
    assert settings.public_base_url == "https://x.org"
    assert "real-token" not in repr(settings) and "s3cret" not in repr(settings)


def test_development_generates_a_local_auth_token_and_keeps_it(tmp_path: Path) -> None:
    env = {"HELPLINE_ENV": "development", "HELPLINE_VAR_DIR": str(tmp_path)}
    first, second = Settings.from_env(env), Settings.from_env(env)
    assert first.twilio_auth_token and first.twilio_auth_token == second.twilio_auth_token
    assert (tmp_path / "dev-auth-token").read_text().strip() == first.twilio_auth_token
    assert not first.twilio_credentials  # texts go to the outbox, not to Twilio


@pytest.mark.parametrize(
    ("name", "value", "complaint"),
    [
        ("HELPLINE_HOURS", "whenever", "cannot read staffed hours"),
        ("HELPLINE_TIMEZONE", "Mars/Olympus", "HELPLINE_HOURS/HELPLINE_TIMEZONE"),
        ("CONVERSATION_TTL", "a week", "cannot read duration"),
        ("HELPLINE_ENV", "staging", "HELPLINE_ENV must be"),
    ],
)
def test_bad_values_are_refused_clearly(name: str, value: str, complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        Settings.from_env({**PRODUCTION, name: value})


def test_the_app_refuses_to_start_with_a_broken_flow(settings: Settings, tmp_path: Path) -> None:
    broken = tmp_path / "flows"
    broken.mkdir()
    (broken / "sms.yaml").write_text("flow: sms\nstart: nowhere\nnodes: {}\n")
    from dataclasses import replace

    with pytest.raises(FlowError, match="sms.yaml"):
        create_app(replace(settings, flows_dir=broken))


def test_health_and_readiness(client) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ok", "redis": "up"}


def test_readiness_fails_when_redis_does_not_answer(settings: Settings, redis: Redis) -> None:
    from dataclasses import replace

    from helpline.deps import build_deps

    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    app = create_app(settings, build_deps(replace(settings, redis_url="redis://127.0.0.1:1/0"), down))
    assert app.test_client().get("/readyz").status_code == 503


def test_development_finds_the_embedded_redis_of_make_run(tmp_path: Path) -> None:
    env = {"HELPLINE_ENV": "development", "HELPLINE_VAR_DIR": str(tmp_path)}
    assert Settings.from_env(env).redis_url == "redis://127.0.0.1:6379/0"
    (tmp_path / "redis").mkdir()
    (tmp_path / "redis" / "redis.sock").touch()
    assert Settings.from_env(env).redis_url == f"unix://{tmp_path}/redis/redis.sock?db=0"
    assert Settings.from_env({**env, "REDIS_URL": "redis://elsewhere:6379/1"}).redis_url == "redis://elsewhere:6379/1"
