"""outbound.py against Prism (Twilio's OpenAPI contract), the Recorder (Twilio-shaped errors) and Redis."""

from __future__ import annotations

import json
import logging
import re
import traceback
from collections.abc import Callable, Iterator

import pytest
import requests
from redis import Redis
from twilio.rest import Client

from helpline.outbound import (
    OUTBOX_LIMIT,
    OptedOut,
    OutboxMessenger,
    PermanentSendError,
    SendError,
    TransientSendError,
    TwilioMessenger,
    twilio_client,
)
from helpline.redact import contact_id, mask_number
from tests.twilio_fakes import Recorder, free_port

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "outbound-test-token"
FROM = "+15005550006"
TO = "+15415550123"
STATUS_CALLBACK = "https://helpline.example.org/twilio/status"
MESSAGE_SID = re.compile(r"^SM[0-9a-f]{32}$")

MakeMessenger = Callable[..., TwilioMessenger]


@pytest.fixture
def recorder(sent: Recorder) -> Recorder:
    return sent


@pytest.fixture
def make_messenger() -> Iterator[MakeMessenger]:
    """Build TwilioMessengers on real SDK clients; their HTTP sessions are closed afterwards."""
    clients: list[Client] = []

    def make(
        base_url: str, account_sid: str = ACCOUNT_SID, status_callback: str | None = None, timeout: float = 5
    ) -> TwilioMessenger:
        client = twilio_client(account_sid, AUTH_TOKEN, base_url, timeout=timeout)
        clients.append(client)
        return TwilioMessenger(client, FROM, status_callback=status_callback)

    yield make
    for client in clients:
        client.http_client.session.close()


# Prism: Twilio's published contract


@pytest.mark.parametrize("status_callback", [None, STATUS_CALLBACK], ids=["plain", "with-status-callback"])
def test_valid_text_is_accepted_by_the_twilio_contract(
    make_messenger: MakeMessenger, prism_url: str, status_callback: str | None
) -> None:
    sent = make_messenger(prism_url, status_callback=status_callback).send_text(TO, "Hello from the helpline")
    assert MESSAGE_SID.match(sent.sid)


def test_malformed_account_sid_is_a_permanent_error(make_messenger: MakeMessenger, prism_url: str) -> None:
    with pytest.raises(PermanentSendError) as caught:
        make_messenger(prism_url, account_sid="ACbad").send_text(TO, "Hello")
    assert caught.type is PermanentSendError
    assert (caught.value.status, caught.value.code) == (422, None)  # Prism's problem+json has no Twilio code


def test_status_callback_reaches_twilio_and_must_be_a_uri(make_messenger: MakeMessenger, prism_url: str) -> None:
    with pytest.raises(PermanentSendError) as caught:
        make_messenger(prism_url, status_callback="not a uri").send_text(TO, "Hello")
    assert caught.value.status == 422


# Recorder: exactly what is sent, and Twilio's business errors


def test_sends_to_from_and_body_with_basic_auth(make_messenger: MakeMessenger, recorder: Recorder) -> None:
    sent = make_messenger(recorder.base_url).send_text(TO, "A specialist will call you.")

    [request] = recorder.requests
    assert request.path == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert request.params == {"To": TO, "From": FROM, "Body": "A specialist will call you."}
    assert request.basic_auth == (ACCOUNT_SID, AUTH_TOKEN)
    assert MESSAGE_SID.match(sent.sid)
    assert recorder.texts_to(TO) == ["A specialist will call you."]


def test_status_callback_is_sent_when_configured(make_messenger: MakeMessenger, recorder: Recorder) -> None:
    make_messenger(recorder.base_url, status_callback=STATUS_CALLBACK).send_text(TO, "Hello")

    [request] = recorder.requests
    assert request.params == {"To": TO, "From": FROM, "Body": "Hello", "StatusCallback": STATUS_CALLBACK}


def test_opted_out_recipient_raises_opted_out(make_messenger: MakeMessenger, recorder: Recorder) -> None:
    recorder.fail_for(to=TO, status=400, code=21610)
    messenger = make_messenger(recorder.base_url)

    with pytest.raises(OptedOut) as caught:
        messenger.send_text(TO, "Hello")
    messenger.send_text("+15415550199", "Hello")  # others still get their texts

    assert isinstance(caught.value, PermanentSendError)
    assert (caught.value.status, caught.value.code) == (400, 21610)
    assert recorder.texts_to(TO) == []
    assert recorder.texts_to("+15415550199") == ["Hello"]


@pytest.mark.parametrize(
    ("status", "code"),
    [
        pytest.param(400, 21211, id="invalid-number"),
        pytest.param(401, 20003, id="bad-credentials"),
        pytest.param(404, 20404, id="not-found"),
    ],
)
def test_other_client_errors_are_permanent(
    make_messenger: MakeMessenger, recorder: Recorder, status: int, code: int
) -> None:
    recorder.fail_next(status=status, code=code)
    with pytest.raises(PermanentSendError) as caught:
        make_messenger(recorder.base_url).send_text(TO, "Hello")
    assert caught.type is PermanentSendError
    assert (caught.value.status, caught.value.code) == (status, code)


