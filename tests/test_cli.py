"""`helpline staff ...`, `helpline callbacks list` and `helpline outbox` against a real Redis."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from redis import Redis

from helpline import cli
from helpline.callbacks import closed
from helpline.deps import Deps
from helpline.outbound import OutboxMessenger
from tests.conftest import CALLER

Run = Callable[..., tuple[int, str, str]]
Sms = Callable[..., list[str]]


@pytest.fixture
def run(
    redis: Redis, redis_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Run:
    monkeypatch.setenv("HELPLINE_ENV", "development")
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("HELPLINE_VAR_DIR", str(tmp_path))

    def invoke(*argv: str) -> tuple[int, str, str]:
        try:
            status = cli.main(list(argv))
        except SystemExit as exit_:  # argparse refusing the arguments
            status = int(exit_.code or 0)
        out, err = capsys.readouterr()
        return status, out, err

    return invoke


def test_staff_add_list_on_call_and_remove(run: Run) -> None:
    assert run("staff", "add", "--name", "Ann Lee", "--phone", "+1 (503) 555-0101", "--on-call")[0] == 0
    assert run("staff", "add", "--name", "Ben", "--phone", "503-555-0102", "--on-call")[0] == 0
    assert run("staff", "add", "--name", "Cat", "--phone", "+15035550103")[0] == 0
    status, out, _ = run("staff", "list")
    assert status == 0
    assert out.splitlines() == [
        "+15035550101  Ann Lee  (on call)",
        "+15035550102  Ben  (on call)",
        "+15035550103  Cat",
    ]
    status, out, _ = run("staff", "on-call", "+15035550103", "+15035550101")
    assert status == 0 and out.splitlines() == ["1. +15035550103  Cat", "2. +15035550101  Ann Lee"]
    assert run("staff", "on-call")[1].splitlines()[0] == "1. +15035550103  Cat"
    assert run("staff", "remove", "+15035550103")[0] == 0
    assert run("staff", "on-call")[1].splitlines() == ["1. +15035550101  Ann Lee"]


@pytest.mark.parametrize(
    "argv",
    [
        pytest.param(("staff", "add", "--name", "Ann", "--phone", "not a number"), id="bad-phone"),
        pytest.param(("staff", "add", "--name", "Ann"), id="missing-phone"),
        pytest.param(("staff", "add", "--name", "  ", "--phone", "+15035550101"), id="empty-name"),
        pytest.param(("staff", "remove", "+15035550199"), id="remove-unknown"),
        pytest.param(("staff", "remove"), id="remove-nothing"),
        pytest.param(("staff", "on-call", "+15035550199"), id="on-call-not-on-roster"),
        pytest.param(("callbacks", "list", "--bogus"), id="unknown-option"),
    ],
)
def test_bad_input_gets_a_clear_error_and_status_2(run: Run, argv: tuple[str, ...]) -> None:
    status, out, err = run(*argv)
    assert status == 2 and err.strip() and out == ""


def test_callbacks_list_prints_open_requests_and_json_for_scripts(run: Run, sms: Sms, deps: Deps) -> None:
    for body in ("hi", "4", "1", "yes"):
        sms(body)
    sms("he overdosed", sender="+12125550177")
    status, out, _ = run("callbacks", "list")
    lines = out.splitlines()
    assert status == 0 and len(lines) == 2
    assert lines[0].startswith("#") and "urgent" in lines[0] and "+12125550177" in lines[0]
    assert CALLER in lines[1] and "morning" in lines[1] and "voicemail:yes" in lines[1]
    [urgent, normal] = deps.store.open_callbacks()
    deps.store.update_callback(normal.id, lambda r: closed(r, "Ann", deps.clock()))
    status, out, _ = run("callbacks", "list", "--json")
    assert status == 0 and [r["ref"] for r in json.loads(out)] == [urgent.ref]
    status, out, _ = run("callbacks", "list", "--json", "--all")
    records = {r["ref"]: r for r in json.loads(out)}
    assert records[normal.ref]["status"] == "done" and records[normal.ref]["number"] == CALLER
    assert any("Ann: done" in line for line in records[normal.ref]["history"])


def test_outbox_prints_what_development_mode_sent(run: Run, redis: Redis) -> None:
    assert "empty" in run("outbox")[1]
    OutboxMessenger(redis).send_text("+15035550101", "Callback #1001. Reply CLAIM #1001")
    status, out, _ = run("outbox")
    assert status == 0 and "to +15035550101" in out and "Reply CLAIM #1001" in out
