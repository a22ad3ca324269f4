"""Texts the bot starts itself (not replies): their words, and when they may be sent.

Carrier rules put bot-initiated texts between 8am and 9pm in the recipient's local time, which we
read from the number's area code. They are discreet: someone else may see the phone, so nothing
here names the topic of the helpline. Crisis replies and staff alerts never wait for the window.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import phonenumbers
from phonenumbers import timezone as phone_timezones

from helpline.callbacks import CallbackRequest

WINDOW_OPENS = time(8, 0)
WINDOW_CLOSES = time(21, 0)
#: A number mapped to more zones than this is non-geographic (toll-free, say): use the helpline's.
MAX_ZONES = 4
#: Words a discreet text never contains (tests check every text built here).
INDISCREET_WORDS = ("heroin", "opioid", "opiate", "addict", "addiction", "overdose", "drug", "narcan", "naloxone")
_TIMES = {"morning": "in the morning", "afternoon": "in the afternoon", "evening": "in the evening"}


def recipient_zones(number: str, fallback: ZoneInfo) -> list[ZoneInfo]:
    """The time zones a number's area code covers; `fallback` when it says nothing useful."""
    try:
        names = phone_timezones.time_zones_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return [fallback]
    known = [n for n in names if n != phone_timezones.UNKNOWN_TIMEZONE]
    if not known or len(known) > MAX_ZONES:
        return [fallback]
    return [ZoneInfo(n) for n in known]


def in_window(moment: datetime, zones: list[ZoneInfo]) -> bool:
    return all(WINDOW_OPENS <= moment.astimezone(z).time() < WINDOW_CLOSES for z in zones)


def next_send_time(number: str, now: datetime, fallback: ZoneInfo) -> datetime:
    """`now` when a bot-initiated text may go to `number` now, else the next 8am that suits all its zones."""
    zones = recipient_zones(number, fallback)
    if in_window(now, zones):
        return now
    candidates = []
    for zone in zones:
        local = now.astimezone(zone)
        for days in (0, 1, 2):
            opening = datetime.combine(local.date() + timedelta(days=days), WINDOW_OPENS, zone)
            if opening > now:
                candidates.append(opening)
    suitable = sorted(c for c in candidates if in_window(c, zones))
    return suitable[0] if suitable else max(candidates)


def confirmation_text(request: CallbackRequest, org: str) -> str:
    """The discreet confirmation for a request made outside an SMS reply (on a call, say)."""
    when = _TIMES.get(request.preferred_time, "as soon as we can")
    return (
        f"{org}: your callback request {request.ref} is booked. We will call you {when}. "
        "Reply MENU for options or STOP to end texts."
    )
