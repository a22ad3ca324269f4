"""POST /sms through signed webhooks, a real Redis and the real flows."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from redis import Redis

from helpline.callbacks import CallbackStatus
from helpline.core.actions import Priority
from helpline.deps import Deps
from helpline.redact import contact_id
from tests.conftest import CALLER, PUBLIC_BASE_URL, Clock, Post, message_texts, sms_form

Sms = Callable[..., list[str]]


def test_unsigned_webhook_gets_403(client: FlaskClient) -> None:
    assert client.post("/sms", data=sms_form("hi")).status_code == 403


def test_forged_signature_gets_403(client: FlaskClient) -> None:
    response = client.post("/sms", data=sms_form("hi"), headers={"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"})
    assert response.status_code == 403


def test_signature_for_another_body_gets_403(signed_post: Post, client: FlaskClient) -> None:
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN

    form = sms_form("hi")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}/sms", form)
    tampered = {**form, "Body": "STOP"}
    assert client.post("/sms", data=tampered, headers={"X-Twilio-Signature": signature}).status_code == 403


def test_form_without_from_gets_400(signed_post: Post) -> None:
    form = sms_form("hi")
    del form["From"]
    assert signed_post("/sms", form).status_code == 400


def test_first_message_gets_the_welcome_and_the_menu(sms: Sms) -> None:
    texts = sms("hello")
    assert len(texts) == 2
    assert "the Family Helpline" in texts[0]
    assert all(f"{n} " in texts[1] or f"{n}:" in texts[1] or f"{n}=" in texts[1] for n in "12345")


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("", id="empty"),
        pytest.param("x" * 10_000, id="10KB"),
        pytest.param("\U0001f62d" * 2000, id="2000-emoji"),
        pytest.param("\ufffd\x00\x01\x7f\u202e", id="garbage-and-control-characters"),
        pytest.param("\u00c3\u00a9\u00c3\u00a8 mojibake", id="non-utf8-looking"),
        pytest.param("<Response><Hangup/></Response>", id="twiml-injection"),
        pytest.param("{org} {ref} %s %(x)s", id="format-strings"),
    ],
)
def test_odd_input_gets_a_sensible_reply(sms: Sms, body: str) -> None:
    sms("hi")
    texts = sms(body)
    assert texts, "every message from a number that has not opted out gets a reply"
    assert all(len(t) < 400 for t in texts)
    assert "didn't catch" in texts[0].lower() or "did not catch" in texts[0].lower()


def test_unknown_saved_state_starts_over_instead_of_failing(sms: Sms, deps: Deps, redis: Redis) -> None:
    sms("hi")
    key = f"helpline:conversation:{contact_id(CALLER, deps.settings.secret)}"
    redis.set(
        key,
        '{"v": 1, "flow": "sms", "node": "deleted_node", "started_at": "2026-01-01T00:00:00+00:00",'
        ' "updated_at": "2026-11-25T20:00:00+00:00"}',
    )
    assert sms("hello")  # an answer, not a 500
    redis.set(key, "not json at all")
    assert sms("hello")


def test_menu_options_lead_to_their_topics(sms: Sms, deps: Deps) -> None:
    flow = deps.flows["sms"]
    sms("hi")
    assert sms("1") == [flow.text(("signs_physical", "reply_more"), "en")]
    assert sms("MORE") == [flow.text(("signs_behaviour", "reply_more"), "en")]
    assert sms("  Menu!! ") == [flow.text(("menu",), "en")]
    assert sms("2") == [flow.text(("failed_hope", "reply_more"), "en")]
    assert sms("back") == [flow.text(("menu",), "en")]


def test_free_text_naming_a_topic_goes_there(sms: Sms, deps: Deps) -> None:
    flow = deps.flows["sms"]
    sms("hi")
    assert sms("what are the signs he is using?") == [flow.text(("signs_physical", "reply_more"), "en")]
    assert sms("our intervention failed last week") == [flow.text(("failed_hope", "reply_more"), "en")]


def test_a_zip_code_gets_treatment_finders_and_a_callback_offer(sms: Sms) -> None:
    sms("hi")
    [text] = sms("97201")
    assert "97201" in text and "FindTreatment.gov" in text and "1-800-662-4357" in text


def test_help_and_info_say_who_we_are_and_how_to_stop(sms: Sms) -> None:
    for word in ("HELP", "info"):
        [text] = sms(word)
        assert "the Family Helpline" in text and "STOP" in text and "911" in text and "988" in text


def test_repeated_message_sid_is_answered_once(sms: Sms, redis: Redis, deps: Deps) -> None:
    sms("hi")
    first = sms("1", sid="SM" + "a" * 32)
    again = sms("1", sid="SM" + "a" * 32)
    assert again == first
    # the retry did not advance the conversation: MORE still reads the second page of signs
    assert sms("more") == [deps.flows["sms"].text(("signs_behaviour", "reply_more"), "en")]


def test_repeated_idempotency_token_without_message_sid_is_answered_once(signed_post: Post) -> None:
    form = sms_form("4")
    form["MessageSid"] = ""
    headers = {"I-Twilio-Idempotency-Token": "token-1"}
    first = message_texts(signed_post("/sms", form, headers))
    assert message_texts(signed_post("/sms", form, headers)) == first


def test_stop_opts_out_silently_and_nothing_more_is_sent(sms: Sms, deps: Deps) -> None:
    sms("hi")
    assert sms("Stop") == []  # Twilio sends the confirmation itself
    assert deps.store.has_opted_out(contact_id(CALLER, deps.settings.secret))
    assert sms("hello?") == []
    assert sms("MENU") == []


@pytest.mark.parametrize("word", ["STOP", "stopall", "UNSUBSCRIBE", "cancel", "End", "QUIT", "revoke", "OPTOUT"])
def test_every_twilio_opt_out_word_opts_out(sms: Sms, word: str) -> None:
    assert sms(f"  {word} ") == []
    assert sms("hi") == []


@pytest.mark.parametrize("body", ["STOP please", "please stop", "stop.", "don't stop"])
def test_stop_in_a_sentence_is_not_an_opt_out(sms: Sms, body: str) -> None:
    assert sms(body)
    assert sms("hi")


@pytest.mark.parametrize("word", ["START", "unstop", "Yes"])
def test_opt_in_words_re_subscribe_and_get_the_menu(sms: Sms, word: str) -> None:
    sms("STOP")
    texts = sms(word)
    assert len(texts) == 2 and "the Family Helpline" in texts[0]
    assert sms("1")


def test_other_text_never_re_subscribes(sms: Sms) -> None:
    sms("STOP")
    for body in ("start please", "yes please", "hello", "1", "MENU"):
        assert sms(body) == []


def test_crisis_gets_emergency_guidance_first_and_an_urgent_callback(sms: Sms, deps: Deps) -> None:
    sms("hi")
    sms("1")
    texts = sms("my son is not breathing")
    assert texts[0].startswith("Call 911")
    assert "naloxone" in texts[0].lower() or "narcan" in texts[0].lower()
    assert "988" in " ".join(texts)
    [request] = deps.store.open_callbacks()
    assert request.priority is Priority.URGENT and request.topic == "crisis"
    assert request.number == CALLER and request.status is CallbackStatus.PENDING
    assert request.ref in " ".join(texts)
    conversation = deps.store.load_conversation(contact_id(CALLER, deps.settings.secret))
    assert conversation is not None and conversation.flagged


def test_crisis_from_an_opted_out_number_still_reaches_staff(sms: Sms, deps: Deps) -> None:
    sms("STOP")
    assert sms("he overdosed and wont wake up") == []
    [request] = deps.store.open_callbacks()
    assert request.priority is Priority.URGENT


def test_a_question_about_the_topic_does_not_trigger_the_safety_gate(sms: Sms, deps: Deps) -> None:
    sms("what are the signs of heroin use")
    sms("our intervention failed")
    assert deps.store.open_callbacks() == []


def test_callback_by_text_asks_time_and_voicemail_then_confirms_with_an_id(sms: Sms, deps: Deps) -> None:
    sms("hi")
    sms("4")
    sms("2")
    [text] = sms("NO")
    [request] = deps.store.open_callbacks()
    assert request.ref in text
    assert (request.preferred_time, request.voicemail_ok, request.priority) == ("afternoon", False, Priority.NORMAL)
    assert request.topic == "menu"  # where in the flow they asked


def test_asking_again_updates_the_open_request(sms: Sms, deps: Deps) -> None:
    for body in ("hi", "4", "1", "yes"):
        first = sms(body)
    for body in ("call me", "3", "no"):
        second = sms(body)
    [request] = deps.store.open_callbacks()
    assert request.ref in first[0] and request.ref in second[0]
    assert first != second  # the second confirmation says it was updated
    assert (request.preferred_time, request.voicemail_ok) == ("evening", False)


def test_an_expired_conversation_is_welcomed_back(sms: Sms, clock: Clock, deps: Deps) -> None:
    flow = deps.flows["sms"]
    sms("hi")
    sms("3")
    clock.advance(days=8)
    assert sms("hello") == [flow.text(("welcome_back",), "en")]
    assert sms("1") == [flow.text(("planning_who", "reply_more"), "en")]


def test_an_expired_conversation_can_start_over(sms: Sms, clock: Clock, deps: Deps) -> None:
    sms("hi")
    sms("3")
    clock.advance(days=8)
    sms("hello")
    assert sms("2") == [deps.flows["sms"].text(("menu",), "en")]


def test_conversation_state_expires(sms: Sms, redis: Redis, deps: Deps) -> None:
    sms("hi")
    ttl = redis.ttl(f"helpline:conversation:{contact_id(CALLER, deps.settings.secret)}")
    assert 0 < ttl <= deps.settings.conversation_retention.total_seconds()


def test_keys_and_state_never_hold_the_phone_number(sms: Sms, redis: Redis) -> None:
    sms("hi")
    sms("1")
    for key in redis.keys("helpline:*"):
        assert b"5550123" not in key
        if redis.type(key) == b"string":
            assert b"5550123" not in redis.get(key)


def test_logs_never_hold_numbers_or_bodies(sms: Sms, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("INFO")
    sms("my secret message about heroin")
    sms("4")
    for record in caplog.records:
        assert "5550123" not in record.getMessage()
        assert "secret message" not in record.getMessage()


def test_concurrent_webhooks_for_one_number_apply_every_step_once(app, deps: Deps) -> None:  # type: ignore[no-untyped-def]
    """Two deliveries at once: both are answered, neither step is lost or applied twice."""
    from twilio.request_validator import RequestValidator

    from tests.conftest import AUTH_TOKEN

    validator = RequestValidator(AUTH_TOKEN)
    rounds, barrier = 15, threading.Barrier(2)
    errors: list[str] = []

    def send(bodies: list[str], prefix: str) -> None:
        client = app.test_client()
        for i, body in enumerate(bodies):
            form = sms_form(body, sid=f"SM{prefix}{i:030d}")
            signature = validator.compute_signature(f"{PUBLIC_BASE_URL}/sms", form)
            barrier.wait()
            response = client.post("/sms", data=form, headers={"X-Twilio-Signature": signature})
            if response.status_code != 200 or not message_texts(response):
                errors.append(response.get_data(as_text=True))

    threads = [threading.Thread(target=send, args=(["more"] * rounds, p)) for p in ("aa", "bb")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    conversation = deps.store.load_conversation(contact_id(CALLER, deps.settings.secret))
    assert conversation is not None and conversation.step == 2 * rounds


def test_a_redis_outage_gets_the_safe_reply_not_a_500(settings, caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from twilio.request_validator import RequestValidator

    from helpline import create_app
    from helpline.deps import build_deps
    from tests.conftest import AUTH_TOKEN

    down = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
    app = create_app(settings, build_deps(replace(settings, redis_url="redis://127.0.0.1:1/0"), down))
    form = sms_form("he is not breathing")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}/sms", form)
    with caplog.at_level("ERROR"):
        response = app.test_client().post("/sms", data=form, headers={"X-Twilio-Signature": signature})
    [text] = message_texts(response)
    assert "911" in text and "988" in text
    assert all("not breathing" not in r.getMessage() and "5550123" not in r.getMessage() for r in caplog.records)


def test_delivery_failures_are_recorded_and_21610_opts_the_number_out(signed_post: Post, deps: Deps) -> None:
    form = {
        "MessageSid": "SM" + "f" * 32,
        "MessageStatus": "undelivered",
        "ErrorCode": "21610",
        "To": CALLER,
        "From": "+15005550006",
        "AccountSid": "AC" + "1" * 32,
    }
    assert signed_post("/sms/status", form).status_code == 204
    assert signed_post("/sms/status", form).status_code == 204  # a repeat changes nothing
    contact = contact_id(CALLER, deps.settings.secret)
    assert deps.store.has_opted_out(contact)
    [failure] = deps.store.recent_failures()
    assert failure["code"] == "21610" and failure["contact"] == contact[:8]


def test_a_delivered_status_records_nothing(signed_post: Post, deps: Deps) -> None:
    form = {"MessageSid": "SM" + "e" * 32, "MessageStatus": "delivered", "To": CALLER, "From": "+15005550006"}
    assert signed_post("/sms/status", form).status_code == 204
    assert deps.store.recent_failures() == []


def test_status_callbacks_need_a_signature_too(client: FlaskClient) -> None:
    assert client.post("/sms/status", data={"MessageSid": "SM1", "MessageStatus": "failed"}).status_code == 403


def test_a_retry_with_the_same_idempotency_token_is_a_replay_even_with_another_sid(signed_post: Post) -> None:
    headers = {"I-Twilio-Idempotency-Token": "token-2"}
    first = message_texts(signed_post("/sms", sms_form("4", sid="SM" + "1" * 32), headers))
    again = message_texts(signed_post("/sms", sms_form("4", sid="SM" + "2" * 32), headers))
    assert again == first
    assert message_texts(signed_post("/sms", sms_form("1")))[0].startswith("Is it OK")  # the step ran once


def test_behind_a_trusted_proxy_the_forwarded_url_is_the_one_checked(settings, deps: Deps) -> None:  # type: ignore[no-untyped-def]
    from dataclasses import replace

    from twilio.request_validator import RequestValidator

    from helpline import create_app
    from helpline.deps import build_deps
    from tests.conftest import AUTH_TOKEN

    form = sms_form("hi")
    signature = RequestValidator(AUTH_TOKEN).compute_signature("https://public.example.org/sms", form)
    forwarded = {
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "public.example.org",
    }
    for trusted, status in ((1, 200), (0, 403)):
        changed = replace(settings, public_base_url=None, trusted_proxies=trusted)
        client = create_app(changed, build_deps(changed, deps.redis)).test_client()
        assert client.post("/sms", data=form, headers=forwarded).status_code == status
