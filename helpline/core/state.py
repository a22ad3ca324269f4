"""Conversation: where one person (or one call) is in a flow. A frozen value with a JSON form.

No phone numbers: the contact is the storage key, never part of the state.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

SCHEMA_VERSION = 1
HISTORY_LIMIT = 10


@dataclass(frozen=True)
class Conversation:
    flow: str
    node: str
    started_at: datetime
    updated_at: datetime
    language: str = "en"
    answers: dict[str, str] = field(default_factory=dict)
    history: tuple[str, ...] = ()
    flagged: bool = False
    #: Consecutive turns the flow did not understand (voice counts these to offer a way out).
    misses: int = 0
    #: Number of events applied; voice uses it to number webhook steps.
    step: int = 0

    @classmethod
    def new(cls, flow: str, node: str, now: datetime, language: str = "en") -> Conversation:
        return cls(flow=flow, node=node, started_at=now, updated_at=now, language=language)

    def moved_to(self, node: str, now: datetime, *, remember: bool) -> Conversation:
        """At `node`; `remember` pushes the node we leave so BACK can return to it."""
        history = (*self.history, self.node)[-HISTORY_LIMIT:] if remember else self.history
        return replace(self, node=node, history=history, updated_at=now)

    def with_answers(self, **answers: str) -> Conversation:
        return replace(self, answers={**self.answers, **answers})

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": SCHEMA_VERSION,
                "flow": self.flow,
                "node": self.node,
                "started_at": self.started_at.isoformat(),
                "updated_at": self.updated_at.isoformat(),
                "language": self.language,
                "answers": self.answers,
                "history": list(self.history),
                "flagged": self.flagged,
                "misses": self.misses,
                "step": self.step,
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, raw: str | bytes) -> Conversation:
        data: dict[str, Any] = json.loads(raw)
        if data.get("v") != SCHEMA_VERSION:
            raise ValueError(f"unknown conversation schema version {data.get('v')!r}")
        return cls(
            flow=data["flow"],
            node=data["node"],
            started_at=datetime.fromisoformat(data["started_at"]),
            updated_at=datetime.fromisoformat(data["updated_at"]),
            language=data.get("language", "en"),
            answers={str(k): str(v) for k, v in data.get("answers", {}).items()},
            history=tuple(data.get("history", ())),
            flagged=bool(data.get("flagged", False)),
            misses=int(data.get("misses", 0)),
            step=int(data.get("step", 0)),
        )
