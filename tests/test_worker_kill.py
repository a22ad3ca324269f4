"""Nothing lost: a real forked worker killed in the middle of an alert job, and the alert still goes out.

The Recorder holds the worker's first request to Twilio open; the test SIGKILLs the worker's whole
process group (worker, work horse and scheduler, as a crashed machine would lose them), starts
another worker, and polls with a deadline until the alert is delivered. Intervals are shortened
through the WORKER_* and ALERT_SWEEP_AFTER settings so the test takes seconds, not minutes.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from helpline import jobs
from helpline.callbacks import new_request
from helpline.config import Settings
from helpline.core.actions import Priority, RequestCallback
from helpline.deps import Deps
from helpline.redact import contact_id
from helpline.staff.roster import StaffMember
from tests.conftest import AUTH_TOKEN, CALLER, HELPLINE_NUMBER, ROOT
from tests.twilio_fakes import Recorder

STAFF = "+15035550101"
DEADLINE_S = 120.0  # the promise: the alert still goes out within 2 minutes


def worker_env(settings: Settings, recorder: Recorder) -> dict[str, str]:
    return {
        **os.environ,
        "HELPLINE_ENV": "production",
        "REDIS_URL": settings.redis_url,
        "TWILIO_ACCOUNT_SID": settings.twilio_account_sid,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_PHONE_NUMBER": HELPLINE_NUMBER,
        "TWILIO_API_BASE_URL": recorder.base_url,
        "SECRET_KEY": settings.secret_key,
        "HELPLINE_CALL_NUMBER": "1-555-010-0100",
        "WORKER_TTL": "16s",
        "WORKER_JOB_MONITORING_INTERVAL": "1s",
        "WORKER_MAINTENANCE_INTERVAL": "1s",
        "ALERT_SWEEP_AFTER": "3s",
    }


@pytest.fixture
def start_worker(settings: Settings, sent: Recorder, tmp_path: Path) -> Iterator[object]:
    started: list[subprocess.Popen[bytes]] = []
    logs = []

    def start(name: str) -> subprocess.Popen[bytes]:
        log = (tmp_path / f"{name}.log").open("wb")
        logs.append(log)
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "worker.py")],
            cwd=ROOT,
            env=worker_env(settings, sent),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group
        )
        started.append(process)
        return process

    yield start
    for process in started:
        for pid in descendants(process.pid):  # a work horse is not in its worker's process group
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
    for log in logs:
        log.close()


def descendants(pid: int) -> list[int]:
    """Child processes, recursively (RQ's work horse moves to its own process group)."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # the process ended meanwhile
        parents[int(stat.parent.name)] = int(fields[1])
    children = [child for child, parent in parents.items() if parent == pid]
    return children + [d for child in children for d in descendants(child)]


def kill_everything(process: subprocess.Popen[bytes]) -> None:
    """SIGKILL a worker, its work horse and its scheduler at once, as a crashed machine would."""
    for pid in [*descendants(process.pid), process.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    process.wait()


def wait_for(condition: object, deadline: float, what: str) -> None:
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)  # polling interval, not a fixed wait


def test_an_alert_survives_its_worker_being_killed_mid_job(
    deps: Deps, sent: Recorder, start_worker: object, tmp_path: Path
) -> None:
    deps.store.add_staff(StaffMember("Ann", STAFF, on_call=True))
    now = datetime.now(UTC)  # the worker runs on the wall clock
    action = RequestCallback(priority=Priority.URGENT, topic="crisis", preferred_time="asap")
    request = new_request(
        deps.store.next_callback_id(), CALLER, contact_id(CALLER, deps.settings.secret), "sms", action, now
    )
    release = sent.hang_next()  # the first text to Twilio never gets its answer
    deps.store.save_callback(request, on_commit=lambda pipe: jobs.enqueue_alert(deps.redis, request, pipe))

    first = start_worker("first")  # type: ignore[operator]
    wait_for(lambda: len(sent.requests) >= 1, time.monotonic() + 30, "the first worker to call Twilio")
    horses = descendants(first.pid)
    assert horses, "the forked worker runs each job in a child process"
    kill_everything(first)
    killed_at = time.monotonic()
    release.set()
    assert sent.requests[0].params["To"] == STAFF  # it was mid-alert when it died

    start_worker("second")  # type: ignore[operator]
    wait_for(lambda: len(sent.requests) >= 2, killed_at + DEADLINE_S, "the alert after the kill")
    elapsed = time.monotonic() - killed_at
    delivered = sent.requests[1]
    assert delivered.params["To"] == STAFF and delivered.status == 201
    assert delivered.params["Body"].startswith(f"URGENT Callback {request.ref}")
    assert elapsed < DEADLINE_S
    stored = deps.store.get_callback(request.id)
    wait_for(
        lambda: (deps.store.get_callback(request.id) or stored).alerted_at is not None,
        killed_at + DEADLINE_S,
        "the delivery to be recorded",
    )
    assert "alert queued again" in [e.what for e in deps.store.callback_history(request.id)]
