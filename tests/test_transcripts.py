"""Conversation scripts (tests/transcripts/*.yaml), run twice: through the pure engine, and through
signed webhooks, a real Redis and the real transaction code. When both pass, the layers agree.

Each step sends one text; `expect` lists one substring per reply message, in order; `callbacks`
lists the open callback requests expected afterwards (only the fields given are compared).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from helpline.core import engine
from helpline.core.actions import RequestCallback, SendText
from helpline.core.events import TextReceived
from helpline.core.flows import Flows
from helpline.core.state import Conversation
from helpline.deps import Deps
from tests.conftest import OPEN_TIME

SCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.yaml"))


def load(path: Path) -> list[dict[str, Any]]:
    return list(yaml.safe_load(path.read_text())["steps"])


def check_replies(step: dict[str, Any], texts: list[str]) -> None:
    expected = step.get("expect", [])
    if not expected:
        assert texts, f"{step['send']!r} got no reply"
        return
    assert len(texts) == len(expected), f"{step['send']!r} -> {texts}"
    for substring, text in zip(expected, texts, strict=True):
        assert substring in text, f"{step['send']!r}: {substring!r} not in {text!r}"


def check_callbacks(step: dict[str, Any], requests: list[dict[str, Any]]) -> None:
    if "callbacks" not in step:
        return
    assert len(requests) == len(step["callbacks"])
    for expected, actual in zip(step["callbacks"], requests, strict=True):
        assert {k: actual[k] for k in expected} == expected


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_transcript_through_the_engine(script: Path, deps: Deps) -> None:
    flows: Flows = deps.flows
    conversation: Conversation | None = None
    requested: dict[str, Any] | None = None
    for minute, step in enumerate(load(script)):
        now = OPEN_TIME + timedelta(minutes=minute)
        turn = engine.advance(flows["sms"], conversation, TextReceived(step["send"]), now=now)
        conversation = turn.conversation
        texts = [a.text.replace("{ref}", "#1001") for a in turn.actions if isinstance(a, SendText)]
        check_replies(step, texts)
        for action in turn.actions:
            if isinstance(action, RequestCallback):  # later requests update the one open request
                merged = {
                    "priority": action.priority.value,
                    "topic": action.topic,
                    "preferred_time": action.preferred_time,
                    "voicemail_ok": action.voicemail_ok,
                }
                requested = (
                    merged
                    if requested is None
                    else {
                        **requested,
                        **{k: v for k, v in merged.items() if v not in (None, "", "any")},
                        "priority": "urgent" if "urgent" in (requested["priority"], merged["priority"]) else "normal",
                    }
                )
        check_callbacks(step, [requested] if requested else [])


@pytest.mark.parametrize("script", SCRIPTS, ids=lambda p: p.stem)
def test_transcript_through_the_webhooks(script: Path, sms: Callable[..., list[str]], deps: Deps) -> None:
    for step in load(script):
        check_replies(step, sms(step["send"]))
        open_requests = [
            {
                "priority": r.priority.value,
                "topic": r.topic,
                "preferred_time": r.preferred_time,
                "voicemail_ok": r.voicemail_ok,
            }
            for r in deps.store.open_callbacks()
        ]
        check_callbacks(step, open_requests)
