"""Operators' commands: `helpline staff ...`, `helpline callbacks list`, `helpline outbox`.

Every phone number is normalised to E.164; bad input prints a clear error and exits with 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from dataclasses import fields
from datetime import datetime
from typing import Any, TextIO

from redis import Redis

from helpline.callbacks import CallbackRequest
from helpline.config import Settings
from helpline.errors import ConfigError
from helpline.outbound import read_outbox
from helpline.phones import e164
from helpline.staff.roster import StaffMember
from helpline.storage import RedisStore, history_lines

USAGE_ERROR = 2


class UsageError(Exception):
    """Bad input from the operator: printed, exit status 2."""


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    staff = commands.add_parser("staff", help="the staff roster and the on-call order")
    staff_commands = staff.add_subparsers(dest="staff_command", required=True)
    add = staff_commands.add_parser("add", help="add (or rename) a staff member")
    add.add_argument("--name", required=True)
    add.add_argument("--phone", required=True, help="E.164, e.g. +15415550123")
    add.add_argument("--on-call", action="store_true", help="also put them last in the on-call order")
    remove = staff_commands.add_parser("remove", help="remove a staff member")
    remove.add_argument("phone", nargs="?")
    remove.add_argument("--phone", dest="phone_option")
    staff_commands.add_parser("list", help="everyone on the roster, on-call staff first")
    on_call = staff_commands.add_parser("on-call", help="print the on-call order, or set it (first is alerted first)")
    on_call.add_argument("phones", nargs="*")

    callbacks = commands.add_parser("callbacks", help="callback requests")
    callback_commands = callbacks.add_subparsers(dest="callbacks_command", required=True)
    listing = callback_commands.add_parser("list", help="open requests, urgent first, then oldest")
    listing.add_argument("--json", action="store_true", help="one JSON array, with each request's history")
    listing.add_argument("--all", action="store_true", help="closed requests too")

    outbox = commands.add_parser("outbox", help="texts the bot sent in development mode (no Twilio credentials)")
    outbox.add_argument("--count", type=int, default=50)


def run(args: argparse.Namespace, out: TextIO | None = None, err: TextIO | None = None) -> int:
    """Run an operator command and return the exit status."""
    out, err = out or sys.stdout, err or sys.stderr
    try:
        settings = Settings.from_env()
    except ConfigError as error:
        err.write(f"{error}\n")
        return USAGE_ERROR
    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=5, socket_timeout=10)
    store = RedisStore(redis)
    handlers: dict[str, Callable[[argparse.Namespace, RedisStore, Redis, TextIO], None]] = {
        "staff": _staff,
        "callbacks": _callbacks,
        "outbox": _outbox,
    }
    try:
        handlers[args.command](args, store, redis, out)
    except UsageError as error:
        err.write(f"helpline {args.command}: {error}\n")
        return USAGE_ERROR
    finally:
        redis.close()
    return 0


def phone_number(raw: str) -> str:
    number = e164(raw)
    if number is None:
        raise UsageError(f"{raw!r} is not a phone number; use E.164, e.g. +15415550123")
    return number


def _staff(args: argparse.Namespace, store: RedisStore, redis: Redis, out: TextIO) -> None:
    match args.staff_command:
        case "add":
            name = " ".join(args.name.split())
            if not name:
                raise UsageError("--name must not be empty")
            member = StaffMember(name=name, phone=phone_number(args.phone), on_call=args.on_call)
            store.add_staff(member)
            out.write(f"added {member.name} {member.phone}{' (on call)' if member.on_call else ''}\n")
        case "remove":
            raw = args.phone or args.phone_option
            if not raw:
                raise UsageError("which phone? e.g. helpline staff remove +15415550123")
            phone = phone_number(raw)
            if not store.remove_staff(phone):
                raise UsageError(f"{phone} is not on the roster")
            out.write(f"removed {phone}\n")
        case "list":
            members = store.staff()
            for member in members:
                out.write(f"{member.phone}  {member.name}{'  (on call)' if member.on_call else ''}\n")
            if not members:
                out.write("the roster is empty: helpline staff add --name NAME --phone +1... --on-call\n")
        case "on-call":
            if args.phones:
                _set_on_call(store, args.phones)
            on_call = store.staff_on_call()
            for position, member in enumerate(on_call, 1):
                out.write(f"{position}. {member.phone}  {member.name}\n")
            if not on_call:
                out.write("nobody is on call: alerts go to the rest of the roster\n")


def _set_on_call(store: RedisStore, raw_phones: list[str]) -> None:
    phones = [phone_number(raw) for raw in raw_phones]
    unknown = [p for p in phones if store.staff_member(p) is None]
    if unknown:
        raise UsageError(f"not on the roster: {', '.join(unknown)} (add them with helpline staff add)")
    if len(set(phones)) != len(phones):
        raise UsageError("a phone appears twice in the on-call order")
    store.set_on_call(phones)


def _callbacks(args: argparse.Namespace, store: RedisStore, redis: Redis, out: TextIO) -> None:
    requests = store.all_callbacks() if args.all else store.open_callbacks()
    if args.json:
        records = [request_record(r, history_lines(store.callback_history(r.id))) for r in requests]
        out.write(json.dumps(records, indent=2) + "\n")
        return
    for request in requests:
        out.write(request_line(request) + "\n")
    if not requests:
        out.write("no open callback requests\n" if not args.all else "no callback requests\n")


def request_record(request: CallbackRequest, history: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = {"ref": request.ref}
    for f in fields(request):
        if f.name == "new_history":
            continue
        value = getattr(request, f.name)
        record[f.name] = value.isoformat() if isinstance(value, datetime) else value
    record["history"] = history
    return record


def request_line(request: CallbackRequest) -> str:
    voicemail = {True: "yes", False: "no", None: "-"}[request.voicemail_ok]
    parts = [
        request.ref,
        request.priority.value,
        request.status.value,
        f"{request.created_at:%Y-%m-%d %H:%M}",
        request.number,
        request.channel,
        request.topic or "-",
        request.preferred_time,
        f"voicemail:{voicemail}",
        f"attempts:{request.attempts}",
    ]
    if request.claimed_by:
        parts.append(f"claimed by {request.claimed_by}")
    if request.undeliverable:
        parts.append("ALERT UNDELIVERABLE")
    elif request.status.value == "pending" and request.alerted_at is None:
        parts.append("alert not sent yet")
    return "  ".join(parts)


def _outbox(args: argparse.Namespace, store: RedisStore, redis: Redis, out: TextIO) -> None:
    if args.count < 1:
        raise UsageError("--count must be at least 1")
    messages = read_outbox(redis, args.count)
    for message in messages:
        out.write(f"{message.get('at', '?')}  to {message.get('to', '?')}\n  {message.get('body', '')}\n")
    if not messages:
        out.write("the outbox is empty (texts land here when no Twilio credentials are configured)\n")
