"""The pure engine on the real voice flow, and the loader checks voice added. No Redis, no Flask, no clock."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpline.core import engine
from helpline.core.actions import Check, Dial, Hangup, Listen, Priority, Record, RequestCallback, Say
from helpline.core.events import CallAnswered, Event, KeysPressed, NoInput, Outcome, SpeechHeard
from helpline.core.flows import Flow, load_flows
from helpline.core.state import Conversation
from helpline.errors import FlowError
from tests.core import support
from tests.core.support import NOW, VALUES, real_flows


@pytest.fixture(scope="module")
def flow() -> Flow:
    return real_flows()["voice"]


def at(flow: Flow, node: str, **changes: object) -> Conversation:
    return support.at(flow.id, node, **changes)


def step(flow: Flow, conversation: Conversation | None, event: Event) -> engine.Turn:
    return engine.advance(flow, conversation, event, now=NOW)


def says(turn: engine.Turn) -> list[str]:
    return [a.text for a in turn.actions if isinstance(a, Say)]


def text(flow: Flow, key: str, language: str = "en") -> str:
    return flow.text((key,), language)


def test_an_answered_call_hears_welcome_tty_and_menu_then_listens_for_keys_and_speech(flow: Flow) -> None:
    turn = step(flow, None, CallAnswered())
    assert says(turn) == [text(flow, "voice_welcome"), text(flow, "voice_tty"), text(flow, "voice_menu")]
    listen = turn.actions[-1]
    assert isinstance(listen, Listen)
    assert (listen.digits, listen.speech, listen.language) == (1, True, "en-US")
    assert {"callback", "specialist", "signs", "failed"} <= set(listen.hints)
    assert turn.conversation.node == "menu"


@pytest.mark.parametrize(
    ("event", "node"),
    [
        pytest.param(KeysPressed("1"), "menu", id="1-signs-then-menu"),
        pytest.param(KeysPressed("4"), "specialist", id="4-checks-for-a-specialist"),
        pytest.param(KeysPressed("0"), "specialist", id="0-is-4"),
        pytest.param(KeysPressed("5"), "callback", id="5-checks-the-caller-number"),
        pytest.param(SpeechHeard("call me back please"), "callback", id="speech-callback"),
        pytest.param(SpeechHeard("a specialist"), "specialist", id="speech-specialist"),
    ],
)
def test_menu_choices(flow: Flow, event: Event, node: str) -> None:
    assert step(flow, at(flow, "menu"), event).conversation.node == node


def test_a_node_that_checks_asks_the_edge_and_the_answer_routes_on(flow: Flow) -> None:
    turn = step(flow, at(flow, "menu"), KeysPressed("4"))
    assert turn.actions == (Check("specialist"),)
    dial = step(flow, turn.conversation, Outcome("specialist:available"))
    assert [type(a) for a in dial.actions] == [Say, Dial]
    assert dial.actions[-1] == Dial(timeout_s=20)  # no number: the glue adds it
    closed = step(flow, turn.conversation, Outcome("specialist:closed"))
    assert [type(a) for a in closed.actions] == [Say, Say, Record] and closed.conversation.node == "specialist_closed"


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_every_failed_dial_offers_a_voicemail(flow: Flow, status: str) -> None:
    turn = step(flow, at(flow, "specialist_dial"), Outcome(f"dial:{status}"))
    assert turn.conversation.node == "specialist_missed"
    assert isinstance(turn.actions[-1], Record) and turn.actions[-1].max_length_s == 120


def test_a_recording_becomes_a_confirmed_callback_with_its_url_then_the_call_ends(flow: Flow) -> None:
    conversation = at(flow, "specialist_missed", answers={"topic": "specialist"})
    turn = step(flow, conversation, Outcome("recorded", "https://api.twilio.com/rec/RE1"))
    [request] = [a for a in turn.actions if isinstance(a, RequestCallback)]
    assert (request.recording_url, request.confirmed, request.topic) == (
        "https://api.twilio.com/rec/RE1",
        True,
        "specialist",
    )
    assert isinstance(turn.actions[-1], Hangup)


def test_silence_says_so_and_asks_again_and_the_third_miss_offers_a_voicemail(flow: Flow) -> None:
    conversation = at(flow, "menu")
    for misses in (1, 2):
        turn = step(flow, conversation, NoInput())
        assert says(turn) == [text(flow, "voice_not_heard"), text(flow, "voice_menu")]
        conversation = turn.conversation
        assert conversation.misses == misses
    turn = step(flow, conversation, KeysPressed("7"))
    assert turn.conversation.node == "leave_message" and turn.conversation.misses == 0
    assert isinstance(turn.actions[-1], Record)


def test_an_understood_answer_resets_the_miss_count(flow: Flow) -> None:
    turn = step(flow, at(flow, "menu", misses=2), KeysPressed("*"))
    assert (turn.conversation.node, turn.conversation.misses) == ("menu", 0)


def test_an_on_silence_outcome_route_wins_over_counting_misses(flow: Flow) -> None:
    turn = step(flow, at(flow, "leave_message"), NoInput())
    assert turn.conversation.node == "voicemail_empty"
    [request] = [a for a in turn.actions if isinstance(a, RequestCallback)]
    assert request.confirmed is False


def test_hanging_up_on_the_way_to_a_callback_requests_one_unconfirmed(flow: Flow) -> None:
    conversation = at(flow, "callback_voicemail", answers={"topic": "callback"})
    assert engine.expects(flow, conversation, "hangup")
    turn = step(flow, conversation, Outcome("hangup"))
    [request] = [a for a in turn.actions if isinstance(a, RequestCallback)]
    assert (request.confirmed, request.topic, request.priority) == (False, "callback", Priority.NORMAL)


def test_the_menu_does_not_expect_a_hang_up(flow: Flow) -> None:
    assert not engine.expects(flow, at(flow, "menu"), "hangup")
    assert not engine.expects(flow, None, "hangup")
    assert not engine.expects(flow, at(flow, "no_such_node"), "hangup")


def test_the_number_entry_listens_for_ten_keypad_digits_only(flow: Flow) -> None:
    turn = step(flow, at(flow, "callback_confirm_number"), KeysPressed("2"))
    listen = turn.actions[-1]
    assert isinstance(listen, Listen) and (listen.digits, listen.speech, listen.hints) == (10, False, ())
    booked = step(flow, turn.conversation, Outcome("number:valid", "+12025550143"))
    assert booked.conversation.node == "callback_voicemail" and booked.conversation.answers["number"] == "+12025550143"
    wrong = step(flow, turn.conversation, Outcome("number:invalid"))
    assert says(wrong) == [text(flow, "voice_not_understood"), text(flow, "voice_callback_number_invalid")]
    assert wrong.conversation.misses == 1


def test_confirming_the_caller_id_forgets_a_number_typed_earlier(flow: Flow) -> None:
    conversation = at(flow, "callback_confirm_number", answers={"number": "+12025550143"})
    assert step(flow, conversation, KeysPressed("1")).conversation.answers["number"] == ""


def test_the_booked_callback_is_confirmed_with_voicemail_consent(flow: Flow) -> None:
    turn = step(flow, at(flow, "callback_voicemail", answers={"topic": "callback"}), KeysPressed("2"))
    [request] = [a for a in turn.actions if isinstance(a, RequestCallback)]
    assert (request.voicemail_ok, request.confirmed) == (False, True)
    assert "{ref}" in says(turn)[0]  # filled by the glue once the request is stored


def test_nine_switches_prompts_and_listening_to_spanish(flow: Flow) -> None:
    turn = step(flow, at(flow, "menu"), KeysPressed("9"))
    assert turn.conversation.language == "es"
    assert says(turn) == [text(flow, k, "es") for k in ("voice_welcome", "voice_tty", "voice_menu")]
    assert {a.language for a in turn.actions if isinstance(a, Say | Listen)} == {"es-US"}
    assert text(flow, "voice_menu", "es") != text(flow, "voice_menu")


def test_spoken_crisis_words_get_the_voice_emergency_reply_an_urgent_request_and_the_prompt_again(
    flow: Flow,
) -> None:
    turn = step(flow, at(flow, "callback_voicemail"), SpeechHeard("my daughter is not breathing"))
    assert turn.crisis
    assert says(turn)[:3] == [
        text(flow, "crisis_voice_emergency"),
        text(flow, "crisis_voice_followup"),
        text(flow, "voice_callback_voicemail"),
    ]
    [request] = [a for a in turn.actions if isinstance(a, RequestCallback)]
    assert (request.priority, request.topic) == (Priority.URGENT, "crisis")
    assert isinstance(turn.actions[-1], Listen) and turn.conversation.node == "callback_voicemail"


def test_keys_never_trigger_the_crisis_reply(flow: Flow) -> None:
    assert not step(flow, at(flow, "menu"), KeysPressed("911")).crisis


def test_every_voice_text_exists_in_spanish_and_is_spanish(flow: Flow) -> None:
    keys = {k for node in flow.nodes.values() for message in (*node.say, *node.reprompt) for k in message}
    keys |= {k for message in flow.crisis.say["voice"] for k in message}
    for key in sorted(keys):
        assert key in flow.texts["es"], key
        assert flow.texts["es"][key] != flow.texts["en"][key], key


# -- loader checks -----------------------------------------------------------------------------------

TEXTS = {"hi": "Hello.", "menu": "Press 1.", "bye": "Bye.", "sorry": "Sorry.", "crisis": "Call 9 1 1."}


def write_voice(
    directory: Path, nodes: dict, *, es: dict | None = None, crisis_voice: bool = True, **flow_fields: object
) -> Path:
    (directory / "text").mkdir(exist_ok=True)
    (directory / "text" / "en.yaml").write_text(yaml.safe_dump(TEXTS))
    if es is not None:
        (directory / "text" / "es.voice.yaml").write_text(yaml.safe_dump(es))
    say = {"sms": ["crisis"], **({"voice": ["crisis"]} if crisis_voice else {})}
    crisis = {"say": say, "always": ["not breathing"], "unless_asking": ["overdose"], "asking": ["^what"]}
    (directory / "crisis.yaml").write_text(yaml.safe_dump(crisis))
    data = {
        "flow": "voice",
        "channel": "voice",
        "start": "menu",
        "not_understood": "sorry",
        "languages": ["en", "es"] if es is not None else ["en"],
        "nodes": nodes,
        **flow_fields,
    }
    (directory / "voice.yaml").write_text(yaml.safe_dump(data))
    return directory


def problems(directory: Path) -> str:
    with pytest.raises(FlowError) as caught:
        load_flows(directory, VALUES)
    return str(caught.value)


MENU = {
    "menu": {"say": ["menu"], "options": [{"keys": ["1"], "goto": "bye"}]},
    "bye": {"say": ["bye"], "do": ["hangup"]},
}


def test_a_valid_voice_flow_loads(tmp_path: Path) -> None:
    assert load_flows(write_voice(tmp_path, MENU), VALUES)["voice"].channel == "voice"


def test_a_spanish_text_the_flow_uses_must_exist(tmp_path: Path) -> None:
    es = {"menu": "Oprima 1.", "bye": "Adiós.", "sorry": "Perdón.", "crisis": "Llame al 9 1 1."}
    assert load_flows(write_voice(tmp_path, MENU, es=es), VALUES)["voice"].text(("bye",), "es") == "Adiós."
    del es["bye"]
    assert "node 'bye': text 'bye' is missing from text/es.yaml" in problems(write_voice(tmp_path, MENU, es=es))


def test_the_crisis_reply_must_exist_for_the_voice_channel_and_every_language(tmp_path: Path) -> None:
    assert "crisis.yaml has no 'voice' emergency reply" in problems(write_voice(tmp_path, MENU, crisis_voice=False))
    es = {"menu": "Oprima 1.", "bye": "Adiós.", "sorry": "Perdón."}
    assert "crisis say: text 'crisis' is missing from text/es.yaml" in problems(write_voice(tmp_path, MENU, es=es))


def test_a_dialing_node_must_route_every_dial_outcome(tmp_path: Path) -> None:
    nodes = {**MENU, "menu": {"say": ["menu"], "do": ["dial"], "options": [{"on": "dial:completed", "goto": "bye"}]}}
    found = problems(write_voice(tmp_path, nodes))
    assert "node 'menu': does 'dial' but has no option for outcome 'dial:no-answer'" in found
    assert "'dial:completed'" not in found


def test_a_recording_node_must_route_recorded(tmp_path: Path) -> None:
    nodes = {**MENU, "menu": {"say": ["menu"], "do": ["record"], "options": [{"on": "silence", "goto": "bye"}]}}
    assert "does 'record' but has no option for outcome 'recorded'" in problems(write_voice(tmp_path, nodes))


def test_a_checking_node_must_route_an_answer(tmp_path: Path) -> None:
    nodes = {**MENU, "menu": {"check": "specialist", "options": [{"on": "dial:busy", "goto": "bye"}]}}
    assert "checks 'specialist' but has no option 'on: specialist:<answer>'" in problems(write_voice(tmp_path, nodes))


def test_a_bare_on_key_gets_a_helpful_error(tmp_path: Path) -> None:
    write_voice(tmp_path, MENU)
    (tmp_path / "voice.yaml").write_text(
        "flow: voice\nchannel: voice\nstart: menu\nnot_understood: sorry\nnodes:\n"
        "  menu:\n    say: [menu]\n    options:\n      - on: hangup\n        goto: menu\n"
    )
    assert 'write the outcome key quoted, "on":' in problems(tmp_path)


def test_a_misses_limit_needs_a_node_to_go_to(tmp_path: Path) -> None:
    assert "misses_limit needs after_misses" in problems(write_voice(tmp_path, MENU, misses_limit=3))
    found = problems(write_voice(tmp_path, MENU, misses_limit=3, after_misses="nowhere"))
    assert "after_misses: goto 'nowhere' does not exist" in found
    assert "misses_limit: must be a whole number" in problems(write_voice(tmp_path, MENU, misses_limit="x"))
