"""Deps: the shared objects one process needs, built once from Settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from redis import Redis

from helpline.config import Settings
from helpline.core.flows import Flows, load_flows
from helpline.storage import RedisStore


@dataclass(frozen=True)
class Deps:
    settings: Settings
    redis: Redis
    store: RedisStore
    flows: Flows
    #: The only clock webhooks and jobs read; tests pass one they can move.
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


def build_deps(settings: Settings, redis: Redis | None = None, clock: Callable[[], datetime] | None = None) -> Deps:
    """Connect and load the flows. Raises FlowError or ConfigError: a broken setup never starts."""
    redis = redis or Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=5)
    flows = load_flows(settings.flows_dir, flow_values(settings))
    store = RedisStore(redis, conversation_ttl=settings.conversation_retention)
    deps = Deps(settings=settings, redis=redis, store=store, flows=flows)
    return deps if clock is None else Deps(settings, redis, store, flows, clock)


def flow_values(settings: Settings) -> dict[str, str]:
    """The static placeholders of flow texts, from configuration."""
    return {
        "org": settings.helpline_name,
        "call_number": settings.helpline_call_number,
        "hours": settings.helpline_hours,
    }
