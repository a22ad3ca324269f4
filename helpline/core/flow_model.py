"""The flow model: frozen values built from `flows/*.yaml`, and the names the flow format uses.

Pure: no I/O. flows.py loads and builds these; flow_checks.py validates them.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from helpline.core import safety

#: Special route targets: the node before this one, the node an expired conversation left off at.
BACK, RESUME = "$back", "$resume"
#: Placeholders filled from configuration when flows load.
STATIC_FIELDS = ("org", "call_number", "hours")
#: Filled by the engine from the conversation's answers.
ANSWER_FIELDS = ("zip",)
#: Filled by the glue once a callback request is stored; samples are the longest plausible values.
RUNTIME_SAMPLES = {
    "ref": "#9999999",
    "wait": "x" * 60,
    "request_state": "x" * 10,
    "opening": "Wednesday at 10:00 AM",
    "last_four": "0 0 0 0",
}
SMS_MAX_SEGMENTS = 2
CHANNELS = ("sms", "voice")
ACTIONS = ("request_callback", "dial", "record", "hangup")
#: What the edge reports after a voice action: a node that does it must route every one (`on:`).
ACTION_OUTCOMES = {
    "dial": ("dial:completed", "dial:answered", "dial:busy", "dial:no-answer", "dial:failed", "dial:canceled"),
    "record": ("recorded",),
}


@dataclass(frozen=True)
class Route:
    goto: str
    keys: frozenset[str] = frozenset()
    phrases: tuple[str, ...] = ()
    pattern: re.Pattern[str] | None = None
    capture: str | None = None
    on: str | None = None
    set: Mapping[str, str] = field(default_factory=dict)


#: One outbound message (or spoken prompt): text keys joined with a space, e.g. a shared body
#: followed by an SMS-only "Reply MORE..." prompt.
Message = tuple[str, ...]


@dataclass(frozen=True)
class Node:
    id: str
    say: tuple[Message, ...] = ()
    do: tuple[str, ...] = ()
    options: tuple[Route, ...] = ()
    otherwise: str | None = None
    next: str | None = None
    topic: str | None = None
    reprompt: tuple[Message, ...] = ()
    listen: Mapping[str, Any] = field(default_factory=dict)
    #: A question for the edge (Check action); the answer comes back as an `on: "<check>:<answer>"` outcome.
    check: str | None = None

    @property
    def waits(self) -> bool:
        return self.next is None


@dataclass(frozen=True)
class Flow:
    id: str
    channel: str
    start: str
    nodes: Mapping[str, Node]
    texts: Mapping[str, Mapping[str, str]]  # language -> key -> text
    languages: tuple[str, ...] = ("en",)
    globals: tuple[Route, ...] = ()
    resume: str | None = None
    not_understood: str = "not_understood"
    version: int = 1
    crisis: safety.Crisis = field(default_factory=safety.Crisis)
    #: Voice: spoken before the prompt again when the caller said nothing.
    not_heard: str | None = None
    #: After this many consecutive misses (silence or input not understood) go to `after_misses`; 0 is never.
    misses_limit: int = 0
    after_misses: str | None = None

    def text(self, message: Message, language: str) -> str:
        """The text of `message` in `language`, falling back key by key to the flow's first language."""
        return " ".join(self.texts.get(language, {}).get(k) or self.texts[self.languages[0]][k] for k in message)


@dataclass(frozen=True)
class Flows:
    """Every flow by id, plus the crisis rules that apply before any of them."""

    flows: Mapping[str, Flow]
    crisis: safety.Crisis

    def __getitem__(self, flow_id: str) -> Flow:
        return self.flows[flow_id]
