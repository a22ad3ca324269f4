"""Segment counting against Twilio's own calculator (npm sms-segments-calculator), and text cleaning."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from helpline.core.text import clean_text, normalise, segment_count
from tests.twilio_fakes import node_path

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = [
    "",
    "a" * 160,
    "a" * 161,
    "a" * 306,
    "a" * 307,
    "a" * 152 + "\u20ac" + "a" * 152,  # a two-septet character is never split across parts
    "Curly \u2019quote\u2019 turns it all into UCS-2",
    "\u00bfD\u00f3nde est\u00e1 la cl\u00ednica? Espa\u00f1a \u00f1",
    "\U0001f600" * 35,
    "\U0001f600" * 36,
    "x" * 66 + "\U0001f600" + "x" * 70,
    "Braces {} and [brackets] and ~tilde~ and |pipes| and ^carets^ " * 3,
    "Plain text, with 'straight quotes' and \"double\" - and a hyphen.\nA new line.",
]


def reference_counts(texts: list[str]) -> list[list[object]]:
    script = (
        "const {SegmentedMessage} = require('sms-segments-calculator');"
        "const texts = JSON.parse(require('fs').readFileSync(0, 'utf8'));"
        "console.log(JSON.stringify(texts.map(t => { const m = new SegmentedMessage(t);"
        " return [m.encodingName, m.segmentsCount]; })));"
    )
    node = shutil.which("node", path=node_path())
    assert node and (ROOT / "node_modules" / "sms-segments-calculator").is_dir(), "run `make setup`"
    result = subprocess.run(
        [node, "-e", script], input=json.dumps(texts), capture_output=True, text=True, cwd=ROOT, check=True, timeout=30
    )
    return json.loads(result.stdout)  # type: ignore[no-any-return]


def test_segment_counts_match_twilios_calculator() -> None:
    expected = reference_counts(SAMPLES)
    for text, (encoding, segments) in zip(SAMPLES, expected, strict=True):
        if text == "":
            continue  # the calculator counts an empty message as 1 GSM-7 segment, as we do
        assert segment_count(text) == (encoding, segments), repr(text[:40])
    assert segment_count("") == ("GSM-7", 1)


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        pytest.param("  Menu!! ", "menu", id="case-space-punctuation"),
        pytest.param("S\u00ed, por favor", "si por favor", id="accents"),
        pytest.param("don\u2019t", "dont", id="curly-apostrophe"),
        pytest.param("#1.", "1", id="digit-with-punctuation"),
        pytest.param("\U0001f62d\U0001f62d", "", id="emoji-only"),
    ],
)
def test_normalise(raw: str, words: str) -> None:
    assert normalise(raw) == words


def test_clean_text_caps_length_and_drops_control_characters() -> None:
    assert clean_text("  hi\x00there\x1b  ") == "hi there"
    assert len(clean_text("x" * 10_000)) == 1600
    assert clean_text("e\u0301") == "\u00e9"  # NFC
