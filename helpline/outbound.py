"""Outbound SMS: the only module that talks to Twilio's REST API (or, in development, the outbox).

    SendError                 the text was not sent; `status` and `code` say why when Twilio answered
    ├── PermanentSendError    Twilio refused it (4xx other than 429): a retry cannot help
    │   └── OptedOut          error 21610: the recipient texted STOP to our number
    └── TransientSendError    network failure, timeout, 429 or 5xx: let RQ retry

Error messages give the HTTP status and Twilio's error code, never Twilio's own message text,
which can quote the recipient's number. Nothing here logs a full number or a message body at INFO.
"""

from __future__ import annotations

import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

import requests
from redis import Redis
from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from helpline.errors import HelplineError
from helpline.redact import mask_number

OUTBOX_KEY = "helpline:outbox"
OUTBOX_LIMIT = 500
OPTED_OUT = 21610
ERROR_DOCS = "https://www.twilio.com/docs/errors/"

logger = logging.getLogger(__name__)


class SendError(HelplineError):
    """A text was not sent. `status` and `code` are None when Twilio was never reached."""

    def __init__(self, message: str, *, status: int | None = None, code: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class PermanentSendError(SendError):
    """Twilio refused the text (invalid number, opted out, bad credentials...): do not retry."""


class TransientSendError(SendError):
    """Twilio could not be reached or asked us to come back later: retrying may succeed."""


class OptedOut(PermanentSendError):
    """The recipient has opted out of texts from our number (Twilio error 21610)."""


@dataclass(frozen=True)
class Sent:
    sid: str


class Messenger(Protocol):
    def send_text(self, to: str, body: str) -> Sent: ...


class TwilioMessenger:
    """Sends texts through Twilio's Messages API."""

    def __init__(self, client: Client, from_number: str, status_callback: str | None = None) -> None:
        self.client = client
        self.from_number = from_number
        self.status_callback = status_callback

    def send_text(self, to: str, body: str) -> Sent:
        """Send one text; raise a SendError subclass that says whether a retry can help."""
        params = {"to": to, "from_": self.from_number, "body": body}
        if self.status_callback:
            params["status_callback"] = self.status_callback
        try:
            message = self.client.messages.create(**params)
        except (TwilioRestException, TwilioServiceException) as exc:
            raise refusal(exc.status, exc.code) from None  # the chained message could quote `to`
        except requests.RequestException as exc:
            raise TransientSendError(f"Twilio API not reached: {type(exc).__name__}") from exc
        logger.info("sent text to %s sid=%s", mask_number(to), message.sid)
        return Sent(sid=str(message.sid))


def refusal(status: int, code: int | None) -> SendError:
    """The SendError for an error answer from Twilio."""
    if code == status:  # the SDK puts the HTTP status here when the answer carries no Twilio code
        code = None
    message = f"Twilio refused the text: HTTP {status}"
    if code is not None:
        message += f", error {code} ({ERROR_DOCS}{code})"
    if code == OPTED_OUT:
        return OptedOut(message, status=status, code=code)
    if status == 429 or status >= 500:
        return TransientSendError(message, status=status, code=code)
    return PermanentSendError(message, status=status, code=code)


class OutboxMessenger:
    """Development stand-in for Twilio: each text is appended, as JSON, to a Redis list."""

    def __init__(self, redis: Redis, key: str = OUTBOX_KEY) -> None:
        self.redis = redis
        self.key = key

    def send_text(self, to: str, body: str) -> Sent:
        sid = "SMdev" + secrets.token_hex(16)
        record = {"to": to, "body": body, "at": datetime.now(UTC).isoformat(timespec="seconds"), "sid": sid}
        with self.redis.pipeline() as pipe:
            pipe.rpush(self.key, json.dumps(record))
            pipe.ltrim(self.key, -OUTBOX_LIMIT, -1)
            pipe.execute()
        logger.info("outbox: text to %s, %d characters, sid=%s", mask_number(to), len(body), sid)
        logger.debug("outbox: body of %s: %s", sid, body)
        return Sent(sid=sid)


def twilio_client(account_sid: str, auth_token: str, api_base_url: str | None, *, timeout: float = 10.0) -> Client:
    """A Twilio REST client; `api_base_url` (a local mock, say) replaces https://api.twilio.com.

    The timeout matters: the SDK's default is none, and a stalled connection would hold an RQ worker
    until the job times out. A read timeout can hide a text that Twilio did send, so the retry may
    deliver it twice; for alerts to staff that beats not delivering it.
    """
    client = Client(account_sid, auth_token, http_client=TwilioHttpClient(timeout=timeout))
    if api_base_url:
        client.api.base_url = api_base_url  # messages live under the `api` domain, read on every request
    return client


def read_outbox(redis: Redis, count: int = 50, key: str = OUTBOX_KEY) -> list[dict[str, str]]:
    """The last `count` texts in the development outbox, oldest first."""
    return [json.loads(raw) for raw in redis.lrange(key, -count, -1)]
