"""`helpline chat`: talk to the bot from a terminal, with webhooks signed exactly as Twilio signs them.

It posts to a running bot (`--url`, default the local `make run`) or, with `--in-process`, to an
app built here. Replies are parsed from the TwiML; texts the bot starts itself (development outbox)
are shown too.
"""

from __future__ import annotations

import json
import sys
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterable
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from twilio.request_validator import RequestValidator

from helpline.config import Settings

Post = Callable[[str, dict[str, str]], str]


def sms_form(sender: str, to: str, body: str, account_sid: str) -> dict[str, str]:
    """The parameters Twilio sends for an inbound SMS (the ones we use, plus the usual extras)."""
    return {
        "MessageSid": "SM" + uuid.uuid4().hex,
        "SmsSid": "",
        "AccountSid": account_sid,
        "From": sender,
        "To": to,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }


def signature(settings: Settings, url: str, form: dict[str, str]) -> str:
    return RequestValidator(settings.twilio_auth_token).compute_signature(url, form)


def http_poster(settings: Settings, base_url: str) -> Post:
    def post(path: str, form: dict[str, str]) -> str:
        url = f"{base_url.rstrip('/')}{path}"
        signed = f"{settings.public_base_url}{path}" if settings.public_base_url else url
        request = Request(url, data=urlencode(form).encode(), method="POST")
        request.add_header("X-Twilio-Signature", signature(settings, signed, form))
        request.add_header("Content-Type", "application/x-www-form-urlencoded")
        with urlopen(request, timeout=15) as response:  # noqa: S310 - a URL the operator gave us
            return str(response.read().decode())

    return post


def in_process_poster(settings: Settings) -> Post:
    from helpline import create_app

    client = create_app(settings).test_client()
    base = settings.public_base_url or "http://localhost"

    def post(path: str, form: dict[str, str]) -> str:
        response = client.post(
            path, data=form, headers={"X-Twilio-Signature": signature(settings, base + path, form)}, base_url=base
        )
        return response.get_data(as_text=True)

    return post


def replies(twiml: str) -> list[str]:
    """The texts of the <Message> elements in a TwiML reply."""
    try:
        root = ET.fromstring(twiml)
    except ET.ParseError:
        return [f"(not TwiML: {twiml[:200]!r})"]
    return [(message.findtext("Body") or message.text or "").strip() for message in root.iter("Message")]


def chat(
    post: Post,
    settings: Settings,
    sender: str,
    lines: Iterable[str],
    out: Callable[[str], None],
    outbox: Callable[[], list[dict[str, str]]] | None = None,
) -> None:
    """Send each line as an SMS from `sender` and print the replies (and any new outbox texts)."""
    for line in lines:
        twiml = post("/sms", sms_form(sender, settings.twilio_phone_number, line, settings.twilio_account_sid))
        for text in replies(twiml) or ["(no reply)"]:
            out(f"bot> {text}")
        for message in outbox() if outbox else []:
            out(f"outbox to {message.get('to', '?')}> {message.get('body', '')}")


def prompt_lines(prompt: str = "you> ") -> Iterable[str]:
    while True:
        try:
            yield input(prompt)
        except (EOFError, KeyboardInterrupt):
            print()
            return


def outbox_reader(settings: Settings) -> Callable[[], list[dict[str, str]]]:
    """Development-outbox entries not shown yet (none when Redis cannot be reached)."""
    from redis import Redis
    from redis.exceptions import RedisError

    from helpline.outbound import OUTBOX_KEY

    redis = Redis.from_url(settings.redis_url, socket_connect_timeout=2)

    def latest() -> list[dict[str, str]]:
        try:
            return [json.loads(item) for item in redis.lrange(OUTBOX_KEY, -50, -1)]
        except RedisError:
            return []

    seen = {entry.get("sid") for entry in latest()}

    def read() -> list[dict[str, str]]:
        fresh = [entry for entry in latest() if entry.get("sid") not in seen]
        seen.update(entry.get("sid") for entry in fresh)
        return fresh

    return read


def write(text: str) -> None:
    sys.stdout.write(text + "\n")
    sys.stdout.flush()
