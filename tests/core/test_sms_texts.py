"""The English texts (flows/text/en.yaml): cheap to send, kind in their words, safe in an emergency.

load_flows() already refuses an SMS that is not GSM-7 or needs more than two segments; these
tests name each text on its own and add the content rules of shared/CONTENT.md.
"""

from __future__ import annotations

import re

import pytest
import yaml

from helpline.core.flows import RUNTIME_SAMPLES, Flow, Flows, sms_problems
from helpline.core.text import fill, is_gsm7, placeholders
from tests.core.support import ROOT, real_flows

RAW: dict[str, str] = yaml.safe_load((ROOT / "flows" / "text" / "en.yaml").read_text(encoding="utf-8"))
STIGMA = re.compile(r"\b(addicts?|junkies?|junky|abusers?|clean|dirty|habits?)\b", re.IGNORECASE)
#: Texts the voice menu speaks too: the reply instructions live in the reply_* keys instead.
BODIES = [
    key for key in RAW if key.startswith(("signs_", "failed_", "planning_")) or key in ("not_your_fault", "get_help")
]
REQUIRED = """welcome menu welcome_back not_understood signs_physical signs_behaviour signs_found
    signs_withdrawal reply_more reply_more_short reply_next_steps failed_hope failed_reasons failed_next
    not_your_fault planning_who planning_plan planning_specialist get_help find_treatment callback_time
    callback_voicemail callback_booked talk_now person help crisis_emergency crisis_followup
    callback_state_new callback_state_updated wait_open wait_closed""".split()


@pytest.fixture(scope="module")
def flows() -> Flows:
    return real_flows()


def sms_messages(flows: Flows) -> list[tuple[str, Flow, tuple[str, ...]]]:
    """(name, flow, message) for every message an SMS flow or the crisis gate can send."""
    found: dict[str, tuple[Flow, tuple[str, ...]]] = {}
    for flow in flows.flows.values():
        if flow.channel != "sms":
            continue
        for node in flow.nodes.values():
            for message in (*node.say, *node.reprompt):
                found.setdefault(f"{flow.id}:{'+'.join(message)}", (flow, message))
        found.setdefault(f"{flow.id}:{flow.not_understood}", (flow, (flow.not_understood,)))
        for message in flows.crisis.say.get("sms", ()):
            found.setdefault(f"crisis:{'+'.join(message)}", (flow, message))
    return [(name, flow, message) for name, (flow, message) in sorted(found.items())]


def test_every_required_key_is_there() -> None:
    assert sorted(set(REQUIRED) - set(RAW)) == []


@pytest.mark.parametrize("key", sorted(RAW))
def test_each_text_is_gsm7_and_kind(key: str) -> None:
    text = RAW[key]
    assert isinstance(text, str) and text.strip()
    assert is_gsm7(text), sorted({ch for ch in text if not is_gsm7(ch)})
    assert not STIGMA.search(text), STIGMA.search(text)


@pytest.mark.parametrize("key", sorted(RAW))
def test_each_text_names_no_helpline_of_its_own(key: str) -> None:
    """The helpline's name and numbers come from settings; public numbers are fine."""
    text = RAW[key]
    assert "Family Helpline" not in text and "555" not in text
    digits = re.findall(r"\d[\d-]{6,}\d", text)
    assert set(digits) <= {"1-800-662-4357"}, digits


@pytest.mark.parametrize("key", BODIES)
def test_a_body_holds_no_reply_instruction(key: str) -> None:
    assert not re.search(r"\b(reply|text back|press)\b", RAW[key], re.IGNORECASE)
    assert "{" not in RAW[key]


def test_the_emergency_reply_puts_911_first() -> None:
    assert RAW["crisis_emergency"].startswith("Call 911")
    for word in ("naloxone", "Narcan", "side", "988"):
        assert word in RAW["crisis_emergency"]
    assert "{ref}" in RAW["crisis_followup"] and "Good Samaritan" in RAW["crisis_followup"]


def test_the_welcome_says_who_and_what_to_do_in_an_emergency(flows: Flows) -> None:
    welcome = flows["sms"].text(("welcome",), "en")
    assert "the Family Helpline" in welcome and "confidential" in welcome and "911" in welcome


def test_the_menu_lists_the_five_choices_in_order() -> None:
    numbers = re.findall(r"^(\d) ", RAW["menu"], re.MULTILINE)
    assert numbers == ["1", "2", "3", "4", "5"]


def test_runtime_pieces_fit_their_slots() -> None:
    """{request_state} and {wait} are filled into callback_booked: the loader's samples are their limits."""
    opening = RUNTIME_SAMPLES["opening"]
    for key in ("callback_state_new", "callback_state_updated"):
        assert len(RAW[key]) <= len(RUNTIME_SAMPLES["request_state"])
    for key in ("wait_open", "wait_closed"):
        assert len(fill(RAW[key].strip(), {"opening": opening})) <= len(RUNTIME_SAMPLES["wait"]), key
    assert placeholders(RAW["wait_closed"]) == {"opening"}
    assert placeholders(RAW["callback_booked"]) == {"ref", "request_state", "wait"}


def test_placeholders_are_only_the_known_ones() -> None:
    known = {"org", "call_number", "hours", "zip", "ref", "request_state", "wait", "opening"}
    for key, text in RAW.items():
        assert placeholders(text) <= known, key
    assert placeholders(RAW["find_treatment"]) == {"zip"}
    assert {"call_number", "hours"} <= placeholders(RAW["talk_now"])


def test_the_flow_can_send_messages(flows: Flows) -> None:
    assert len(sms_messages(flows)) > 20


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "sms_message" in metafunc.fixturenames:
        loaded = real_flows()
        cases = sms_messages(loaded)
        metafunc.parametrize(
            "sms_message", [(flow, message) for _, flow, message in cases], ids=[name for name, _, _ in cases]
        )


def test_every_sms_message_fits_two_gsm7_segments(sms_message: tuple[Flow, tuple[str, ...]]) -> None:
    flow, message = sms_message
    text = flow.text(message, "en")
    assert sms_problems(text, "en") == []
    assert "{org}" not in text and "{call_number}" not in text and "{hours}" not in text
