"""Settings: the one place that reads the environment.

Every variable is documented in README.md and .env.example. `Settings.from_env` fails fast with a
ConfigError naming what is missing; tests build `Settings(...)` directly.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from pathlib import Path

from helpline.core.hours import StaffedHours
from helpline.errors import ConfigError

DEVELOPMENT = "development"
PRODUCTION = "production"
ROOT = Path(__file__).resolve().parent.parent
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


@dataclass(frozen=True)
class Settings:
    redis_url: str = "redis://127.0.0.1:6379/0"
    env: str = PRODUCTION
    twilio_account_sid: str = ""
    twilio_auth_token: str = field(default="", repr=False)
    twilio_phone_number: str = ""
    twilio_api_base_url: str | None = None
    #: True when the account SID and token came from configuration, not from the dev generator.
    twilio_credentials: bool = False
    public_base_url: str | None = None
    trusted_proxies: int = 0
    secret_key: str = field(default="", repr=False)
    helpline_name: str = "the Family Helpline"
    helpline_call_number: str = ""
    helpline_timezone: str = "America/New_York"
    helpline_hours: str = "Mon-Fri 09:00-17:00"
    #: Idle time after which a conversation has expired and the person is welcomed back.
    conversation_ttl: timedelta = timedelta(days=7)
    #: How long an idle conversation is kept at all (must be at least conversation_ttl).
    conversation_retention: timedelta = timedelta(days=30)
    escalate_after: timedelta = timedelta(minutes=10)
    escalate_urgent_after: timedelta = timedelta(minutes=2)
    #: An alert not delivered this long after it was due, with no live job behind it, is queued again.
    alert_sweep_after: timedelta = timedelta(seconds=60)
    #: RQ worker tuning (worker.py): how soon a dead worker's job is noticed and the sweep runs.
    worker_ttl: timedelta = timedelta(seconds=30)
    worker_job_monitoring_interval: timedelta = timedelta(seconds=10)
    worker_maintenance_interval: timedelta = timedelta(seconds=15)
    flows_dir: Path = ROOT / "flows"

    @property
    def is_production(self) -> bool:
        return self.env == PRODUCTION

    @cached_property
    def staffed_hours(self) -> StaffedHours:
        return StaffedHours.parse(self.helpline_hours, self.helpline_timezone)

    @property
    def secret(self) -> bytes:
        return self.secret_key.encode()

    def check(self) -> Settings:
        """Raise ConfigError listing every problem; return self when all is well."""
        problems = []
        if self.env not in (DEVELOPMENT, PRODUCTION):
            problems.append(f"HELPLINE_ENV must be {DEVELOPMENT!r} or {PRODUCTION!r}, not {self.env!r}")
        if self.is_production:
            for name, value in (
                ("TWILIO_ACCOUNT_SID", self.twilio_account_sid),
                ("TWILIO_AUTH_TOKEN", self.twilio_auth_token),
                ("TWILIO_PHONE_NUMBER", self.twilio_phone_number),
                ("SECRET_KEY", self.secret_key),
                ("HELPLINE_CALL_NUMBER", self.helpline_call_number),
            ):
                if not value:
                    problems.append(f"{name} is required in production (HELPLINE_ENV=production)")
        if not self.secret_key:
            problems.append("SECRET_KEY is empty")
        if self.worker_ttl.total_seconds() < 16:
            problems.append("WORKER_TTL must be at least 16s (RQ waits WORKER_TTL - 15s for a job)")
        if self.conversation_retention < self.conversation_ttl:
            problems.append("CONVERSATION_RETENTION must not be shorter than CONVERSATION_TTL")
        try:
            StaffedHours.parse(self.helpline_hours, self.helpline_timezone)
        except (ValueError, KeyError) as error:
            problems.append(f"HELPLINE_HOURS/HELPLINE_TIMEZONE: {error}")
        if problems:
            raise ConfigError("helpline cannot start:\n  " + "\n  ".join(problems))
        return self

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ) -> Settings:
        """Read settings from the environment; development mode fills in local secrets."""

        def get(name: str, default: str = "") -> str:
            return env.get(name, "").strip() or default

        mode = get("HELPLINE_ENV", PRODUCTION).lower()
        token, sid, secret = get("TWILIO_AUTH_TOKEN"), get("TWILIO_ACCOUNT_SID"), get("SECRET_KEY")
        credentials = bool(token and sid)
        var = Path(get("HELPLINE_VAR_DIR", str(ROOT / "var")))
        redis_url = get("REDIS_URL", cls.redis_url)
        if mode == DEVELOPMENT and not get("REDIS_URL") and embedded_redis_socket(var).exists():
            # `make run`'s embedded Redis: the chat and operator commands find it without setup.
            redis_url = f"unix://{embedded_redis_socket(var)}?db=0"
        if mode == DEVELOPMENT:
            # Signatures are never skipped: the local chat signs with this generated token.
            token = token or _local_secret(var / "dev-auth-token")
            secret = secret or _local_secret(var / "dev-secret-key")
            sid = sid or "AC" + "0" * 32
        try:
            return cls(
                redis_url=redis_url,
                env=mode,
                twilio_account_sid=sid,
                twilio_auth_token=token,
                twilio_phone_number=get("TWILIO_PHONE_NUMBER", "+15005550006" if mode == DEVELOPMENT else ""),
                twilio_api_base_url=get("TWILIO_API_BASE_URL") or None,
                twilio_credentials=credentials,
                public_base_url=get("PUBLIC_BASE_URL").rstrip("/") or None,
                trusted_proxies=int(get("TRUSTED_PROXIES", "0")),
                secret_key=secret,
                helpline_name=get("HELPLINE_NAME", cls.helpline_name),
                helpline_call_number=get("HELPLINE_CALL_NUMBER", "1-555-010-0100" if mode == DEVELOPMENT else ""),
                helpline_timezone=get("HELPLINE_TIMEZONE", cls.helpline_timezone),
                helpline_hours=get("HELPLINE_HOURS", cls.helpline_hours),
                conversation_ttl=parse_duration(get("CONVERSATION_TTL", "7d")),
                conversation_retention=parse_duration(get("CONVERSATION_RETENTION", "30d")),
                escalate_after=parse_duration(get("CALLBACK_ESCALATE_AFTER", "10m")),
                escalate_urgent_after=parse_duration(get("CALLBACK_URGENT_ESCALATE_AFTER", "2m")),
                alert_sweep_after=parse_duration(get("ALERT_SWEEP_AFTER", "60s")),
                worker_ttl=parse_duration(get("WORKER_TTL", "30s")),
                worker_job_monitoring_interval=parse_duration(get("WORKER_JOB_MONITORING_INTERVAL", "10s")),
                worker_maintenance_interval=parse_duration(get("WORKER_MAINTENANCE_INTERVAL", "15s")),
                flows_dir=Path(get("HELPLINE_FLOWS_DIR", str(ROOT / "flows"))),
            ).check()
        except ValueError as error:
            raise ConfigError(f"helpline cannot start: {error}") from error


def parse_duration(text: str) -> timedelta:
    """`30`, `90s`, `10m`, `12h` or `7d`."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"cannot read duration {text!r}; use e.g. 90s, 10m, 12h or 7d")
    return timedelta(seconds=int(match[1]) * _UNITS[match[2]])


def embedded_redis_socket(var: Path) -> Path:
    """Where `make run` (helpline dev) puts its embedded Redis server's socket."""
    return var / "redis" / "redis.sock"


def _local_secret(path: Path) -> str:
    """Read a development secret from var/, creating it on first use."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(16))
        path.chmod(0o600)
    return path.read_text().strip()
