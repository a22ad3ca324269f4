"""Staff SMS commands through the signed /sms webhook, a real Redis and the roster."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask import Flask
from twilio.request_validator import RequestValidator

from helpline.callbacks import CallbackRequest, CallbackStatus
from helpline.deps import Deps
from helpline.staff import commands
from helpline.staff.roster import StaffMember
from tests.conftest import AUTH_TOKEN, CALLER, PUBLIC_BASE_URL, Clock, message_texts, sms_form
from tests.twilio_fakes import Recorder

Sms = Callable[..., list[str]]
ANN, BEN, STRANGER = "+15035550101", "+15035550102", "+12125550199"


@pytest.fixture
def roster(deps: Deps) -> None:
    deps.store.add_staff(StaffMember("Ann", ANN, on_call=True))
    deps.store.add_staff(StaffMember("Ben", BEN))


def book(
    sms: Sms, deps: Deps, sender: str = CALLER, bodies: tuple[str, ...] = ("hi", "4", "2", "no")
) -> CallbackRequest:
    for body in bodies:
        sms(body, sender=sender)
    return next(r for r in deps.store.open_callbacks() if r.number == sender)


def reply(sms: Sms, body: str, sender: str = ANN, sid: str | None = None) -> str:
    [text] = sms(body, sender=sender, sid=sid)
    return text


@pytest.mark.parametrize(
    ("text", "verb", "callback_id", "note"),
    [
        pytest.param("LIST", "list", None, "", id="list"),
        pytest.param("claim #1042", "claim", 1042, "", id="claim-hash"),
        pytest.param("ACK 1042", "claim", 1042, "", id="ack-no-hash"),
        pytest.param("  Done #1042 left a message, will retry ", "done", 1042, "left a message, will retry", id="done"),
        pytest.param("NOANSWER #7", "noanswer", 7, "", id="noanswer"),
        pytest.param("no answer #7", "noanswer", 7, "", id="no-answer-two-words"),
        pytest.param("help", "help", None, "", id="help"),
        pytest.param("hello there", "unknown", None, "", id="chatter"),
        pytest.param("", "unknown", None, "", id="empty"),
    ],
)
def test_staff_commands_are_parsed(text: str, verb: str, callback_id: int | None, note: str) -> None:
    assert commands.parse(text) == commands.StaffCommand(verb, callback_id, note)


def test_list_shows_open_requests_urgent_first(sms: Sms, deps: Deps, roster: None, clock: Clock) -> None:
    normal = book(sms, deps)
    clock.advance(minutes=5)
    sms("he is not breathing", sender="+12125550177")
    [urgent] = [r for r in deps.store.open_callbacks() if r.is_urgent]
    text = reply(sms, "LIST")
    assert text.startswith("Open (2): ")
    assert text.index(urgent.ref) < text.index(normal.ref)
    assert "URGENT" in text and CALLER in text and "5m" in text


def test_claim_then_done_closes_the_request_and_texts_nobody(
    sms: Sms, deps: Deps, roster: None, sent: Recorder
) -> None:
    request = book(sms, deps)
    text = reply(sms, f"CLAIM {request.ref}")
    assert text.startswith(f"{request.ref} is yours") and CALLER in text and "NO voicemail" in text
    claimed = deps.store.get_callback(request.id)
    assert claimed is not None and claimed.status is CallbackStatus.CLAIMED and claimed.claimed_by == "Ann"
    assert reply(sms, f"DONE {request.ref} talked for 20 min") == f"{request.ref} closed. Thank you."
    assert deps.store.open_callbacks() == []
    done = deps.store.get_callback(request.id)
    assert done is not None and done.status is CallbackStatus.DONE
    assert [(e.who, e.what, e.note) for e in deps.store.callback_history(request.id)][-2:] == [
        ("Ann", "claimed", ""),
        ("Ann", "done", "talked for 20 min"),
    ]
    assert sent.requests == []  # closing sends nothing to the requester


def test_a_claimed_request_cannot_be_claimed_by_someone_else(sms: Sms, deps: Deps, roster: None) -> None:
    request = book(sms, deps)
    reply(sms, f"ACK {request.ref}")
    assert reply(sms, f"CLAIM {request.ref}", sender=BEN) == f"{request.ref} is already claimed by Ann."
    assert reply(sms, f"CLAIM {request.ref}").startswith(f"{request.ref} is already yours")


def test_noanswer_logs_an_attempt_and_puts_the_request_back(sms: Sms, deps: Deps, roster: None) -> None:
    request = book(sms, deps)
    reply(sms, f"CLAIM {request.ref}")
    assert reply(sms, f"NOANSWER {request.ref}") == f"{request.ref}: attempt 1 logged. It is back in the queue."
    [back] = deps.store.open_callbacks()
    assert (back.status, back.attempts, back.claimed_by) == (CallbackStatus.PENDING, 1, "")
    assert reply(sms, f"CLAIM {request.ref}", sender=BEN).startswith(f"{request.ref} is yours")


def test_commands_on_closed_or_unknown_requests_get_a_short_answer(sms: Sms, deps: Deps, roster: None) -> None:
    request = book(sms, deps)
    reply(sms, f"DONE {request.ref}")
    assert reply(sms, f"CLAIM {request.ref}") == f"{request.ref} is already closed (done)."
    assert reply(sms, "CLAIM #99999") == "No request #99999. Reply LIST for open ones."
    assert reply(sms, "CLAIM").startswith("Which request?")
    assert reply(sms, "what is going on") == "Not a staff command. " + commands.HELP
    assert reply(sms, "HELP") == commands.HELP
    assert reply(sms, "LIST") == "No open requests."


def test_the_same_words_from_a_number_not_on_the_roster_are_never_honoured(sms: Sms, deps: Deps, roster: None) -> None:
    request = book(sms, deps)
    texts = sms(f"CLAIM {request.ref}", sender=STRANGER)
    assert texts and not any("is yours" in t for t in texts)
    assert sms("LIST", sender=STRANGER) != ["No open requests."]
    stored = deps.store.get_callback(request.id)
    assert stored is not None and stored.status is CallbackStatus.PENDING


def test_a_repeated_staff_delivery_is_carried_out_once(sms: Sms, deps: Deps, roster: None) -> None:
    request = book(sms, deps)
    sid = "SM" + "c" * 32
    first = reply(sms, f"NOANSWER {request.ref}", sid=sid)
    assert reply(sms, f"NOANSWER {request.ref}", sid=sid) == first
    stored = deps.store.get_callback(request.id)
    assert stored is not None and stored.attempts == 1


def test_staff_stop_still_opts_out(sms: Sms, deps: Deps, roster: None) -> None:
    from helpline.redact import contact_id

    assert sms("STOP", sender=ANN) == []
    assert deps.store.has_opted_out(contact_id(ANN, deps.settings.secret))


def test_two_staff_claiming_at_once_get_one_claim(sms: Sms, deps: Deps, roster: None, app: Flask) -> None:
    request = book(sms, deps)
    validator, barrier, replies = RequestValidator(AUTH_TOKEN), threading.Barrier(2), []

    def claim(sender: str) -> None:
        form = sms_form(f"CLAIM {request.ref}", sender=sender)
        signature = validator.compute_signature(f"{PUBLIC_BASE_URL}/sms", form)
        barrier.wait()
        response = app.test_client().post("/sms", data=form, headers={"X-Twilio-Signature": signature})
        replies.extend(message_texts(response))

    threads = [threading.Thread(target=claim, args=(n,)) for n in (ANN, BEN)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted("is yours" in r for r in replies) == [False, True]
    assert len([e for e in deps.store.callback_history(request.id) if e.what == "claimed"]) == 1
