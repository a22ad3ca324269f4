"""RQ jobs and how they are queued. Jobs take ids, re-read state and are safe to run twice.

Queue names are constants; worker.py listens to URGENT first. Every job reads the same JobContext
(settings, store, messenger, clock), built once per worker process.

    alert_on_call(id)          text staff about a pending request (level 0: first on call, 1: the next,
                               2: the whole roster); schedules escalate() when it got through
    escalate(id, level)        nobody claimed it in time: move to the next level and alert again
    sweep_lost_alerts()        re-queue alerts whose job was lost (worker killed, enqueue failed)
    confirm_to_requester(id)   the discreet confirmation text for a request made on a call
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from redis import Redis
from redis.client import Pipeline
from rq import Queue, Retry, get_current_job
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from helpline import notices
from helpline.callbacks import CallbackRequest, CallbackStatus, escalated
from helpline.config import Settings
from helpline.outbound import (
    Messenger,
    OptedOut,
    OutboxMessenger,
    PermanentSendError,
    TransientSendError,
    TwilioMessenger,
    twilio_client,
)
from helpline.redact import mask_number
from helpline.staff.roster import StaffMember
from helpline.storage import RedisStore

logger = logging.getLogger(__name__)

URGENT = "urgent"
DEFAULT = "default"
ALERT_RETRY = Retry(max=5, interval=[5, 15, 30, 60, 120])
#: The alert level at which every staff member on the roster is texted.
EVERYONE = 2
_ALIVE = {JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED}


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    redis: Redis
    store: RedisStore
    messenger: Messenger
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))


_context: JobContext | None = None


def build_context(
    settings: Settings,
    redis: Redis | None = None,
    messenger: Messenger | None = None,
    clock: Callable[[], datetime] | None = None,
) -> JobContext:
    redis = redis or Redis.from_url(settings.redis_url, socket_timeout=15, socket_connect_timeout=5)
    store = RedisStore(redis, conversation_ttl=settings.conversation_retention)
    messenger = messenger or messenger_for(settings, redis)
    return JobContext(settings, redis, store, messenger, clock or (lambda: datetime.now(UTC)))


def messenger_for(settings: Settings, redis: Redis) -> Messenger:
    """Twilio when credentials are configured; otherwise the development outbox."""
    if not settings.twilio_credentials:
        return OutboxMessenger(redis)
    client = twilio_client(settings.twilio_account_sid, settings.twilio_auth_token, settings.twilio_api_base_url)
    status_url = f"{settings.public_base_url}/sms/status" if settings.public_base_url else None
    return TwilioMessenger(client, settings.twilio_phone_number, status_callback=status_url)


def set_job_context(context: JobContext | None) -> None:
    """worker.py sets the context before forking; tests set one with their clock and messenger."""
    global _context
    _context = context


def job_context() -> JobContext:
    global _context
    if _context is None:
        _context = build_context(Settings.from_env())
    return _context


# -- queueing ----------------------------------------------------------------------------------


def queue(redis: Redis, name: str) -> Queue:
    return Queue(name, connection=redis)


def queue_for(redis: Redis, request: CallbackRequest) -> Queue:
    return queue(redis, URGENT if request.is_urgent else DEFAULT)


def enqueue_alert(redis: Redis, request: CallbackRequest, pipeline: Pipeline | None = None) -> str:
    """Queue the staff alert for a request (inside the caller's transaction when `pipeline` is given).

    The request remembers the job's id, so the sweep can tell a live alert from a lost one, and an
    alert job that was replaced meanwhile stands down.
    """
    job_id = f"alert-{request.id}-{uuid.uuid4().hex[:12]}"
    RedisStore(redis).note_alert_job(request.id, job_id, pipeline=pipeline)
    queue_for(redis, request).enqueue(
        alert_on_call,
        request.id,
        job_id=job_id,
        retry=ALERT_RETRY,
        pipeline=pipeline,
        description=f"alert {request.ref}",
    )
    return job_id


def enqueue_confirmation(redis: Redis, request: CallbackRequest, pipeline: Pipeline | None = None) -> None:
    """Queue the requester's confirmation text (for requests made outside an SMS reply)."""
    queue(redis, DEFAULT).enqueue(
        confirm_to_requester, request.id, retry=ALERT_RETRY, pipeline=pipeline, description=f"confirm {request.ref}"
    )


# -- alerts ------------------------------------------------------------------------------------


def alert_on_call(callback_id: int) -> str:
    """Text staff about a pending request. Transient send errors escape so RQ's Retry applies."""
    ctx = job_context()
    request = ctx.store.get_callback(callback_id)
    if request is None or request.status is not CallbackStatus.PENDING:
        return "not pending"
    if request.alerted_at is not None:
        return "already alerted"
    job = get_current_job()
    if job is not None and request.alert_job and request.alert_job != job.id:
        return "superseded"  # the sweep queued a newer alert job
    delivered = _send_alert(ctx, request)
    now = ctx.clock()
    if not delivered:
        ctx.store.update_callback(callback_id, lambda r: _undeliverable(r, now))
        logger.error("alert %s reached nobody: request stays open, marked undeliverable", request.ref)
        return "undeliverable"
    names = ", ".join(m.name for m in delivered)
    whole_roster = _whole_roster(ctx, request.alert_level)

    def change(current: CallbackRequest) -> CallbackRequest | None:
        if current.status is not CallbackStatus.PENDING or current.alert_level != request.alert_level:
            return None
        alerted = replace(current, alerted_at=now, undeliverable=False)
        return alerted.noted(now, "system", "alerted", f"level {request.alert_level}: {names}")

    def schedule(pipe: Pipeline) -> None:
        if not whole_roster:
            after = ctx.settings.escalate_urgent_after if request.is_urgent else ctx.settings.escalate_after
            queue_for(ctx.redis, request).enqueue_in(
                after,
                escalate,
                callback_id,
                request.alert_level,
                pipeline=pipe,
                description=f"escalate {request.ref} from level {request.alert_level}",
            )

    ctx.store.update_callback(callback_id, change, on_commit=schedule)
    logger.info("alert %s level %d sent to %d staff", request.ref, request.alert_level, len(delivered))
    return "alerted"


def _whole_roster(ctx: JobContext, level: int) -> bool:
    return level >= EVERYONE or (level > 0 and len(ctx.store.staff_on_call()) <= level)


def _send_alert(ctx: JobContext, request: CallbackRequest) -> list[StaffMember]:
    """Text the staff this alert level is for; return who got it. Raises TransientSendError."""
    roster = ctx.store.staff()
    unreachable = ctx.store.unreachable_staff(request.id)
    body = alert_text(request)
    if _whole_roster(ctx, request.alert_level):
        delivered: list[StaffMember] = []
        transient: TransientSendError | None = None
        for member in (m for m in roster if m.phone not in unreachable):
            try:
                ctx.messenger.send_text(member.phone, body)
                delivered.append(member)
            except PermanentSendError as error:
                _unreachable(ctx, request, member, error)
            except TransientSendError as error:
                transient = error
        if transient is not None and not delivered:
            raise transient
        return delivered
    on_call = [m for m in roster if m.on_call]
    level = request.alert_level
    candidates = on_call[level:] + [m for m in roster if not m.on_call] + on_call[:level]
    for member in (m for m in candidates if m.phone not in unreachable):
        try:
            ctx.messenger.send_text(member.phone, body)
        except PermanentSendError as error:
            _unreachable(ctx, request, member, error)  # recorded; move on to the next staff member
            continue
        return [member]
    return []


def _unreachable(ctx: JobContext, request: CallbackRequest, member: StaffMember, error: PermanentSendError) -> None:
    now = ctx.clock()
    ctx.store.mark_staff_unreachable(request.id, member.phone)
    note = f"{member.name} {mask_number(member.phone)}: HTTP {error.status} error {error.code}"
    ctx.store.update_callback(
        request.id, lambda r: replace(r, alert_failures=r.alert_failures + 1).noted(now, "system", "alert failed", note)
    )
    logger.warning("alert %s to staff %s failed permanently (%s)", request.ref, mask_number(member.phone), error)


def _undeliverable(request: CallbackRequest, now: datetime) -> CallbackRequest | None:
    if request.status is not CallbackStatus.PENDING or request.alerted_at is not None:
        return None
    return replace(request, undeliverable=True, alert_due_at=now).noted(
        now, "system", "alert undeliverable", "no staff member could be texted"
    )


def alert_text(request: CallbackRequest) -> str:
    """Short and plain: what staff need to decide, and how to claim it."""
    voicemail = {True: "OK", False: "NO", None: "not asked"}[request.voicemail_ok]
    parts = [
        f"{'URGENT ' if request.is_urgent else ''}Callback {request.ref}"
        + (" (escalated)" if request.alert_level else ""),
        f"{request.number}, {request.priority}",
        f"topic {request.topic or '-'}",
        f"time {request.preferred_time}",
        f"voicemail {voicemail}",
    ]
    if request.recording_url:
        parts.append("voicemail waiting")
    return ". ".join(parts) + f". Reply CLAIM {request.ref}"


def escalate(callback_id: int, level: int) -> str:
    """Nobody claimed the request after the level's alert: alert the next level."""
    ctx = job_context()
    changed: list[CallbackRequest] = []

    def change(request: CallbackRequest) -> CallbackRequest | None:
        result = escalated(request, level, ctx.clock())
        changed[:] = [result] if result else []
        return result

    def enqueue(pipe: Pipeline) -> None:
        enqueue_alert(ctx.redis, changed[0], pipeline=pipe)

    ctx.store.update_callback(callback_id, change, on_commit=enqueue)
    if not changed:
        return "not needed"
    logger.info("callback #%s unclaimed: escalated to level %d", callback_id, level + 1)
    return "escalated"


# -- the sweep ---------------------------------------------------------------------------------


def sweep_lost_alerts() -> list[int]:
    """Queue again every alert that should have gone out by now and has no live job behind it.

    Run by every worker at each maintenance pass (worker.py) and safe to run concurrently: the
    re-queue happens under WATCH, and the replaced job stands down if it ever runs.
    """
    ctx = job_context()
    now = ctx.clock()
    requeued = []
    for request in ctx.store.open_callbacks():
        if request.status is not CallbackStatus.PENDING or request.alerted_at is not None:
            continue
        waited = now - request.due_at
        if request.undeliverable:
            lost = waited >= ctx.settings.escalate_after  # try again later: the roster may have changed
        else:
            lost = waited >= ctx.settings.alert_sweep_after and not _job_alive(ctx, request.alert_job)
        if lost and _requeue(ctx, request, now):
            requeued.append(request.id)
    if requeued:
        logger.warning("sweep: alerts queued again for %s", ", ".join(f"#{i}" for i in requeued))
    return requeued


def _job_alive(ctx: JobContext, job_id: str) -> bool:
    """Queued, scheduled, or running with a recent heartbeat (RQ's heartbeats are wall-clock time)."""
    if not job_id:
        return False
    try:
        job = Job.fetch(job_id, connection=ctx.redis)
    except NoSuchJobError:
        return False
    status = job.get_status(refresh=False)
    if status in _ALIVE:
        return True
    if status == JobStatus.STARTED:
        beat = job.last_heartbeat or job.started_at
        if beat is not None and beat.tzinfo is None:
            beat = beat.replace(tzinfo=UTC)
        return beat is not None and datetime.now(UTC) - beat < ctx.settings.alert_sweep_after
    return False


def _requeue(ctx: JobContext, request: CallbackRequest, now: datetime) -> bool:
    changed: list[CallbackRequest] = []

    def change(current: CallbackRequest) -> CallbackRequest | None:
        if current.alert_job != request.alert_job or current.alerted_at is not None or not current.status.is_open:
            return None  # another sweep or the job itself got there first
        changed[:] = [replace(current, alert_due_at=now).noted(now, "system", "alert queued again")]
        return changed[0]

    ctx.store.update_callback(request.id, change, on_commit=lambda pipe: enqueue_alert(ctx.redis, changed[0], pipe))
    return bool(changed)


# -- the requester's confirmation ---------------------------------------------------------------


def confirm_to_requester(callback_id: int) -> str:
    """Text the requester a discreet confirmation, in their daytime, unless they opted out."""
    ctx = job_context()
    request = ctx.store.get_callback(callback_id)
    if request is None or not request.status.is_open or request.confirmation_sid:
        return "not needed"
    now = ctx.clock()
    if ctx.store.has_opted_out(request.contact):
        ctx.store.update_callback(callback_id, lambda r: r.noted(now, "system", "confirmation skipped", "opted out"))
        return "opted out"
    when = notices.next_send_time(request.number, now, ZoneInfo(ctx.settings.helpline_timezone))
    if when > now:
        queue(ctx.redis, DEFAULT).enqueue_at(
            when, confirm_to_requester, callback_id, retry=ALERT_RETRY, description=f"confirm {request.ref}"
        )
        logger.info("confirmation %s waits for the recipient's daytime", request.ref)
        return "waiting"
    try:
        sent = ctx.messenger.send_text(request.number, notices.confirmation_text(request, ctx.settings.helpline_name))
    except OptedOut:
        ctx.store.set_opted_out(request.contact, now)
        ctx.store.update_callback(callback_id, lambda r: r.noted(now, "system", "confirmation skipped", "opted out"))
        return "opted out"
    except PermanentSendError as error:
        note = f"HTTP {error.status} error {error.code}"
        ctx.store.update_callback(callback_id, lambda r: r.noted(now, "system", "confirmation failed", note))
        return "failed"
    ctx.store.update_callback(
        callback_id, lambda r: replace(r, confirmation_sid=sent.sid).noted(now, "system", "confirmation texted")
    )
    return "sent"
