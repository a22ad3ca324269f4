"""Callback requests: the record staff work from, and the rules for changing it.

A request is stored as a Redis hash (see storage.py) with an append-only history list. It is
identified to people as `#<id>`. One number has at most one open request: asking again updates it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from helpline.core.actions import Priority, RequestCallback

FIRST_ID = 1000


class CallbackStatus(StrEnum):
    PENDING = "pending"
    CLAIMED = "claimed"
    DONE = "done"
    UNREACHABLE = "unreachable"

    @property
    def is_open(self) -> bool:
        return self in (CallbackStatus.PENDING, CallbackStatus.CLAIMED)


@dataclass(frozen=True)
class HistoryEntry:
    at: datetime
    who: str
    what: str
    note: str = ""


@dataclass(frozen=True)
class CallbackRequest:
    id: int
    number: str
    #: contact_id(number): the keyed hash that links the request to the conversation keys.
    contact: str
    channel: str
    created_at: datetime
    priority: Priority = Priority.NORMAL
    topic: str = ""
    preferred_time: str = "any"
    language: str = "en"
    voicemail_ok: bool | None = None
    status: CallbackStatus = CallbackStatus.PENDING
    claimed_by: str = ""
    attempts: int = 0
    recording_url: str = ""
    confirmed: bool = True
    #: Alert bookkeeping: how far escalation has gone, and whether any alert was delivered.
    alert_level: int = 0
    alert_failures: int = 0
    alerted_at: datetime | None = None
    undeliverable: bool = False
    #: The RQ job due to send the current alert; an older alert job that finds another id here stops.
    alert_job: str = ""
    #: When the current alert level became due (escalation, sweep); None means at created_at.
    alert_due_at: datetime | None = None
    #: The sid of the confirmation texted to the requester (requests made outside an SMS reply).
    confirmation_sid: str = ""
    #: History entries added by this change; storage appends them to the record's list.
    new_history: tuple[HistoryEntry, ...] = field(default=(), compare=False)

    @property
    def ref(self) -> str:
        return f"#{self.id}"

    @property
    def is_urgent(self) -> bool:
        return self.priority is Priority.URGENT

    @property
    def due_at(self) -> datetime:
        return self.alert_due_at or self.created_at

    @property
    def is_new(self) -> bool:
        """True for a request created by this change (not an update of an open one)."""
        return bool(self.new_history) and self.new_history[0].what == "created"

    def noted(self, at: datetime, who: str, what: str, note: str = "") -> CallbackRequest:
        return replace(self, new_history=(*self.new_history, HistoryEntry(at, who, what, note)))


def new_request(
    request_id: int, number: str, contact: str, channel: str, action: RequestCallback, now: datetime
) -> CallbackRequest:
    request = CallbackRequest(
        id=request_id,
        number=number,
        contact=contact,
        channel=channel,
        created_at=now,
        priority=action.priority,
        topic=action.topic,
        preferred_time=action.preferred_time,
        language=action.language,
        voicemail_ok=action.voicemail_ok,
        recording_url=action.recording_url or "",
        confirmed=action.confirmed,
    )
    return request.noted(now, "requester", "created", f"{channel} {action.priority} {action.topic}".strip())


def updated_request(request: CallbackRequest, action: RequestCallback, channel: str, now: datetime) -> CallbackRequest:
    """Asking again while a request is open updates it; urgency only ever goes up."""
    priority = Priority.URGENT if Priority.URGENT in (request.priority, action.priority) else Priority.NORMAL
    changed = replace(
        request,
        priority=priority,
        topic=action.topic or request.topic,
        preferred_time=action.preferred_time if action.preferred_time != "any" else request.preferred_time,
        voicemail_ok=request.voicemail_ok if action.voicemail_ok is None else action.voicemail_ok,
        recording_url=action.recording_url or request.recording_url,
        confirmed=request.confirmed or action.confirmed,
        language=action.language,
    )
    return changed.noted(now, "requester", "updated", f"{channel} {priority} {changed.topic}".strip())


def needs_alert(before: CallbackRequest | None, after: CallbackRequest) -> bool:
    """A new request is alerted; an update only when it became urgent or gained a voicemail."""
    if before is None:
        return True
    became_urgent = after.is_urgent and not before.is_urgent
    return became_urgent or (after.recording_url != before.recording_url and bool(after.recording_url))


# -- staff actions: each returns the changed request, or None when the action does not apply -------


def claimed(request: CallbackRequest, who: str, now: datetime) -> CallbackRequest | None:
    """Claim an open request; claiming your own claim again changes nothing."""
    if not request.status.is_open or request.status is CallbackStatus.CLAIMED:
        return None
    return replace(request, status=CallbackStatus.CLAIMED, claimed_by=who).noted(now, who, "claimed")


def closed(request: CallbackRequest, who: str, now: datetime, note: str = "") -> CallbackRequest | None:
    if not request.status.is_open:
        return None
    return replace(request, status=CallbackStatus.DONE, claimed_by=request.claimed_by or who).noted(
        now, who, "done", note
    )


def not_answered(request: CallbackRequest, who: str, now: datetime) -> CallbackRequest | None:
    """A call attempt nobody answered: logged, and the request goes back to the pending queue."""
    if not request.status.is_open:
        return None
    return replace(request, status=CallbackStatus.PENDING, claimed_by="", attempts=request.attempts + 1).noted(
        now, who, "no answer", f"attempt {request.attempts + 1}"
    )


def escalated(request: CallbackRequest, level: int, now: datetime) -> CallbackRequest | None:
    """Move an unclaimed, alerted request to the next alert level (None when it moved on meanwhile)."""
    if request.status is not CallbackStatus.PENDING or request.alert_level != level or request.alerted_at is None:
        return None
    return replace(request, alert_level=level + 1, alerted_at=None, alert_due_at=now).noted(
        now, "system", "escalated", f"level {level + 1}"
    )
