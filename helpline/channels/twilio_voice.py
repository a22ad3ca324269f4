"""POST /voice (Twilio's Voice webhook), POST /voice/next?step=N (every later step of a call) and
POST /voice/status (the call status callback).

Each step's TwiML sends Twilio back to `/voice/next?step=N+1` (Gather, Redirect, Dial and Record
actions), a signed route like the others: the step travels in the URL, so the delivery id is
`<CallSid>:<step>` and a retried step gets the same TwiML and changes nothing twice.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Blueprint, Response, abort, request, url_for

from helpline import calls
from helpline.channels import answer_failures_with, current_deps, current_settings
from helpline.channels.signatures import require_twilio_signature
from helpline.channels.twiml import render_voice, twiml_response
from helpline.conversations import Inbound
from helpline.core.actions import Hangup, Say
from helpline.core.events import CallAnswered, Event, KeysPressed, NoInput, Outcome, SpeechHeard
from helpline.core.text import clean_text
from helpline.phones import callable_number, sender
from helpline.redact import contact_id

logger = logging.getLogger(__name__)
bp = Blueprint("twilio_voice", __name__)
#: Call statuses that mean the call is over (others, such as ringing, are ignored).
CALL_ENDED = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
MAX_DIGITS = 32
#: What a voice route answers when something inside broke: never a 500, never silence.
SAFE_REPLY = (
    Say(
        "Sorry, something went wrong on our side. Please call again in a few minutes. "
        "If this is an emergency, hang up and call 9 1 1. In a crisis, call or text 9 8 8."
    ),
    Say("Lo sentimos, algo salió mal. Si es una emergencia, cuelgue y llame al 9 1 1.", language="es-US"),
    Hangup(),
)


def voice_event(form: Mapping[str, str]) -> Event:
    """What a follow-up request reports: a dial result, a recording, keys, speech, or nothing (silence)."""
    if status := form.get("DialCallStatus", "").strip().lower():
        return Outcome(f"dial:{status}")
    if recording := form.get("RecordingUrl", "").strip():
        return Outcome("recorded", recording)
    if digits := form.get("Digits", "").strip():
        return KeysPressed(digits[:MAX_DIGITS])
    if speech := clean_text(form.get("SpeechResult", "")):
        try:
            confidence = float(form.get("Confidence") or 1.0)
        except ValueError:
            confidence = 0.0
        return SpeechHeard(speech, confidence)
    return NoInput()


def voice_inbound(form: Mapping[str, str], delivery: str, event: Event, secret: bytes) -> Inbound:
    """A call step as an Inbound. A caller without a callable caller id is one contact per call."""
    call_sid = form["CallSid"]
    number = sender(form.get("From", ""))
    identity = number if callable_number(number) else f"call:{call_sid}"
    return Inbound(
        delivery_id=f"{call_sid}:{delivery}",
        number=number,
        contact=contact_id(identity, secret),
        channel="voice",
        event=event,
    )


def next_url(step: int) -> str:
    """The absolute URL of the next step, as Twilio will call (and sign) it."""
    path = url_for("twilio_voice.next_step", step=step)
    base = current_settings().public_base_url
    return f"{base}{path}" if base else url_for("twilio_voice.next_step", step=step, _external=True)


@bp.post("/voice")
@require_twilio_signature
def incoming_call() -> Response:
    return _step(0, CallAnswered())


@bp.post("/voice/next")
@require_twilio_signature
def next_step() -> Response:
    step = request.args.get("step", type=int)
    if step is None or step < 1:
        abort(400, "a call step URL carries ?step=N, N >= 1")
    return _step(step, voice_event(request.form))


def _step(step: int, event: Event) -> Response:
    if not request.form.get("CallSid", "").strip():
        abort(400, "a Twilio voice webhook always has CallSid")
    current = current_deps()
    inbound = voice_inbound(request.form, str(step), event, current.settings.secret)
    following = next_url(step + 1)
    reply = calls.handle_call(
        inbound, request.form["CallSid"], current, current.clock(), lambda actions: render_voice(actions, following)
    )
    return twiml_response(reply)


@bp.post("/voice/status")
@require_twilio_signature
def call_status() -> tuple[str, int]:
    """A call ended: one who hung up on the way to a callback still gets one (unconfirmed)."""
    sid, status = request.form.get("CallSid", "").strip(), request.form.get("CallStatus", "").strip().lower()
    if not sid or status not in CALL_ENDED:
        return "", 204
    current = current_deps()
    inbound = voice_inbound(request.form, "status", Outcome("hangup"), current.settings.secret)
    calls.handle_call_ended(inbound, sid, current, current.clock())
    return "", 204


answer_failures_with(bp, render_voice(SAFE_REPLY, ""))
