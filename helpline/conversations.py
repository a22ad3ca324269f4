"""The glue: one inbound delivery -> replay check -> engine -> one transaction -> reply.

Order matters (persist first, queue in the same transaction): a callback request is never stored
without its alert job or alerted without being stored, and a repeated delivery changes nothing.
Twilio's words stay in channels/; this module speaks in Inbound events.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from redis.client import Pipeline

from helpline import jobs
from helpline.callbacks import CallbackRequest, needs_alert, new_request, updated_request
from helpline.core import engine, safety
from helpline.core.actions import Action, Priority, RequestCallback, SendText
from helpline.core.events import Event, TextReceived
from helpline.core.flows import Flow
from helpline.core.text import fill
from helpline.deps import Deps
from helpline.phones import callable_number
from helpline.storage import Commit, Snapshot

logger = logging.getLogger(__name__)

SMS_FLOW = "sms"
#: Twilio's own opt-out and opt-in words: a whole-body single word, any case.
OPT_OUT_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"})
OPT_IN_WORDS = frozenset({"START", "UNSTOP", "YES"})


@dataclass(frozen=True)
class Inbound:
    """One webhook delivery in domain words."""

    delivery_id: str
    number: str  # E.164 when it is a phone number
    contact: str  # contact_id(number): what keys and logs use
    channel: str
    event: Event
    #: A second id for the same delivery, e.g. Twilio's I-Twilio-Idempotency-Token.
    alias: str | None = None


def handle_sms(inbound: Inbound, deps: Deps, now: datetime, render: Callable[[list[str]], str]) -> str:
    """Run one inbound SMS through opt-out rules, the safety gate and the flow; return the reply."""
    flow = deps.flows[SMS_FLOW]
    text = inbound.event.text if isinstance(inbound.event, TextReceived) else ""
    word = text.strip().upper()

    def decide(snapshot: Snapshot) -> Commit:
        if word in OPT_OUT_WORDS:
            return Commit(reply=render([]), opted_out_at=now)  # Twilio confirms the opt-out itself
        if snapshot.opted_out and word not in OPT_IN_WORDS:
            return _opted_out_turn(inbound, deps, snapshot, flow, text, now, render)
        conversation = None if snapshot.opted_out else snapshot.conversation  # opting in starts afresh
        turn = engine.advance(flow, conversation, inbound.event, now=now, idle_after=deps.settings.conversation_ttl)
        requests = callback_requests(inbound, deps, snapshot, turn.actions, now)
        texts = [
            fill_runtime(a.text, flow, deps, requests, turn.conversation.language, now)
            for a in turn.actions
            if isinstance(a, SendText)
        ]
        log_turn(inbound, turn, requests)
        return Commit(
            reply=render(texts),
            conversation=turn.conversation,
            opt_in=snapshot.opted_out,
            callbacks=tuple(r for r, _ in requests),
            on_commit=alert_jobs(deps, requests),
        )

    reply, replayed = deps.store.apply_turn(inbound.contact, inbound.delivery_id, decide, alias=inbound.alias)
    if replayed:
        logger.info("sms contact=%s delivery replayed; nothing changed", inbound.contact[:8])
    return reply


def log_turn(inbound: Inbound, turn: engine.Turn, requests: list[tuple[CallbackRequest, bool]]) -> None:
    """One INFO line per turn: ids and outcomes only, never the number or the words."""
    logger.info(
        "%s contact=%s node=%s crisis=%s callbacks=%s",
        inbound.channel,
        inbound.contact[:8],
        turn.conversation.node,
        turn.crisis,
        [r.ref for r, _ in requests],
    )


def _opted_out_turn(
    inbound: Inbound,
    deps: Deps,
    snapshot: Snapshot,
    flow: Flow,
    text: str,
    now: datetime,
    render: Callable[[list[str]], str],
) -> Commit:
    """Nothing is sent to an opted-out number; a crisis still reaches staff as an urgent callback."""
    if not safety.is_crisis(text, flow.crisis):
        return Commit(reply=render([]))
    action = RequestCallback(priority=Priority.URGENT, topic=engine.CRISIS_TOPIC, preferred_time="asap")
    requests = callback_requests(inbound, deps, snapshot, (action,), now)
    logger.warning("crisis from opted-out contact=%s: urgent callback %s", inbound.contact[:8], requests[0][0].ref)
    return Commit(reply=render([]), callbacks=(requests[0][0],), on_commit=alert_jobs(deps, requests))


def callback_requests(
    inbound: Inbound, deps: Deps, snapshot: Snapshot, actions: tuple[Action, ...], now: datetime
) -> list[tuple[CallbackRequest, bool]]:
    """(request to save, whether to alert) for each RequestCallback; one open request per contact."""
    results: list[tuple[CallbackRequest, bool]] = []
    current = snapshot.open_callback
    for action in actions:
        if not isinstance(action, RequestCallback):
            continue
        if current is None:
            request = new_request(
                deps.store.next_callback_id(), inbound.number, inbound.contact, inbound.channel, action, now
            )
        else:
            request = updated_request(current, action, inbound.channel, now)
        results.append((request, needs_alert(current, request)))
        current = request
    return results


def alert_jobs(deps: Deps, requests: list[tuple[CallbackRequest, bool]]) -> Callable[[Pipeline], None] | None:
    """Jobs to queue with the turn: staff alerts, and a confirmation text for a new request made
    outside an SMS conversation (an SMS request is confirmed by the reply itself). A request the
    caller never confirmed, or with no number we could text, gets no confirmation."""
    to_alert = [request for request, alert in requests if alert]
    to_confirm = {
        r.id: r
        for r, _ in requests
        if r.is_new and r.channel != "sms" and r.confirmed and callable_number(r.number) is not None
    }
    if not to_alert and not to_confirm:
        return None

    def enqueue(pipe: Pipeline) -> None:
        for request in to_alert:
            jobs.enqueue_alert(deps.redis, request, pipeline=pipe)
        for request in to_confirm.values():
            jobs.enqueue_confirmation(deps.redis, request, pipeline=pipe)

    return enqueue


def fill_runtime(
    text: str, flow: Flow, deps: Deps, requests: list[tuple[CallbackRequest, bool]], language: str, now: datetime
) -> str:
    """Fill what only exists after the engine ran: the request id, whether it is new, the wait."""
    if not requests:
        return text
    request, _ = requests[-1]
    wait = _expected_wait(flow, deps, language, now)
    state = "callback_state_new" if request.is_new else "callback_state_updated"
    return fill(text, {"ref": request.ref, "wait": wait, "request_state": flow.text((state,), language)})


#: Staffed hours ending sooner than this: a call before closing is not something we can promise.
CLOSING_SOON = timedelta(minutes=30)


def _expected_wait(flow: Flow, deps: Deps, language: str, now: datetime) -> str:
    """An honest wait: soon while staff are on duty, else (or when they go off duty soon) the next opening."""
    hours = deps.settings.staffed_hours
    if hours.is_open(now) and hours.is_open(now + CLOSING_SOON):
        return flow.text(("wait_open",), language)
    if not hours.is_open(now):
        return fill(flow.text(("wait_closed",), language), {"opening": hours.describe_opening(now)})
    return fill(flow.text(("wait_closing",), language), {"opening": hours.describe_opening(now, hours.shift_end(now))})
