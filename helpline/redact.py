"""Phone numbers made safe to log or to use in Redis keys.

`contact_id` is a keyed hash, so keys and logs can link a person's messages without holding their
number. `mask_number` is for the rare log line where a human must recognise a number.
"""

from __future__ import annotations

import hashlib
import hmac


def mask_number(number: str) -> str:
    """Hide all but the last four digits: "+15551234567" -> "***-4567"."""
    digits = [c for c in number if c.isdigit()]
    if len(digits) <= 4:  # a short code or garbage: showing four digits would show all of it
        return "***"
    return "***-" + "".join(digits[-4:])


def contact_id(number: str, secret: bytes) -> str:
    """A stable, keyed pseudonym for an E.164 number: 32 hex characters of HMAC-SHA256."""
    return hmac.new(secret, number.encode(), hashlib.sha256).hexdigest()[:32]
