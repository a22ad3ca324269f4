"""A broken flow names its file and node, and nothing starts: every check of load_flows()."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from helpline.core.flows import load_flows
from helpline.errors import FlowError

VALUES = {"org": "Test Line", "call_number": "1-555-010-0100", "hours": "Mon-Fri 09:00-17:00"}
TEXTS = {
    "welcome": "Hi from {org}.",
    "menu": "Reply 1 for signs or 2 for help.",
    "signs": "Signs text.",
    "not_understood": "Sorry, I didn't catch that.",
    "crisis": "Call 911 now.",
}
CRISIS = {"say": {"sms": ["crisis"]}, "always": ["not breathing"], "unless_asking": ["overdose"], "asking": ["^what"]}


def flow() -> dict:
    return {
        "flow": "sms",
        "channel": "sms",
        "start": "welcome",
        "globals": [{"keys": ["menu"], "goto": "menu"}],
        "nodes": {
            "welcome": {"say": ["welcome"], "next": "menu"},
            "menu": {"say": ["menu"], "options": [{"keys": ["1", "signs"], "goto": "signs"}]},
            "signs": {"say": ["signs"]},
        },
    }


def write(directory: Path, flow_data: dict | str, texts: dict | None = None, crisis: dict | None = None) -> Path:
    (directory / "text").mkdir(exist_ok=True)
    (directory / "text" / "en.yaml").write_text(yaml.safe_dump(texts or TEXTS))
    (directory / "crisis.yaml").write_text(yaml.safe_dump(crisis or CRISIS))
    body = flow_data if isinstance(flow_data, str) else yaml.safe_dump(flow_data)
    (directory / "sms.yaml").write_text(body)
    return directory


def problems(directory: Path) -> str:
    with pytest.raises(FlowError) as caught:
        load_flows(directory, VALUES)
    return str(caught.value)


def test_a_valid_flow_loads_with_placeholders_filled(tmp_path: Path) -> None:
    flows = load_flows(write(tmp_path, flow()), VALUES)
    assert flows["sms"].text(("welcome",), "en") == "Hi from Test Line."


def test_a_missing_goto_target_names_the_file_and_node(tmp_path: Path) -> None:
    data = flow()
    data["nodes"]["menu"]["options"][0]["goto"] = "sigms"
    report = problems(write(tmp_path, data))
    assert f"{tmp_path.as_posix()}/sms.yaml: node 'menu': goto 'sigms' does not exist" in report


def test_every_problem_is_reported_in_one_run(tmp_path: Path) -> None:
    data = flow()
    data["nodes"]["menu"]["options"][0]["goto"] = "nowhere"
    data["nodes"]["signs"]["say"] = ["no_such_text"]
    data["start"] = "nope"
    report = problems(write(tmp_path, data))
    assert "goto 'nowhere' does not exist" in report
    assert "text 'no_such_text' is missing from text/en.yaml" in report
    assert "start: goto 'nope' does not exist" in report


def test_unquoted_yes_is_refused_as_a_keyword(tmp_path: Path) -> None:
    text = yaml.safe_dump(flow()).replace("- signs", "- yes")
    assert "- yes" in text
    assert "must be quoted strings" in problems(write(tmp_path, text))


def test_an_option_colliding_with_a_global_keyword_is_an_error(tmp_path: Path) -> None:
    data = flow()
    data["nodes"]["menu"]["options"][0]["keys"] = ["1", "MENU"]
    assert "option 'menu' collides with a global keyword" in problems(write(tmp_path, data))


def test_an_unreachable_node_is_an_error(tmp_path: Path) -> None:
    data = flow()
    data["nodes"]["orphan"] = {"say": ["signs"]}
    assert "node 'orphan' cannot be reached" in problems(write(tmp_path, data))


def test_a_next_loop_that_never_waits_is_an_error(tmp_path: Path) -> None:
    data = flow()
    data["nodes"]["signs"]["next"] = "welcome"
    data["nodes"]["menu"]["next"] = "signs"
    assert "'next' loops without waiting for a reply" in problems(write(tmp_path, data))


def test_a_curly_quote_in_english_sms_text_is_refused(tmp_path: Path) -> None:
    report = problems(write(tmp_path, flow(), {**TEXTS, "signs": "It\u2019s not your fault."}))
    assert "text 'signs' (en): uses non-GSM-7 characters" in report


def test_an_sms_text_over_two_segments_is_refused(tmp_path: Path) -> None:
    report = problems(write(tmp_path, flow(), {**TEXTS, "signs": "word " * 70}))
    assert "text 'signs' (en): is 3 GSM-7 segments" in report


def test_an_unknown_placeholder_is_refused(tmp_path: Path) -> None:
    report = problems(write(tmp_path, flow(), {**TEXTS, "signs": "Call {phone_number}."}))
    assert "unknown placeholder ['phone_number']" in report


def test_a_misspelt_field_is_refused(tmp_path: Path) -> None:
    data = flow()
    data["nodes"]["signs"]["sya"] = ["signs"]
    assert "node 'signs': unknown field 'sya'" in problems(write(tmp_path, data))


def test_a_yaml_syntax_error_names_the_file(tmp_path: Path) -> None:
    report = problems(write(tmp_path, "flow: sms\nnodes: [unclosed\n"))
    assert f"{tmp_path.as_posix()}/sms.yaml: cannot read" in report


def test_a_bad_crisis_pattern_is_refused(tmp_path: Path) -> None:
    report = problems(write(tmp_path, flow(), crisis={**CRISIS, "always": ["not (breathing"]}))
    assert "crisis.yaml: always: bad pattern" in report


def test_voice_prompts_must_not_hold_urls(tmp_path: Path) -> None:
    data = {**flow(), "flow": "voice", "channel": "voice"}
    write(tmp_path, flow(), {**TEXTS, "signs": "See https://example.org for more."})
    (tmp_path / "voice.yaml").write_text(yaml.safe_dump(data))
    assert "voice prompts must not hold URLs" in problems(tmp_path)
