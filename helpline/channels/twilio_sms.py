"""POST /sms (Twilio's Messaging webhook) and POST /sms/status (delivery status callbacks)."""

from __future__ import annotations

import logging
from collections.abc import Mapping

from flask import Blueprint, Response, abort, request

from helpline import conversations
from helpline.channels import answer_failures_with, current_deps
from helpline.channels.signatures import require_twilio_signature
from helpline.channels.twiml import render_sms, twiml_response
from helpline.conversations import Inbound
from helpline.core.events import TextReceived
from helpline.core.text import clean_text
from helpline.phones import sender
from helpline.redact import contact_id
from helpline.staff import commands as staff_commands

logger = logging.getLogger(__name__)
bp = Blueprint("twilio_sms", __name__)
OPTED_OUT_ERROR = "21610"
#: What /sms answers when something inside broke: never a 500, never silence.
SAFE_REPLY = (
    "Sorry, something went wrong on our side. Please try again in a few minutes. "
    "In an emergency call 911. In a crisis call or text 988."
)


def sms_inbound(form: Mapping[str, str], token: str, secret: bytes) -> Inbound:
    """Turn Twilio's form into an Inbound. Deliveries are deduplicated on the MessageSid and on
    the I-Twilio-Idempotency-Token header (`token`) when present."""
    number = sender(form["From"])
    message_sid = form.get("MessageSid") or form.get("SmsSid") or ""
    return Inbound(
        delivery_id=f"sms:{message_sid or token}",
        number=number,
        contact=contact_id(number, secret),
        channel="sms",
        event=TextReceived(text=clean_text(form.get("Body", ""))),
        alias=f"sms-token:{token}" if token and message_sid else None,
    )


@bp.post("/sms")
@require_twilio_signature
def inbound_sms() -> Response:
    if not request.form.get("From", "").strip():
        abort(400, "a Twilio message webhook always has From")
    if not (request.form.get("MessageSid") or request.headers.get("I-Twilio-Idempotency-Token")):
        abort(400, "a Twilio message webhook always has MessageSid")
    current = current_deps()
    token = request.headers.get("I-Twilio-Idempotency-Token", "")
    inbound = sms_inbound(request.form, token, current.settings.secret)
    text = inbound.event.text if isinstance(inbound.event, TextReceived) else ""
    member = current.store.staff_member(inbound.number)
    if member is not None and staff_commands.is_command(text):  # roster numbers text commands
        answer = staff_commands.handle(member, text, inbound.delivery_id, current.store, current.clock())
        return twiml_response(render_sms([answer] if answer else []))
    reply = conversations.handle_sms(inbound, current, current.clock(), render_sms)
    return twiml_response(reply)


@bp.post("/sms/status")
@require_twilio_signature
def sms_status() -> tuple[str, int]:
    """Record failed deliveries; error 21610 means Twilio has the number opted out."""
    sid, status = request.form.get("MessageSid", ""), request.form.get("MessageStatus", "")
    current = current_deps()
    if not sid or not current.store.first_status_report(sid, status):
        return "", 204
    if status in ("failed", "undelivered"):
        code = request.form.get("ErrorCode", "")
        contact = contact_id(sender(request.form.get("To", "")), current.settings.secret)
        current.store.record_failure(
            {"sid": sid, "status": status, "code": code, "contact": contact[:8], "at": current.clock().isoformat()}
        )
        if code == OPTED_OUT_ERROR:
            current.store.set_opted_out(contact, current.clock())
        logger.info("sms %s %s code=%s contact=%s", sid, status, code or "-", contact[:8])
    return "", 204


answer_failures_with(bp, render_sms([SAFE_REPLY]))
