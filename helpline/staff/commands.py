"""Staff SMS commands: a text from a roster number is a command, never a helpline conversation.

    LIST                open requests, urgent first, then oldest
    ACK #id, CLAIM #id  take a request (first come, first served: WATCH in storage)
    DONE #id [note]     close it; nothing is sent to the requester
    NOANSWER #id        log a call attempt nobody answered; the request goes back in the queue
    HELP                these commands

Replies are short. The same words from a number not on the roster get the normal conversation
(the routing in channels/twilio_sms.py decides that).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from helpline.callbacks import CallbackRequest, CallbackStatus, claimed, closed, not_answered
from helpline.redact import mask_number
from helpline.staff.roster import StaffMember
from helpline.storage import RedisStore

logger = logging.getLogger(__name__)

HELP = "Staff commands: LIST, CLAIM #id, DONE #id [note], NOANSWER #id, HELP."
VERBS = {"list": "list", "ack": "claim", "claim": "claim", "done": "done", "noanswer": "noanswer", "help": "help"}
LISTED = 5
_COMMAND = re.compile(r"^\s*(?P<verb>[a-z]+(?:[ -]answer)?)\s*(?:#\s*)?(?P<id>\d+)?\s*(?P<note>.*)$", re.I | re.S)
#: Twilio's opt-out words go to the conversation even from staff, so our opt-out list stays true.
PASS_THROUGH = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "START"})


@dataclass(frozen=True)
class StaffCommand:
    verb: str  # one of VERBS' values, or "unknown"
    callback_id: int | None = None
    note: str = ""


def is_command(text: str) -> bool:
    """Everything a staff member texts is a command, except the opt-out words."""
    return text.strip().upper() not in PASS_THROUGH


def parse(text: str) -> StaffCommand:
    match = _COMMAND.match(text)
    if match is None:
        return StaffCommand("unknown")
    verb = VERBS.get(re.sub(r"[ -]", "", match["verb"].lower()), "unknown")
    if verb == "unknown":
        return StaffCommand("unknown")
    number = int(match["id"]) if match["id"] else None
    return StaffCommand(verb, number, match["note"].strip()[:200])


def run(command: StaffCommand, member: StaffMember, store: RedisStore, now: datetime) -> str:
    """Carry out one command and return the reply."""
    if command.verb == "help":
        return HELP
    if command.verb == "list":
        return list_reply(store.open_callbacks(), now)
    if command.verb == "unknown":
        return "Not a staff command. " + HELP
    if command.callback_id is None:
        return f"Which request? For example: {command.verb.upper()} #1042"
    actions: dict[str, Callable[[CallbackRequest], CallbackRequest | None]] = {
        "claim": lambda r: claimed(r, member.name, now),
        "done": lambda r: closed(r, member.name, now, command.note),
        "noanswer": lambda r: not_answered(r, member.name, now),
    }
    changed: list[CallbackRequest] = []

    def change(request: CallbackRequest) -> CallbackRequest | None:
        result = actions[command.verb](request)
        changed[:] = [result] if result else []
        return result

    result = store.update_callback(command.callback_id, change)
    if result is None:
        return f"No request #{command.callback_id}. Reply LIST for open ones."
    logger.info("staff %s: %s %s -> %s", mask_number(member.phone), command.verb, result.ref, result.status)
    return _outcome(command.verb, result, bool(changed), member)


def _outcome(verb: str, request: CallbackRequest, changed: bool, member: StaffMember) -> str:
    ref = request.ref
    if not changed:
        if not request.status.is_open:
            return f"{ref} is already closed ({request.status})."
        if verb == "claim" and request.claimed_by == member.name:
            return f"{ref} is already yours. Call {request.number}."
        return f"{ref} is already claimed by {request.claimed_by}."
    if verb == "claim":
        voicemail = {True: "voicemail OK", False: "NO voicemail", None: "voicemail not asked"}[request.voicemail_ok]
        return (
            f"{ref} is yours. Call {request.number} ({request.preferred_time}, {voicemail}). "
            f"Then DONE {ref} or NOANSWER {ref}."
        )
    if verb == "done":
        return f"{ref} closed. Thank you."
    return f"{ref}: attempt {request.attempts} logged. It is back in the queue."


def list_reply(requests: list[CallbackRequest], now: datetime) -> str:
    if not requests:
        return "No open requests."
    lines = [_line(r, now) for r in requests[:LISTED]]
    more = f" +{len(requests) - LISTED} more" if len(requests) > LISTED else ""
    return f"Open ({len(requests)}): " + "; ".join(lines) + more


def _line(request: CallbackRequest, now: datetime) -> str:
    minutes = max(0, int((now - request.created_at).total_seconds() // 60))
    age = f"{minutes}m" if minutes < 120 else f"{minutes // 60}h"
    flags = ["URGENT"] if request.is_urgent else []
    if request.status is CallbackStatus.CLAIMED:
        flags.append(f"claimed by {request.claimed_by}")
    if request.undeliverable:
        flags.append("alert failed")
    return " ".join([request.ref, *flags, age, request.number, request.topic or "-"])


def handle(member: StaffMember, text: str, delivery_id: str, store: RedisStore, now: datetime) -> str:
    """Parse and run a staff text once per delivery; a repeated delivery gets the first reply."""
    command = parse(text)
    reply, replayed = store.run_once(delivery_id, lambda: run(command, member, store, now))
    if replayed:
        logger.info("staff %s: delivery replayed; nothing changed", mask_number(member.phone))
    return reply
