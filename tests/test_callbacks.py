"""The callback confirmation by SMS: an honest expected wait, aware of staffed hours."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest

from helpline.deps import Deps
from tests.conftest import Clock

Sms = Callable[..., list[str]]


def confirmation(sms: Sms) -> str:
    for body in ("hi", "4", "4"):
        sms(body)
    [text] = sms("yes")
    return text


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(
            datetime(2026, 11, 25, 20, 0, tzinfo=UTC),
            "A specialist will call you as soon as one is free.",
            id="wednesday-3pm-open",
        ),
        pytest.param(
            datetime(2026, 11, 25, 21, 45, tzinfo=UTC),
            "We close soon; if we miss you, we call tomorrow at 9:00 AM.",
            id="wednesday-4:45pm-closing",
        ),
        pytest.param(
            datetime(2026, 11, 27, 21, 50, tzinfo=UTC),
            "We close soon; if we miss you, we call Monday at 9:00 AM.",
            id="friday-4:50pm-closing",
        ),
        pytest.param(
            datetime(2026, 11, 28, 15, 0, tzinfo=UTC),
            "We open Monday at 9:00 AM. A specialist will call then.",
            id="saturday-closed",
        ),
        pytest.param(
            datetime(2026, 11, 26, 12, 0, tzinfo=UTC),
            "We open today at 9:00 AM. A specialist will call then.",
            id="thursday-7am-closed",
        ),
    ],
)
def test_the_confirmation_gives_an_honest_wait(
    sms: Sms, deps: Deps, clock: Clock, now: datetime, expected: str
) -> None:
    clock.now = now
    text = confirmation(sms)
    [request] = deps.store.open_callbacks()
    assert request.ref in text and "is booked" in text
    assert expected in text
    assert len(text) <= 306
