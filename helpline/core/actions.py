"""What to do: actions the engine asks the edges to carry out, named in the imperative.

The engine only describes; channels/ renders replies, conversations.py stores callback requests.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Priority(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"


@dataclass(frozen=True)
class SendText:
    """SMS only: one outbound message. May hold `{ref}`-style runtime placeholders."""

    text: str


@dataclass(frozen=True)
class Say:
    """Voice only: speak `text` in `language` (a BCP-47 tag such as en-US)."""

    text: str
    language: str = "en-US"


@dataclass(frozen=True)
class Listen:
    """Voice only: wait for keypad and/or speech after the preceding Say actions."""

    digits: int | None = 1
    speech: bool = True
    timeout_s: int = 6
    hints: tuple[str, ...] = ()
    language: str = "en-US"


@dataclass(frozen=True)
class Dial:
    """Voice only: connect the caller to the on-call specialist.

    The engine leaves `number` and `caller_id` empty: the glue fills them in (no phone numbers in the core).
    """

    timeout_s: int = 20
    number: str = ""
    caller_id: str = ""


@dataclass(frozen=True)
class Record:
    """Voice only: record a voicemail after a beep."""

    max_length_s: int = 120


@dataclass(frozen=True)
class Hangup:
    """Voice only: end the call."""


@dataclass(frozen=True)
class Check:
    """Ask the edge a question only it can answer (is a specialist free? is the caller's number callable?).

    The glue answers at once by feeding `Outcome(f"{question}:{answer}")` back into the engine.
    """

    question: str


@dataclass(frozen=True)
class RequestCallback:
    """Ask a specialist to call this person back. The glue adds the contact details."""

    priority: Priority = Priority.NORMAL
    topic: str = ""
    preferred_time: str = "any"
    voicemail_ok: bool | None = None
    language: str = "en"
    recording_url: str | None = None
    confirmed: bool = True


Action = SendText | Say | Listen | Dial | Record | Hangup | Check | RequestCallback