@pytest.mark.parametrize(
    ("status", "code"),
    [
        pytest.param(429, 20429, id="too-many-requests"),
        pytest.param(500, 20500, id="server-error"),
        pytest.param(503, None, id="unavailable-without-code"),
    ],
)
def test_rate_limits_and_server_errors_are_transient(
    make_messenger: MakeMessenger, recorder: Recorder, status: int, code: int | None
) -> None:
    recorder.fail_next(status=status, code=code)
    messenger = make_messenger(recorder.base_url)

    with pytest.raises(TransientSendError) as caught:
        messenger.send_text(TO, "Hello")
    retried = messenger.send_text(TO, "Hello")

    assert (caught.value.status, caught.value.code) == (status, code)
    assert MESSAGE_SID.match(retried.sid)
    assert recorder.texts_to(TO) == ["Hello"]


def test_unreachable_api_is_transient(make_messenger: MakeMessenger) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(TransientSendError) as caught:
        make_messenger(closed).send_text(TO, "Hello")
    assert (caught.value.status, caught.value.code) == (None, None)
    assert isinstance(caught.value.__cause__, requests.ConnectionError)


def test_unanswered_request_times_out_as_transient(make_messenger: MakeMessenger, recorder: Recorder) -> None:
    release = recorder.hang_next()
    with pytest.raises(TransientSendError) as caught:
        make_messenger(recorder.base_url, timeout=0.2).send_text(TO, "Hello")
    release.set()

    assert isinstance(caught.value.__cause__, requests.Timeout)
    assert len(recorder.requests) == 1  # Twilio may well have sent it: a retry can duplicate the text


def test_send_errors_never_quote_the_number(make_messenger: MakeMessenger, recorder: Recorder) -> None:
    recorder.fail_for(to=TO, status=400, code=21211, message=f"The 'To' number {TO} is not a valid phone number.")
    with pytest.raises(SendError) as caught:
        make_messenger(recorder.base_url).send_text(TO, "Hello")
    shown = "".join(traceback.format_exception(caught.value))  # what RQ stores and logs
    assert "21211" in str(caught.value)
    assert TO not in shown and TO[1:] not in shown


def test_info_log_of_a_sent_text_hides_number_and_body(
    make_messenger: MakeMessenger, recorder: Recorder, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    make_messenger(recorder.base_url).send_text(TO, "My son is using again")
    logged = caplog.text
    assert mask_number(TO) in logged
    assert TO[1:] not in logged and "My son is using again" not in logged


# OutboxMessenger: development mode, real Redis


def test_outbox_appends_each_text_to_the_redis_list(redis: Redis) -> None:
    outbox = OutboxMessenger(redis, key="helpline:outbox")
    first = outbox.send_text(TO, "Hello")
    second = outbox.send_text("+15415550199", "Again")

    records = [json.loads(item) for item in redis.lrange("helpline:outbox", 0, -1)]
    assert [(r["to"], r["body"], r["sid"]) for r in records] == [
        (TO, "Hello", first.sid),
        ("+15415550199", "Again", second.sid),
    ]
    assert re.fullmatch(r"SMdev[0-9a-f]{32}", first.sid) and first.sid != second.sid
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00", r["at"]) for r in records)


def test_outbox_keeps_only_the_latest_texts(redis: Redis) -> None:
    outbox = OutboxMessenger(redis, key="helpline:outbox")
    for n in range(OUTBOX_LIMIT + 5):
        outbox.send_text(TO, f"text {n}")

    assert redis.llen("helpline:outbox") == OUTBOX_LIMIT
    oldest = redis.lindex("helpline:outbox", 0)
    assert oldest is not None and json.loads(oldest)["body"] == "text 5"


def test_outbox_info_log_hides_number_and_body(redis: Redis, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="helpline.outbound")
    OutboxMessenger(redis, key="helpline:outbox").send_text(TO, "My son is using again")

    [line] = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert mask_number(TO) in line and "21 characters" in line
    assert TO[1:] not in line and "using again" not in line


# redact: what the log lines above rely on


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("+15415550123", "***-0123"),
        ("+44 20 7946 0958", "***-0958"),
        ("12345", "***-2345"),
        ("911", "***"),
        ("", "***"),
    ],
)
def test_mask_number_shows_at_most_the_last_four_digits(number: str, masked: str) -> None:
    assert mask_number(number) == masked


def test_contact_id_is_a_stable_keyed_hash() -> None:
    assert contact_id(TO, b"k1") == contact_id(TO, b"k1")
    assert re.fullmatch(r"[0-9a-f]{32}", contact_id(TO, b"k1"))
    assert contact_id(TO, b"k1") != contact_id(TO, b"k2")
    assert contact_id(TO, b"k1") != contact_id("+15415550124", b"k1")
