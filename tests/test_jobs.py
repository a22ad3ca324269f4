"""Staff alerts, escalation, the lost-alert sweep and requester confirmations, on real RQ workers.

Texts go through the real twilio SDK to the Recorder (to read them and script Twilio's errors),
or to Prism (Twilio's published contract). Time is the test clock; scheduled jobs are asserted in
the scheduled registry and then run directly, never waited for.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from redis import Redis
from rq.job import Job

from helpline import conversations, jobs, notices
from helpline.callbacks import CallbackRequest, CallbackStatus, claimed, new_request
from helpline.core.actions import Priority, RequestCallback
from helpline.deps import Deps
from helpline.outbound import OutboxMessenger, TwilioMessenger, read_outbox
from helpline.redact import contact_id
from helpline.staff.roster import StaffMember
from tests.conftest import CALLER, Clock
from tests.twilio_fakes import Recorder

Sms = Callable[..., list[str]]
Work = Callable[[], None]
RunScheduled = Callable[[], list[str]]
ANN, BEN, CAT = "+15035550101", "+15035550102", "+15035550103"


@pytest.fixture
def roster(deps: Deps) -> list[StaffMember]:
    members = [StaffMember("Ann", ANN, on_call=True), StaffMember("Ben", BEN, on_call=True), StaffMember("Cat", CAT)]
    for member in members:
        deps.store.add_staff(member)
    return members


def book_callback(sms: Sms, deps: Deps) -> CallbackRequest:
    for body in ("hi", "4", "2", "no"):
        sms(body)
    [request] = deps.store.open_callbacks()
    return request


def scheduled(redis: Redis, name: str) -> list[Job]:
    queue = jobs.queue(redis, name)
    return [j for j in (queue.fetch_job(i) for i in queue.scheduled_job_registry.get_job_ids()) if j is not None]


def test_a_new_request_texts_the_first_on_call_staff_member(
    sms: Sms, deps: Deps, roster: list[StaffMember], work: Work, sent: Recorder
) -> None:
    request = book_callback(sms, deps)
    assert jobs.queue(deps.redis, jobs.DEFAULT).count == 1  # queued with the turn, not yet sent
    work()
    [text] = sent.texts_to(ANN)
    assert text.startswith(f"Callback {request.ref}") and not text.startswith("URGENT")
    assert CALLER in text and "normal" in text and "afternoon" in text and "voicemail NO" in text
    assert text.endswith(f"Reply CLAIM {request.ref}") and len(text) <= 160
    assert sent.texts_to(BEN) == [] and sent.texts_to(CAT) == []
    stored = deps.store.get_callback(request.id)
    assert stored is not None and stored.alerted_at == deps.clock() and not stored.undeliverable
    assert [e.what for e in deps.store.callback_history(request.id)] == ["created", "alerted"]
    [params] = [r.params for r in sent.requests]
    assert params["From"] == deps.settings.twilio_phone_number


def test_a_crisis_alert_is_urgent_and_jumps_the_queue(
    sms: Sms, deps: Deps, roster: list[StaffMember], work: Work, sent: Recorder
) -> None:
    book_callback(sms, deps)
    sms("he took something and he is not breathing", sender="+12125550177")
    assert jobs.queue(deps.redis, jobs.URGENT).count == 1
    work()
    first, second = sent.texts_to(ANN)
    assert first.startswith("URGENT Callback #") and "+12125550177" in first and "topic crisis" in first
    assert not second.startswith("URGENT")  # the older normal request was sent after the urgent one


def test_a_voicemail_waiting_is_mentioned(deps: Deps, roster: list[StaffMember], work: Work, sent: Recorder) -> None:
    action = RequestCallback(topic="menu", recording_url="https://api.twilio.com/recordings/RE1")
    request = new_request(deps.store.next_callback_id(), CALLER, "c" * 32, "voice", action, deps.clock())
    deps.store.save_callback(request, on_commit=lambda pipe: jobs.enqueue_alert(deps.redis, request, pipe))
    work()
    [text] = sent.texts_to(ANN)
    assert "voicemail waiting" in text and "voicemail not asked" in text


def test_unclaimed_requests_escalate_to_the_next_on_call_then_everyone(
    sms: Sms, deps: Deps, roster: list[StaffMember], work: Work, run_scheduled: RunScheduled, sent: Recorder
) -> None:
    request = book_callback(sms, deps)
    work()
    [escalation] = scheduled(deps.redis, jobs.DEFAULT)
    assert escalation.func_name.endswith("escalate") and escalation.args == (request.id, 0)
    when = jobs.queue(deps.redis, jobs.DEFAULT).scheduled_job_registry.get_scheduled_time(escalation)
    assert timedelta(minutes=9) < when - datetime.now(UTC) <= timedelta(minutes=10)

    assert run_scheduled() == ["escalate"]
    [text] = sent.texts_to(BEN)
    assert "(escalated)" in text and request.ref in text
    assert len(sent.texts_to(ANN)) == 1 and sent.texts_to(CAT) == []

    assert run_scheduled() == ["escalate"]
    assert [len(sent.texts_to(n)) for n in (ANN, BEN, CAT)] == [2, 2, 1]  # the whole roster
    assert scheduled(deps.redis, jobs.DEFAULT) == []  # nobody left to escalate to
    stored = deps.store.get_callback(request.id)
    assert stored is not None and stored.alert_level == jobs.EVERYONE and stored.status is CallbackStatus.PENDING


def test_an_urgent_request_escalates_after_the_urgent_delay(
    sms: Sms, deps: Deps, roster: list[StaffMember], work: Work
) -> None:
    sms("my daughter overdosed")
    work()
    [escalation] = scheduled(deps.redis, jobs.URGENT)
    when = jobs.queue(deps.redis, jobs.URGENT).scheduled_job_registry.get_scheduled_time(escalation)
    assert timedelta(minutes=1) < when - datetime.now(UTC) <= timedelta(minutes=2)


def test_a_claimed_request_does_not_escalate(
    sms: Sms,
    deps: Deps,
    clock: Clock,
    roster: list[StaffMember],
    work: Work,
    run_scheduled: RunScheduled,
    sent: Recorder,
) -> None:
    request = book_callback(sms, deps)
    work()
    deps.store.update_callback(request.id, lambda r: claimed(r, "Ann", clock()))
    assert run_scheduled() == ["escalate"]
    assert sent.texts_to(BEN) == []
    stored = deps.store.get_callback(request.id)
    assert stored is not None and stored.alert_level == 0


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_twilio_errors_are_retried_by_rq(
    status: int,
    sms: Sms,
    deps: Deps,
    roster: list[StaffMember],
    work: Work,
    run_scheduled: RunScheduled,
    sent: Recorder,
) -> None:
    sent.fail_next(status, 20429 if status == 429 else 20500)
    request = book_callback(sms, deps)
    work()
    assert sent.texts_to(ANN) == []
    [retry] = scheduled(deps.redis, jobs.DEFAULT)
    assert retry.func_name.endswith("alert_on_call") and retry.retries_left == jobs.ALERT_RETRY.max - 1
    assert run_scheduled() == ["alert_on_call"]
    [text] = sent.texts_to(ANN)
    assert request.ref in text
    assert sent.texts_to(BEN) == []  # a transient error does not move the alert on


@pytest.mark.parametrize("code", [21211, 21610])
def test_a_permanent_error_is_recorded_and_the_next_staff_member_gets_the_alert(
    code: int, sms: Sms, deps: Deps, roster: list[StaffMember], work: Work, sent: Recorder
) -> None:
    sent.fail_for(ANN, 400, code)
    request = book_callback(sms, deps)
    work()
    assert len(sent.texts_to(BEN)) == 1
    assert scheduled(deps.redis, jobs.DEFAULT)[0].func_name.endswith("escalate")  # not a retry
    history = deps.store.callback_history(request.id)
    [failure] = [e for e in history if e.what == "alert failed"]
    assert "Ann" in failure.note and str(code) in failure.note and ANN not in failure.note
    assert deps.store.unreachable_staff(request.id) == {ANN}


def test_a_request_nobody_can_be_alerted_about_stays_open_and_visible(
    sms: Sms, deps: Deps, clock: Clock, work: Work, sent: Recorder
) -> None:
    deps.store.add_staff(StaffMember("Ann", ANN, on_call=True))
    sent.fail_for(ANN, 400, 21211)
    request = book_callback(sms, deps)
    work()
    [stored] = deps.store.open_callbacks()
    assert stored.id == request.id and stored.undeliverable and stored.status is CallbackStatus.PENDING
    assert "alert undeliverable" in [e.what for e in deps.store.callback_history(request.id)]
    # The sweep tries again later (the roster may have changed) and then it gets through.
    sent.clear()
    deps.store.add_staff(StaffMember("Ben", BEN, on_call=True))
    assert jobs.sweep_lost_alerts() == []
    clock.advance(minutes=11)
    assert jobs.sweep_lost_alerts() == [request.id]
    work()
    assert len(sent.texts_to(BEN)) == 1
    stored_again = deps.store.get_callback(request.id)
    assert stored_again is not None and not stored_again.undeliverable


def test_an_empty_roster_leaves_the_request_undeliverable_not_lost(sms: Sms, deps: Deps, work: Work) -> None:
    request = book_callback(sms, deps)
    work()
    [stored] = deps.store.open_callbacks()
    assert stored.id == request.id and stored.undeliverable


def test_the_request_and_its_alert_job_are_written_together(sms: Sms, deps: Deps) -> None:
    request = book_callback(sms, deps)
    job = jobs.queue(deps.redis, jobs.DEFAULT).fetch_job(request.alert_job)
    assert job is not None and job.args == (request.id,) and job.get_status() == "queued"


def test_the_sweep_requeues_an_alert_whose_job_was_lost(
    sms: Sms, deps: Deps, clock: Clock, roster: list[StaffMember], work: Work, sent: Recorder
) -> None:
    request = book_callback(sms, deps)
    jobs.queue(deps.redis, jobs.DEFAULT).empty()  # the job vanished (a crash between the lines, say)
    clock.advance(seconds=30)
    assert jobs.sweep_lost_alerts() == []  # not overdue yet
    clock.advance(seconds=31)
    assert jobs.sweep_lost_alerts() == [request.id]
    assert jobs.sweep_lost_alerts() == []  # its new job is queued: alive
    work()
    assert len(sent.texts_to(ANN)) == 1


def test_the_sweep_leaves_queued_and_delivered_alerts_alone(
    sms: Sms, deps: Deps, clock: Clock, roster: list[StaffMember], work: Work
) -> None:
    book_callback(sms, deps)
    clock.advance(minutes=5)
    assert jobs.sweep_lost_alerts() == []  # still queued: a worker will get to it
    work()
    clock.advance(minutes=5)
    assert jobs.sweep_lost_alerts() == []  # delivered


def test_a_replaced_alert_job_stands_down(
    sms: Sms, deps: Deps, roster: list[StaffMember], work: Work, sent: Recorder
) -> None:
    request = book_callback(sms, deps)
    old_job = request.alert_job
    jobs.enqueue_alert(deps.redis, request)  # what the sweep does when it thinks the first job is lost
    work()
    assert len(sent.texts_to(ANN)) == 1
    job = Job.fetch(old_job, connection=deps.redis)
    assert job.return_value() == "superseded"


def test_without_twilio_credentials_alerts_go_to_the_outbox(
    sms: Sms, deps: Deps, roster: list[StaffMember], work: Work, redis: Redis
) -> None:
    settings = replace(deps.settings, twilio_credentials=False)
    messenger = jobs.messenger_for(settings, redis)
    assert isinstance(messenger, OutboxMessenger)
    jobs.set_job_context(jobs.build_context(settings, redis, messenger, deps.clock))
    request = book_callback(sms, deps)
    work()
    [message] = read_outbox(redis)
    assert message["to"] == ANN and request.ref in message["body"]


def test_alerts_and_confirmations_follow_twilios_published_contract(
    prism_url: str, sms: Sms, deps: Deps, roster: list[StaffMember], work: Work, redis: Redis
) -> None:
    settings = replace(deps.settings, twilio_api_base_url=prism_url)
    messenger = jobs.messenger_for(settings, redis)  # as the worker builds it, status callback included
    assert isinstance(messenger, TwilioMessenger) and messenger.status_callback
    jobs.set_job_context(jobs.build_context(settings, redis, messenger, deps.clock))
    request = book_callback(sms, deps)
    work()
    stored = deps.store.get_callback(request.id)
    assert stored is not None and stored.alerted_at is not None and not stored.undeliverable
    assert deps.store.unreachable_staff(request.id) == set()  # Prism answered 201, not 4xx
    voice = voice_request(deps, "+12125550188")
    jobs.enqueue_confirmation(redis, voice)
    work()
    confirmed = deps.store.get_callback(voice.id)
    assert confirmed is not None and confirmed.confirmation_sid.startswith("SM")
    messenger.client.http_client.session.close()


# -- the requester's confirmation (requests made on a call) ------------------------------------


def voice_request(deps: Deps, number: str = CALLER, preferred_time: str = "afternoon") -> CallbackRequest:
    action = RequestCallback(topic="menu", preferred_time=preferred_time)
    contact = contact_id(number, deps.settings.secret)
    request = new_request(deps.store.next_callback_id(), number, contact, "voice", action, deps.clock())
    deps.store.save_callback(request)
    return request


def test_a_voice_request_gets_a_discreet_confirmation_text(
    deps: Deps, work: Work, sent: Recorder, redis: Redis
) -> None:
    request = voice_request(deps)  # 541: Oregon, 12:00 there on the test clock
    deps.store.save_callback(request, on_commit=conversations.alert_jobs(deps, [(request, True)]))
    work()
    [text] = sent.texts_to(CALLER)
    assert request.ref in text and "afternoon" in text and "STOP" in text
    assert not any(word in text.lower() for word in notices.INDISCREET_WORDS)
    assert len(text) <= 160
    stored = deps.store.get_callback(request.id)
    assert stored is not None and stored.confirmation_sid
    jobs.enqueue_confirmation(redis, stored)  # a second confirmation job changes nothing
    work()
    assert len(sent.texts_to(CALLER)) == 1


def test_an_sms_request_is_confirmed_by_the_reply_alone(
    sms: Sms, deps: Deps, roster: list[StaffMember], work: Work, sent: Recorder
) -> None:
    book_callback(sms, deps)
    work()
    assert sent.texts_to(CALLER) == []


def test_a_confirmation_waits_for_8am_in_the_recipients_time_zone(
    deps: Deps, clock: Clock, work: Work, sent: Recorder
) -> None:
    clock.now = datetime(2026, 11, 26, 5, 30, tzinfo=UTC)  # 00:30 in New York, 21:30 the day before in Oregon
    request = voice_request(deps)
    jobs.enqueue_confirmation(deps.redis, request)
    work()
    assert sent.texts_to(CALLER) == []
    [waiting] = scheduled(deps.redis, jobs.DEFAULT)
    when = jobs.queue(deps.redis, jobs.DEFAULT).scheduled_job_registry.get_scheduled_time(waiting)
    assert when == datetime(2026, 11, 26, 16, 0, tzinfo=UTC)  # 8:00 in Oregon (PST, UTC-8)


def test_an_opted_out_requester_gets_no_confirmation(deps: Deps, clock: Clock, work: Work, sent: Recorder) -> None:
    request = voice_request(deps)
    deps.store.set_opted_out(request.contact, clock())
    jobs.enqueue_confirmation(deps.redis, request)
    work()
    assert sent.requests == []
    assert "confirmation skipped" in [e.what for e in deps.store.callback_history(request.id)]


def test_twilio_opt_out_on_confirmation_is_remembered(deps: Deps, work: Work, sent: Recorder) -> None:
    request = voice_request(deps)
    sent.fail_for(CALLER, 400, 21610)
    jobs.enqueue_confirmation(deps.redis, request)
    work()
    assert deps.store.has_opted_out(request.contact)


@pytest.mark.parametrize(
    ("number", "utc", "expected"),
    [
        pytest.param("+12125550100", datetime(2026, 7, 1, 13, 0), datetime(2026, 7, 1, 13, 0), id="ny-9am-now"),
        pytest.param("+12125550100", datetime(2026, 7, 1, 11, 59), datetime(2026, 7, 1, 12, 0), id="ny-7:59am"),
        pytest.param("+12125550100", datetime(2026, 7, 2, 1, 0), datetime(2026, 7, 2, 12, 0), id="ny-9pm"),
        pytest.param("+18085550100", datetime(2026, 7, 1, 13, 0), datetime(2026, 7, 1, 18, 0), id="honolulu-3am"),
        pytest.param("+18005550100", datetime(2026, 7, 1, 11, 0), datetime(2026, 7, 1, 12, 0), id="toll-free"),
    ],
)
def test_bot_initiated_texts_wait_for_8am_to_9pm_local(number: str, utc: datetime, expected: datetime) -> None:
    from zoneinfo import ZoneInfo

    now = utc.replace(tzinfo=UTC)
    assert notices.next_send_time(number, now, ZoneInfo("America/New_York")) == expected.replace(tzinfo=UTC)


def test_only_urgent_alerts_start_with_urgent(deps: Deps) -> None:
    request = voice_request(deps)
    urgent = replace(request, priority=Priority.URGENT)
    assert jobs.alert_text(urgent).startswith("URGENT ") and not jobs.alert_text(request).startswith("URGENT")
