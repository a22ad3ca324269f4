"""The pure engine, state by state, on the real SMS flow. No Redis, no Flask, no clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from helpline.core import engine
from helpline.core.actions import Priority, RequestCallback, SendText
from helpline.core.events import KeysPressed, TextReceived
from helpline.core.flows import Flow
from helpline.core.state import Conversation
from tests.core import support
from tests.core.support import NOW, real_flows


@pytest.fixture(scope="module")
def flow() -> Flow:
    return real_flows()["sms"]


def at(flow: Flow, node: str, **changes: object) -> Conversation:
    return support.at(flow.id, node, **changes)


def texts(turn: engine.Turn) -> list[str]:
    return [a.text for a in turn.actions if isinstance(a, SendText)]


def send(flow: Flow, conversation: Conversation | None, text: str) -> engine.Turn:
    return engine.advance(flow, conversation, TextReceived(text), now=NOW, idle_after=timedelta(days=7))


def test_a_new_conversation_gets_the_welcome_and_waits_at_the_menu(flow: Flow) -> None:
    turn = send(flow, None, "hello there")
    assert texts(turn) == [flow.text(("welcome",), "en"), flow.text(("menu",), "en")]
    assert turn.conversation.node == "menu" and turn.conversation.step == 1


@pytest.mark.parametrize(
    ("node", "text", "target"),
    [
        pytest.param("menu", "1", "signs", id="menu-1"),
        pytest.param("menu", "2", "failed", id="menu-2"),
        pytest.param("menu", "3", "planning", id="menu-3"),
        pytest.param("menu", "4", "callback_time", id="menu-4"),
        pytest.param("menu", "5", "talk_now", id="menu-5"),
        pytest.param("signs", "More.", "signs_behaviour", id="more-with-punctuation"),
        pytest.param("signs_found", "MORE", "signs_withdrawal", id="more-upper"),
        pytest.param("callback_time", "2", "callback_voicemail", id="callback-time"),
        pytest.param("signs_found", " menu ", "menu", id="global-menu"),
        pytest.param("callback_time", "CALL", "person", id="global-call"),
        pytest.param("planning", "Agent!", "person", id="global-agent"),
        pytest.param("failed", "info", "help", id="global-info"),
        pytest.param("menu", "i blame myself for all of this", "not_your_fault", id="free-text-blame"),
        pytest.param("callback_voicemail", "what are the signs?", "signs", id="free-text-topic-from-anywhere"),
        pytest.param("menu", "can someone call me back", "callback_time", id="free-text-call-me"),
    ],
)
def test_replies_lead_where_the_flow_says(flow: Flow, node: str, text: str, target: str) -> None:
    assert send(flow, at(flow, node), text).conversation.node == target


def test_text_the_flow_does_not_understand_gets_sorry_and_the_options_again(flow: Flow) -> None:
    turn = send(flow, at(flow, "menu"), "purple monkey dishwasher")
    assert texts(turn) == [flow.text(("not_understood",), "en"), flow.text(("menu",), "en")]
    assert (turn.conversation.node, turn.conversation.misses) == ("menu", 1)


def test_a_topic_page_reprompts_with_its_short_options_not_the_whole_page(flow: Flow) -> None:
    turn = send(flow, at(flow, "signs"), "??")
    assert texts(turn) == [flow.text(("not_understood",), "en"), flow.text(("reply_more_short",), "en")]


def test_back_returns_to_the_previous_waiting_node(flow: Flow) -> None:
    conversation = send(flow, send(flow, at(flow, "menu"), "1").conversation, "more").conversation
    assert conversation.history[-2:] == ("menu", "signs")
    back = send(flow, conversation, "back")
    assert back.conversation.node == "signs" and texts(back) == [flow.text(("signs_physical", "reply_more"), "en")]
    assert send(flow, back.conversation, "back").conversation.node == "menu"


def test_back_with_no_history_goes_to_the_start(flow: Flow) -> None:
    assert send(flow, at(flow, "signs"), "back").conversation.node == "menu"


def test_a_conversation_idle_past_the_limit_is_welcomed_back_and_can_resume(flow: Flow) -> None:
    idle = at(flow, "planning_plan", updated_at=NOW - timedelta(days=8))
    turn = send(flow, idle, "hi")
    assert texts(turn) == [flow.text(("welcome_back",), "en")]
    assert send(flow, turn.conversation, "1").conversation.node == "planning_plan"
    assert send(flow, turn.conversation, "2").conversation.node == "menu"


def test_a_zip_code_is_captured_into_the_reply(flow: Flow) -> None:
    turn = send(flow, at(flow, "menu"), " 60614-1234 ")
    assert turn.conversation.node == "find_treatment" and "60614-1234" in texts(turn)[0]


def test_booking_a_callback_requests_it_with_the_answers_given(flow: Flow) -> None:
    conversation = at(flow, "callback_voicemail", answers={"topic": "signs", "preferred_time": "evening"})
    turn = send(flow, conversation, "Yes")
    [request] = [a for a in turn.actions if isinstance(a, RequestCallback)]
    assert request == RequestCallback(
        priority=Priority.NORMAL, topic="signs", preferred_time="evening", voicemail_ok=True, language="en"
    )
    assert "{ref}" in texts(turn)[0]  # filled by the glue once the request has an id


def test_a_crisis_overrides_any_state_flags_and_requests_an_urgent_callback(flow: Flow) -> None:
    turn = send(flow, at(flow, "callback_time"), "HE IS NOT BREATHING")
    assert turn.crisis and turn.conversation.flagged
    assert texts(turn)[0].startswith("Call 911 now")
    [request] = [a for a in turn.actions if isinstance(a, RequestCallback)]
    assert request.priority is Priority.URGENT and request.topic == "crisis"
    assert turn.conversation.node == "callback_time"  # they can carry on where they were


def test_a_flagged_conversation_books_later_callbacks_as_urgent(flow: Flow) -> None:
    turn = send(flow, at(flow, "callback_voicemail", flagged=True), "no")
    [request] = [a for a in turn.actions if isinstance(a, RequestCallback)]
    assert request.priority is Priority.URGENT


def test_keypad_digits_never_trigger_the_safety_gate(flow: Flow) -> None:
    turn = engine.advance(flow, at(flow, "menu"), KeysPressed("911"), now=NOW)
    assert not turn.crisis


def test_a_conversation_from_another_flow_or_a_removed_node_starts_afresh(flow: Flow) -> None:
    for stale in (replace(at(flow, "menu"), flow="voice"), at(flow, "no_longer_there")):
        assert send(flow, stale, "hi").conversation.node == "menu"


def test_every_step_is_counted_and_the_clock_is_the_one_given(flow: Flow) -> None:
    turn = send(flow, at(flow, "menu", step=4), "1")
    assert turn.conversation.step == 5 and turn.conversation.updated_at == NOW


def test_conversation_state_round_trips_through_json(flow: Flow) -> None:
    conversation = send(flow, send(flow, None, "hi").conversation, "1").conversation
    assert Conversation.from_json(conversation.to_json()) == conversation
