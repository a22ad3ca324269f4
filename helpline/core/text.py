"""Text helpers: normalising what people type, counting SMS segments, filling placeholders.

Segment counting follows Twilio's calculator: GSM-7 (160, then 153 per part; the extension
characters take two septets) or UCS-2 (70, then 67 per part; astral characters take two units),
and a two-unit character is never split across parts.
"""

from __future__ import annotations

import re
import string
import unicodedata

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "^{}\\[~]|€\f"
_NON_WORD = re.compile(r"[^\w]+")
MAX_INBOUND_CHARS = 1600  # Twilio's own cap on a concatenated SMS body


def clean_text(text: str) -> str:
    """NFC, no control characters, trimmed, capped: what the engine may see of any input."""
    text = unicodedata.normalize("NFC", text)
    text = "".join(ch if ch.isprintable() or ch in "\n\t" else " " for ch in text)
    return text.strip()[:MAX_INBOUND_CHARS]


def normalise(text: str) -> str:
    """Casefolded words without accents or punctuation: `  Menu!! ` -> `menu`, `Sí` -> `si`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.replace("'", "").replace("\u2019", "")  # "don't" and "dont" match alike
    return _NON_WORD.sub(" ", bare).replace("_", " ").strip()


def is_gsm7(text: str) -> bool:
    return all(ch in GSM7_BASIC or ch in GSM7_EXTENDED for ch in text)


def segment_count(text: str) -> tuple[str, int]:
    """(`GSM-7` or `UCS-2`, number of SMS segments) for one outbound message."""
    if is_gsm7(text):
        units = [2 if ch in GSM7_EXTENDED else 1 for ch in text]
        return "GSM-7", _segments(units, single=160, part=153)
    units = [2 if ord(ch) > 0xFFFF else 1 for ch in text]
    return "UCS-2", _segments(units, single=70, part=67)


def _segments(units: list[int], *, single: int, part: int) -> int:
    if sum(units) <= single:
        return 1
    count, used = 1, 0
    for size in units:
        if used + size > part:
            count, used = count + 1, 0
        used += size
    return count


def placeholders(text: str) -> set[str]:
    """The `{name}` fields in a text."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def fill(text: str, values: dict[str, str]) -> str:
    """Replace the `{name}` fields present in `values`; leave the others for a later stage."""
    return re.sub(r"\{(\w+)\}", lambda m: values.get(m[1], m[0]), text)
