"""RedisStore: every key name and every Redis command helpline issues (RQ's own aside).

    helpline:conversation:{contact}         string, Conversation JSON    TTL conversation_retention
    helpline:delivery:{delivery_id}         string, the reply given      TTL 1 day (replayed on retries)
    helpline:optout:{contact}               string, ISO time of opt-out  no TTL
    helpline:status:{sid}:{status}          string "1"                   TTL 1 day (status callback dedupe)
    helpline:sms:failures                   list of JSON, newest first   capped at 1,000
    helpline:callbacks:seq                  counter; ids are FIRST_ID + INCR
    helpline:callback:{id}                  hash, a CallbackRequest      TTL 90 days once closed
    helpline:callback:{id}:history          list of JSON history entries (append-only)
    helpline:callbacks:open                 sorted set of open ids, score = priority, then age
    helpline:callbacks:by-contact:{contact} string, the id of that contact's open request
    helpline:staff:roster                   hash, E.164 phone -> StaffMember JSON
    helpline:staff:on-call                  list of E.164 phones, in alert order
    helpline:callback:{id}:unreachable      set of staff phones an alert for {id} could not reach
    helpline:staff-delivery:{delivery_id}   string, the reply to a staff command   TTL 1 day
    helpline:call:{call_sid}                string, one phone call's Conversation JSON  TTL CALL_TTL

`{contact}` is `contact_id(number, secret)`, a keyed hash: keys and logs never show a number. The
callback hash holds the number, because staff need it to call back.

A conversation turn is one optimistic transaction (`apply_turn`): WATCH the contact's keys, read,
let the caller decide, then write everything (and queue jobs) in one MULTI/EXEC, retrying when
another delivery for the same contact got there first.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from typing import Any

from redis import Redis, WatchError
from redis.client import Pipeline

from helpline.callbacks import FIRST_ID, CallbackRequest, CallbackStatus, HistoryEntry
from helpline.core.actions import Priority
from helpline.core.state import Conversation
from helpline.staff.roster import StaffMember

logger = logging.getLogger(__name__)

PREFIX = "helpline"
DELIVERY_TTL = timedelta(days=1)
CLOSED_CALLBACK_TTL = timedelta(days=90)
FAILURES_KEPT = 1000
TURN_ATTEMPTS = 50
#: A phone call's state outlives the call only long enough for late webhooks (status, recordings).
CALL_TTL = timedelta(days=1)


@dataclass(frozen=True)
class Snapshot:
    """What a turn may read: taken under WATCH, so a conflicting write makes the turn start over."""

    conversation: Conversation | None
    opted_out: bool
    open_callback: CallbackRequest | None


@dataclass(frozen=True)
class Commit:
    """What a turn writes. `reply` is stored for replays and returned to the webhook."""

    reply: str
    conversation: Conversation | None = None
    opted_out_at: datetime | None = None  # record an opt-out made at this time
    opt_in: bool = False  # remove an opt-out
    callbacks: tuple[CallbackRequest, ...] = ()
    #: Called inside MULTI with the pipeline, to queue jobs atomically with the writes.
    on_commit: Callable[[Pipeline], None] | None = field(default=None, compare=False)
    #: How long to keep `conversation`; None is the store's conversation_ttl (a call uses CALL_TTL).
    conversation_ttl: timedelta | None = None


class RedisStore:
    def __init__(self, redis: Redis, *, conversation_ttl: timedelta = timedelta(days=30)) -> None:
        self.redis = redis
        self.conversation_ttl = conversation_ttl

    # -- conversations -------------------------------------------------------------------------

    def apply_turn(
        self,
        contact: str,
        delivery_id: str,
        decide: Callable[[Snapshot], Commit],
        *,
        conversation_key: str | None = None,
        alias: str | None = None,
    ) -> tuple[str, bool]:
        """Run one delivery exactly once: (reply, replayed). A repeated delivery_id gets the first reply.

        `alias` is a second id for the same delivery (Twilio's idempotency token): a retry that
        repeats either id is a replay.
        """
        conversation_key = conversation_key or _key("conversation", contact)
        deliveries = [_key("delivery", d) for d in (delivery_id, alias) if d]
        keys = (conversation_key, *deliveries, _by_contact(contact), _key("optout", contact))
        for _ in range(TURN_ATTEMPTS):
            with self.redis.pipeline() as pipe:
                try:
                    pipe.watch(*keys)
                    earlier = next(filter(None, (pipe.get(key) for key in deliveries)), None)
                    if earlier is not None:
                        return earlier.decode(), True
                    commit = decide(self._snapshot(pipe, conversation_key, contact))
                    pipe.multi()
                    self._write_commit(pipe, contact, conversation_key, deliveries, commit)
                    pipe.execute()
                    return commit.reply, False
                except WatchError:
                    continue
        raise RuntimeError(f"could not apply a turn for contact {contact[:8]} after {TURN_ATTEMPTS} attempts")

    def _snapshot(self, pipe: Pipeline, conversation_key: str, contact: str) -> Snapshot:
        raw = pipe.get(conversation_key)
        conversation = None
        if raw is not None:
            try:
                conversation = Conversation.from_json(raw)
            except (ValueError, KeyError, TypeError):
                logger.warning("unreadable conversation state for contact=%s; starting over", contact[:8])
        open_id = pipe.get(_by_contact(contact))
        if open_id:
            pipe.watch(_callback_key(int(open_id)))  # a claim or an alert meanwhile makes the turn start over
        open_callback = self._read_callback(pipe, int(open_id)) if open_id else None
        if open_callback is not None and not open_callback.status.is_open:
            open_callback = None
        return Snapshot(conversation, bool(pipe.exists(_key("optout", contact))), open_callback)

    def _write_commit(
        self, pipe: Pipeline, contact: str, conversation_key: str, delivery_keys: list[str], c: Commit
    ) -> None:
        for key in delivery_keys:
            pipe.set(key, c.reply, ex=DELIVERY_TTL)
        if c.conversation is not None:
            pipe.set(conversation_key, c.conversation.to_json(), ex=c.conversation_ttl or self.conversation_ttl)
        if c.opted_out_at is not None:
            pipe.set(_key("optout", contact), c.opted_out_at.isoformat())
        if c.opt_in:
            pipe.delete(_key("optout", contact))
        for request in c.callbacks:
            self._write_callback(pipe, request)
        if c.on_commit is not None:
            c.on_commit(pipe)

    def load_conversation(self, contact: str) -> Conversation | None:
        raw = self.redis.get(_key("conversation", contact))
        return Conversation.from_json(raw) if raw else None

    # -- opt-outs and delivery status ----------------------------------------------------------

    def has_opted_out(self, contact: str) -> bool:
        return bool(self.redis.exists(_key("optout", contact)))

    def set_opted_out(self, contact: str, at: datetime) -> None:
        self.redis.set(_key("optout", contact), at.isoformat())

    def first_status_report(self, sid: str, status: str) -> bool:
        """True the first time this (message, status) pair is reported; Twilio may repeat them."""
        return bool(self.redis.set(_key("status", f"{sid}:{status}"), "1", nx=True, ex=DELIVERY_TTL))

    def record_failure(self, record: dict[str, Any]) -> None:
        with self.redis.pipeline() as pipe:
            pipe.lpush(_key("sms", "failures"), json.dumps(record))
            pipe.ltrim(_key("sms", "failures"), 0, FAILURES_KEPT - 1)
            pipe.execute()

    def recent_failures(self, count: int = 20) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.redis.lrange(_key("sms", "failures"), 0, count - 1)]

    # -- callbacks -----------------------------------------------------------------------------

    def next_callback_id(self) -> int:
        return FIRST_ID + int(self.redis.incr(_key("callbacks", "seq")))

    def get_callback(self, request_id: int) -> CallbackRequest | None:
        return self._read_callback(self.redis, request_id)

    def callback_history(self, request_id: int) -> list[HistoryEntry]:
        raw = self.redis.lrange(_callback_key(request_id) + ":history", 0, -1)
        return [_history_from_json(item) for item in raw]

    def open_callbacks(self) -> list[CallbackRequest]:
        """Open requests, urgent first, then oldest first."""
        ids = self.redis.zrange(_key("callbacks", "open"), 0, -1)
        requests = (self.get_callback(int(i)) for i in ids)
        return [r for r in requests if r is not None]

    def all_callbacks(self) -> list[CallbackRequest]:
        last = int(self.redis.get(_key("callbacks", "seq")) or 0)
        requests = (self.get_callback(FIRST_ID + n) for n in range(1, last + 1))
        return [r for r in requests if r is not None]

    def save_callback(self, request: CallbackRequest, on_commit: Callable[[Pipeline], None] | None = None) -> None:
        """Write one request (and its new history) in a transaction, with optional jobs queued inside it."""
        with self.redis.pipeline() as pipe:
            pipe.multi()
            self._write_callback(pipe, request)
            if on_commit is not None:
                on_commit(pipe)
            pipe.execute()

    def update_callback(
        self,
        request_id: int,
        change: Callable[[CallbackRequest], CallbackRequest | None],
        on_commit: Callable[[Pipeline], None] | None = None,
    ) -> CallbackRequest | None:
        """Read-modify-write one request under WATCH. `change` returns None to leave it alone.

        `on_commit` runs inside the MULTI when there is a change (to queue jobs with it).
        """
        key = _callback_key(request_id)
        for _ in range(TURN_ATTEMPTS):
            with self.redis.pipeline() as pipe:
                try:
                    pipe.watch(key)
                    current = self._read_callback(pipe, request_id)
                    if current is None:
                        return None
                    changed = change(current)
                    if changed is None:
                        return current
                    pipe.multi()
                    self._write_callback(pipe, changed)
                    if on_commit is not None:
                        on_commit(pipe)
                    pipe.execute()
                    return replace(changed, new_history=())
                except WatchError:
                    continue
        raise RuntimeError(f"could not update callback #{request_id}")

    def _read_callback(self, conn: Redis | Pipeline, request_id: int) -> CallbackRequest | None:
        data = conn.hgetall(_callback_key(request_id))
        return _callback_from_hash(data) if data else None

    def _write_callback(self, pipe: Pipeline, request: CallbackRequest) -> None:
        key, pointer = _callback_key(request.id), _by_contact(request.contact)
        pipe.hset(key, mapping=_callback_to_hash(request))
        for entry in request.new_history:
            pipe.rpush(key + ":history", _history_to_json(entry))
        if request.status.is_open:
            pipe.zadd(_key("callbacks", "open"), {str(request.id): _queue_score(request)})
            pipe.persist(key)
            pipe.persist(key + ":history")
            # Left alone on close: a closed request behind the pointer counts as none (_snapshot),
            # and the next request for this contact overwrites it.
            pipe.set(pointer, request.id, ex=CLOSED_CALLBACK_TTL)
        else:
            pipe.zrem(_key("callbacks", "open"), str(request.id))
            pipe.expire(key, CLOSED_CALLBACK_TTL)
            pipe.expire(key + ":history", CLOSED_CALLBACK_TTL)

    # -- staff roster ---------------------------------------------------------------------------

    def add_staff(self, member: StaffMember) -> None:
        """Add or rename a staff member; on_call=True also puts them last in the on-call order."""
        with self.redis.pipeline() as pipe:
            pipe.multi()
            pipe.hset(_key("staff", "roster"), member.phone, member.to_json())
            if member.on_call:
                pipe.lrem(_key("staff", "on-call"), 0, member.phone)
                pipe.rpush(_key("staff", "on-call"), member.phone)
            pipe.execute()

    def remove_staff(self, phone: str) -> bool:
        with self.redis.pipeline() as pipe:
            pipe.multi()
            pipe.hdel(_key("staff", "roster"), phone)
            pipe.lrem(_key("staff", "on-call"), 0, phone)
            removed, _ = pipe.execute()
        return bool(removed)

    def set_on_call(self, phones: list[str]) -> None:
        """Replace the on-call order (every phone must be on the roster)."""
        with self.redis.pipeline() as pipe:
            pipe.multi()
            pipe.delete(_key("staff", "on-call"))
            if phones:
                pipe.rpush(_key("staff", "on-call"), *phones)
            pipe.execute()

    def staff(self) -> list[StaffMember]:
        """Everyone on the roster: the on-call staff first, in alert order, then the rest by name."""
        roster = {k.decode(): v for k, v in self.redis.hgetall(_key("staff", "roster")).items()}
        order = [p.decode() for p in self.redis.lrange(_key("staff", "on-call"), 0, -1)]
        on_call = [StaffMember.from_json(roster[p], on_call=True) for p in order if p in roster]
        others = [StaffMember.from_json(raw, on_call=False) for p, raw in roster.items() if p not in order]
        return on_call + sorted(others, key=lambda m: m.name.casefold())

    def staff_on_call(self) -> list[StaffMember]:
        return [m for m in self.staff() if m.on_call]

    def staff_member(self, phone: str) -> StaffMember | None:
        raw = self.redis.hget(_key("staff", "roster"), phone)
        if raw is None:
            return None
        return StaffMember.from_json(raw, on_call=bool(self.redis.lpos(_key("staff", "on-call"), phone) is not None))

    def note_alert_job(self, request_id: int, job_id: str, pipeline: Pipeline | None = None) -> None:
        """Record which job sends the current alert (inside the caller's transaction when given)."""
        (pipeline if pipeline is not None else self.redis).hset(_callback_key(request_id), "alert_job", job_id)

    def mark_staff_unreachable(self, request_id: int, phone: str) -> None:
        key = _callback_key(request_id) + ":unreachable"
        with self.redis.pipeline() as pipe:
            pipe.sadd(key, phone)
            pipe.expire(key, CLOSED_CALLBACK_TTL)
            pipe.execute()

    def unreachable_staff(self, request_id: int) -> set[str]:
        return {p.decode() for p in self.redis.smembers(_callback_key(request_id) + ":unreachable")}

    # -- staff commands ------------------------------------------------------------------------

    def run_once(self, delivery_id: str, run: Callable[[], str]) -> tuple[str, bool]:
        """Run a staff command once per delivery: (reply, replayed). A failed run can be retried."""
        key = _key("staff-delivery", delivery_id)
        if not self.redis.set(key, "", nx=True, ex=DELIVERY_TTL):
            return (self.redis.get(key) or b"").decode(), True
        try:
            reply = run()
        except BaseException:
            self.redis.delete(key)
            raise
        self.redis.set(key, reply, ex=DELIVERY_TTL)
        return reply, False

    # -- health --------------------------------------------------------------------------------

    def ping(self) -> bool:
        return bool(self.redis.ping())


def call_key(call_sid: str) -> str:
    """The key of one phone call's conversation state (pass it to apply_turn as conversation_key)."""
    return _key("call", call_sid)


def _key(kind: str, name: str) -> str:
    return f"{PREFIX}:{kind}:{name}"


def _callback_key(request_id: int) -> str:
    return _key("callback", str(request_id))


def _by_contact(contact: str) -> str:
    return _key("callbacks", f"by-contact:{contact}")


def _queue_score(request: CallbackRequest) -> float:
    """Urgent before normal, then oldest first."""
    band = 0 if request.priority is Priority.URGENT else 1
    return band * 1e11 + request.created_at.timestamp()


_TIMES = {"created_at", "alerted_at", "alert_due_at"}
_BOOLS = {"confirmed", "undeliverable"}
_INTS = {"id", "attempts", "alert_level", "alert_failures"}


def _callback_to_hash(request: CallbackRequest) -> dict[str, str]:
    data: dict[str, str] = {"v": "1"}
    for f in fields(request):
        value = getattr(request, f.name)
        if f.name == "new_history":
            continue
        if f.name in _TIMES:
            data[f.name] = value.isoformat() if value else ""
        elif f.name == "voicemail_ok":
            data[f.name] = "" if value is None else ("yes" if value else "no")
        elif f.name in _BOOLS:
            data[f.name] = "1" if value else "0"
        else:
            data[f.name] = str(value)
    return data


def _callback_from_hash(raw: dict[bytes, bytes]) -> CallbackRequest:
    data = {k.decode(): v.decode() for k, v in raw.items()}
    values: dict[str, Any] = {}
    for f in fields(CallbackRequest):
        if f.name not in data:
            continue
        text = data[f.name]
        if f.name in _TIMES:
            values[f.name] = datetime.fromisoformat(text) if text else None
        elif f.name == "voicemail_ok":
            values[f.name] = None if not text else text == "yes"
        elif f.name in _BOOLS:
            values[f.name] = text == "1"
        elif f.name in _INTS:
            values[f.name] = int(text)
        elif f.name == "priority":
            values[f.name] = Priority(text)
        elif f.name == "status":
            values[f.name] = CallbackStatus(text)
        else:
            values[f.name] = text
    return CallbackRequest(**values)


def _history_to_json(entry: HistoryEntry) -> str:
    return json.dumps({"at": entry.at.isoformat(), "who": entry.who, "what": entry.what, "note": entry.note})


def _history_from_json(raw: bytes) -> HistoryEntry:
    data = json.loads(raw)
    return HistoryEntry(datetime.fromisoformat(data["at"]), data["who"], data["what"], data.get("note", ""))


def history_lines(entries: Iterable[HistoryEntry]) -> list[str]:
    return [f"{e.at:%Y-%m-%d %H:%M} {e.who}: {e.what} {e.note}".rstrip() for e in entries]
