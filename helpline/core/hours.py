"""Staffed hours: parse `Mon-Fri 09:00-17:00; Sat 10:00-14:00` and answer questions about it.

Pure: the caller passes timezone-aware datetimes; nothing here reads the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SPAN = re.compile(
    r"^\s*(?P<first>[a-z]{3})(?:\s*-\s*(?P<last>[a-z]{3}))?\s+"
    r"(?P<open>\d{1,2}:\d{2})\s*-\s*(?P<close>\d{1,2}:\d{2})\s*$"
)


@dataclass(frozen=True)
class Span:
    weekday: int  # Monday is 0
    opens: time
    closes: time


@dataclass(frozen=True)
class StaffedHours:
    spans: tuple[Span, ...]
    timezone: ZoneInfo
    text: str

    @classmethod
    def parse(cls, text: str, timezone: str) -> StaffedHours:
        """Parse `Mon-Fri 09:00-17:00`, several spans separated by `;` or `,`. Raises ValueError."""
        spans: list[Span] = []
        for part in filter(None, (p.strip() for p in re.split(r"[;,]", text.lower()))):
            match = _SPAN.match(part)
            if not match or match["first"] not in DAYS or (match["last"] or "mon") not in DAYS:
                raise ValueError(f"cannot read staffed hours {part!r}; expected e.g. 'Mon-Fri 09:00-17:00'")
            opens, closes = _clock(match["open"]), _clock(match["close"])
            if closes <= opens:
                raise ValueError(f"staffed hours {part!r} close before they open")
            first = DAYS.index(match["first"])
            last = DAYS.index(match["last"]) if match["last"] else first
            days = range(first, last + 1) if last >= first else [*range(first, 7), *range(0, last + 1)]
            spans.extend(Span(day, opens, closes) for day in days)
        if not spans:
            raise ValueError("staffed hours are empty")
        return cls(tuple(spans), ZoneInfo(timezone), text.strip())

    def is_open(self, now: datetime) -> bool:
        local = now.astimezone(self.timezone)
        return any(s.weekday == local.weekday() and s.opens <= local.time() < s.closes for s in self.spans)

    def next_opening(self, now: datetime) -> datetime:
        """The next moment staff come on duty after `now` (now itself if open)."""
        local = now.astimezone(self.timezone)
        for offset in range(8):
            day = (local + timedelta(days=offset)).date()
            for span in sorted(self.spans, key=lambda s: s.opens):
                if span.weekday != day.weekday():
                    continue
                start = datetime.combine(day, span.opens, self.timezone)
                end = datetime.combine(day, span.closes, self.timezone)
                if end > local:
                    return max(start, local)
        raise AssertionError("parse() guarantees at least one span a week")

    def shift_end(self, now: datetime) -> datetime:
        """When the staffed time `now` falls in ends (back-to-back spans count as one); now if closed."""
        local = now.astimezone(self.timezone)
        while True:
            ends = [
                datetime.combine(local.date(), s.closes, self.timezone)
                for s in self.spans
                if s.weekday == local.weekday() and s.opens <= local.time() < s.closes
            ]
            if not ends:
                return local
            local = max(ends)

    def describe_opening(self, now: datetime, after: datetime | None = None) -> str:
        """When staff next come on duty after `after` (default: now), said from `now`'s point of view:
        `today at 9:00 AM`, `tomorrow at 9:00 AM` or `Monday at 9:00 AM`, in local time."""
        opening = self.next_opening(after or now)
        days_ahead = (opening.date() - now.astimezone(self.timezone).date()).days
        day = ("today", "tomorrow")[days_ahead] if days_ahead < 2 else _DAY_NAMES[opening.weekday()]
        return f"{day} at {opening.strftime('%I:%M %p').lstrip('0')}"


def _clock(text: str) -> time:
    hours, minutes = (int(x) for x in text.split(":"))
    if hours == 24 and minutes == 0:
        return time(23, 59, 59)
    return time(hours, minutes)
