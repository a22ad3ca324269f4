"""Staffed hours: parsing and the questions the callback confirmation asks of them."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from helpline.core.hours import StaffedHours

HOURS = StaffedHours.parse("Mon-Fri 09:00-17:00; Sat 10:00-14:00", "America/New_York")


@pytest.mark.parametrize(
    ("utc", "is_open", "opening"),
    [
        pytest.param(datetime(2026, 11, 25, 15, 0, tzinfo=UTC), True, "today at 10:00 AM", id="wed-10am"),
        pytest.param(datetime(2026, 11, 25, 13, 0, tzinfo=UTC), False, "today at 9:00 AM", id="wed-8am"),
        pytest.param(datetime(2026, 11, 25, 23, 0, tzinfo=UTC), False, "tomorrow at 9:00 AM", id="wed-6pm"),
        pytest.param(datetime(2026, 11, 28, 20, 0, tzinfo=UTC), False, "Monday at 9:00 AM", id="sat-3pm"),
        pytest.param(datetime(2026, 11, 27, 23, 30, tzinfo=UTC), False, "tomorrow at 10:00 AM", id="fri-evening"),
    ],
)
def test_open_and_next_opening_in_local_time(utc: datetime, is_open: bool, opening: str) -> None:
    assert HOURS.is_open(utc) is is_open
    assert HOURS.describe_opening(utc) == opening


def test_wrapping_day_ranges_and_24_00() -> None:
    hours = StaffedHours.parse("Sat-Sun 00:00-24:00", "UTC")
    assert hours.is_open(datetime(2026, 11, 29, 23, 59, tzinfo=UTC))
    assert not hours.is_open(datetime(2026, 11, 30, 0, 1, tzinfo=UTC))


@pytest.mark.parametrize("text", ["", "Mon-Fri", "Mon-Fri 9-5", "Funday 09:00-17:00", "Mon 17:00-09:00"])
def test_unreadable_hours_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        StaffedHours.parse(text, "UTC")


def test_a_shift_ends_at_the_last_of_back_to_back_spans() -> None:
    hours = StaffedHours.parse("Mon 09:00-12:00; Mon 12:00-17:00", "UTC")
    monday_11 = datetime(2026, 11, 30, 11, 0, tzinfo=UTC)
    assert hours.shift_end(monday_11) == datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
    assert hours.describe_opening(monday_11, after=hours.shift_end(monday_11)) == "Monday at 9:00 AM"
    closed = datetime(2026, 11, 30, 18, 0, tzinfo=UTC)
    assert hours.shift_end(closed) == closed
