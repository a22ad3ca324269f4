"""What happened: inbound events the engine reacts to, named in the past tense.

Pure values in domain words: no Twilio parameter names, no phone numbers.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TextReceived:
    """An SMS arrived (or the chat sent a line)."""

    text: str


@dataclass(frozen=True)
class KeysPressed:
    """A caller pressed keys on the keypad."""

    digits: str


@dataclass(frozen=True)
class SpeechHeard:
    """A caller said something; `text` is the recogniser's transcript."""

    text: str
    confidence: float = 1.0


@dataclass(frozen=True)
class CallAnswered:
    """A call reached the helpline."""


@dataclass(frozen=True)
class NoInput:
    """The caller stayed silent until the prompt timed out."""


@dataclass(frozen=True)
class Outcome:
    """A voice step finished with a named result, e.g. `dial:no-answer` or `recorded`."""

    name: str
    value: str = ""


Event = TextReceived | KeysPressed | SpeechHeard | CallAnswered | NoInput | Outcome


def spoken_or_written(event: Event) -> str | None:
    """The words in an event, for safety checks and keyword matching; None for non-verbal events."""
    match event:
        case TextReceived(text=text) | SpeechHeard(text=text):
            return text
        case KeysPressed(digits=digits):
            return digits
        case _:
            return None
