"""What the pure core tests share: the real flows, loaded once, and a fixed moment."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

from helpline.core.flows import Flows, load_flows
from helpline.core.state import Conversation

ROOT = Path(__file__).resolve().parents[2]
#: Wednesday 15:00 in New York: inside the default staffed hours.
NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)
VALUES = {"org": "the Family Helpline", "call_number": "1-555-010-0100", "hours": "Mon-Fri 09:00-17:00"}


@cache
def real_flows() -> Flows:
    """flows/ as the app loads it (Flows is frozen, so one load serves every test)."""
    return load_flows(ROOT / "flows", VALUES)


def at(flow_id: str, node: str, **changes: object) -> Conversation:
    """A conversation waiting at `node`, last active a minute before NOW."""
    return replace(Conversation.new(flow_id, node, NOW - timedelta(minutes=1)), **changes)  # type: ignore[arg-type]
