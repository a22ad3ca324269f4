"""Phone numbers: normalise what Twilio sends to E.164 with `phonenumbers`."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers

DEFAULT_REGION = "US"


def e164(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """`+15551234567` for a possible number in any common spelling; None when it is not one."""
    return _formatted(raw, region, phonenumbers.is_possible_number)


def sender(raw: str) -> str:
    """The sender's identity for keys: E.164 when it is a phone number, else the raw value trimmed.

    Short codes, alphanumeric senders and `client:` voice identities are still senders; they just
    are not phone numbers we could call back.
    """
    return e164(raw) or raw.strip()[:64]


def callable_number(raw: str, region: str = DEFAULT_REGION) -> str | None:
    """E.164 for a number a specialist could call back: valid, not just possible; None otherwise.

    Used for a caller id (withheld and `client:` callers have none) and for digits typed on a call.
    """
    return _formatted(raw, region, phonenumbers.is_valid_number)


def _formatted(raw: str, region: str, acceptable: Callable[[phonenumbers.PhoneNumber], bool]) -> str | None:
    try:
        number = phonenumbers.parse(raw.strip(), region)
    except phonenumbers.NumberParseException:
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if acceptable(number) else None
