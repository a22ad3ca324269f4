"""The glue for phone calls: one voice webhook -> replay check -> engine -> one transaction -> reply.

As for SMS (conversations.py, whose callback helpers this reuses), but the state is kept per call,
not per person: it lives under the call's id for a day (storage.call_key, CALL_TTL), and each
webhook of a call is one delivery (`<call id>:<step>`), so a retried step changes nothing twice.

The engine asks the edge what only the edge knows (a Check action: is a specialist free, can the
caller id be called back); this module answers at once by feeding the answer back as an Outcome.
It also adds what the core must never see: phone numbers (the specialist to dial, the number a
caller typed, the last four digits read back). Twilio's words stay in channels/.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime

from helpline.callbacks import CallbackRequest
from helpline.conversations import Inbound, alert_jobs, callback_requests, fill_runtime, log_turn
from helpline.core import engine
from helpline.core.actions import Action, Check, Dial, Say
from helpline.core.events import Event, KeysPressed, Outcome
from helpline.core.flows import Flow
from helpline.core.state import Conversation
from helpline.core.text import fill
from helpline.deps import Deps
from helpline.phones import callable_number
from helpline.storage import CALL_TTL, Commit, Snapshot, call_key

logger = logging.getLogger(__name__)

VOICE_FLOW = "voice"
#: Checks answered in one webhook at most: a flow whose answers led to check after check is a bug.
MAX_CHECKS = 4
#: Digits a caller types for another callback number (a US number, area code first).
TYPED_NUMBER_DIGITS = 10

Render = Callable[[Sequence[Action]], str]


def handle_call(inbound: Inbound, call_id: str, deps: Deps, now: datetime, render: Render) -> str:
    """Run one step of a call (answered, keys, speech, silence, a dial or recording result); return TwiML."""
    flow = deps.flows[VOICE_FLOW]

    def decide(snapshot: Snapshot) -> Commit:
        event = _typed_number(flow, snapshot.conversation, inbound.event)
        turn = engine.advance(flow, snapshot.conversation, event, now=now)
        turn, dial_to = _answer_checks(flow, turn, inbound, deps, now)
        return _commit(flow, turn, inbound, deps, snapshot, now, render, dial_to)

    reply, replayed = deps.store.apply_turn(
        inbound.contact, inbound.delivery_id, decide, conversation_key=call_key(call_id)
    )
    if replayed:
        logger.info("call contact=%s step replayed; nothing changed", inbound.contact[:8])
    return reply


def handle_call_ended(inbound: Inbound, call_id: str, deps: Deps, now: datetime) -> None:
    """The call is over. Where the flow routes `hangup` (on the way to a callback), it still makes one."""
    flow = deps.flows[VOICE_FLOW]

    def decide(snapshot: Snapshot) -> Commit:
        if not engine.expects(flow, snapshot.conversation, "hangup"):
            return Commit(reply="")  # recorded as delivered, so a repeated status changes nothing
        turn = engine.advance(flow, snapshot.conversation, Outcome("hangup"), now=now)
        return _commit(flow, turn, inbound, deps, snapshot, now, lambda _: "", "")

    _, replayed = deps.store.apply_turn(
        inbound.contact, inbound.delivery_id, decide, conversation_key=call_key(call_id)
    )
    if replayed:
        logger.info("call contact=%s status replayed; nothing changed", inbound.contact[:8])


def _typed_number(flow: Flow, conversation: Conversation | None, event: Event) -> Event:
    """At a node listening for a phone number, keys become `number:valid` (with E.164) or `number:invalid`."""
    if conversation is None or not isinstance(event, KeysPressed) or conversation.node not in flow.nodes:
        return event
    if not flow.nodes[conversation.node].listen.get("number"):
        return event
    digits = event.digits
    number = callable_number(digits) if len(digits) == TYPED_NUMBER_DIGITS and digits.isdigit() else None
    return Outcome("number:valid", number) if number else Outcome("number:invalid")


def _answer_checks(
    flow: Flow, turn: engine.Turn, inbound: Inbound, deps: Deps, now: datetime
) -> tuple[engine.Turn, str]:
    """Answer each trailing Check by advancing with its outcome; also return the specialist to dial, if any."""
    dial_to = ""
    for _ in range(MAX_CHECKS):
        check = turn.actions[-1] if turn.actions else None
        if not isinstance(check, Check):
            return turn, dial_to
        answer, phone = _answer(check.question, inbound, deps, now)
        dial_to = phone or dial_to
        more = engine.advance(flow, turn.conversation, Outcome(f"{check.question}:{answer}"), now=now)
        turn = engine.Turn(more.conversation, turn.actions[:-1] + more.actions, turn.crisis or more.crisis)
    raise RuntimeError(f"flow {flow.id!r}: more than {MAX_CHECKS} checks in one step")


def _answer(question: str, inbound: Inbound, deps: Deps, now: datetime) -> tuple[str, str]:
    """(answer, phone to dial) for one Check."""
    match question:
        case "specialist":
            if not deps.settings.staffed_hours.is_open(now):
                return "closed", ""
            on_call = deps.store.staff_on_call()
            return ("available", on_call[0].phone) if on_call else ("unavailable", "")
        case "caller_number":
            return ("known" if callable_number(inbound.number) else "unknown"), ""
    raise ValueError(f"the voice flow checks {question!r}, which calls.py cannot answer")


def _commit(
    flow: Flow,
    turn: engine.Turn,
    inbound: Inbound,
    deps: Deps,
    snapshot: Snapshot,
    now: datetime,
    render: Render,
    dial_to: str,
) -> Commit:
    """Store callback requests (to the number the caller gave, else the caller id) and render the step."""
    number = turn.conversation.answers.get("number") or inbound.number
    requests = [
        (_calling(request, number, now), alert)
        for request, alert in callback_requests(replace(inbound, number=number), deps, snapshot, turn.actions, now)
    ]
    actions = [
        _filled(action, flow, deps, requests, turn.conversation.language, inbound, now, dial_to)
        for action in turn.actions
    ]
    log_turn(inbound, turn, requests)
    return Commit(
        reply=render(actions),
        conversation=turn.conversation,
        callbacks=tuple(r for r, _ in requests),
        on_commit=alert_jobs(deps, requests),
        conversation_ttl=CALL_TTL,
    )


def _calling(request: CallbackRequest, number: str, now: datetime) -> CallbackRequest:
    """An open request asked for again on a call takes the number given on that call."""
    if request.number == number:
        return request
    return replace(request, number=number).noted(now, "requester", "number", "another callback number given by phone")


def _filled(
    action: Action,
    flow: Flow,
    deps: Deps,
    requests: list[tuple[CallbackRequest, bool]],
    language: str,
    inbound: Inbound,
    now: datetime,
    dial_to: str,
) -> Action:
    """Fill the runtime placeholders of a Say (ids and digits spaced out to be read one by one) and a Dial's numbers."""
    match action:
        case Say(text=text):
            values = {
                "last_four": _spoken_digits(inbound.number[-4:]),
                "opening": deps.settings.staffed_hours.describe_opening(now),
            }
            if requests:
                values["ref"] = _spoken_digits(str(requests[-1][0].id))
            text = fill_runtime(fill(text, values), flow, deps, requests, language, now)
            return replace(action, text=text)
        case Dial():
            number = dial_to or next((m.phone for m in deps.store.staff_on_call()), "")
            if not number:
                raise RuntimeError("the voice flow dials without asking `check: specialist` first")
            return replace(action, number=number, caller_id=deps.settings.twilio_phone_number)
    return action


def _spoken_digits(digits: str) -> str:
    """`1042` -> `1 0 4 2`, so text-to-speech reads a reference digit by digit."""
    return " ".join(ch for ch in digits if ch.isdigit())
