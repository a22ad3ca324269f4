"""The phone menu through signed webhooks, a real Redis and the real flows, walked the way Twilio walks it.

A Call posts to /voice, parses each TwiML reply with ElementTree and follows it as Twilio would:
`<Gather action>` with Digits or SpeechResult, the `<Redirect>` after it on silence, `<Dial action>`
with a DialCallStatus, `<Record action>` with a RecordingUrl (or its Redirect when nothing was
recorded), and /voice/status when the caller hangs up. Every follow-up URL must be a route of the
app under the public base URL, signed like any webhook.
"""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from redis import Redis
from twilio.request_validator import RequestValidator

from helpline import create_app, jobs
from helpline.callbacks import CallbackRequest
from helpline.config import Settings
from helpline.core.actions import Priority
from helpline.deps import Deps, build_deps
from helpline.staff.roster import StaffMember
from tests.conftest import AUTH_TOKEN, CALLER, HELPLINE_NUMBER, PUBLIC_BASE_URL, Clock, Post
from tests.twilio_fakes import Recorder

SPECIALIST = "+15035550199"
OTHER_NUMBER = "2025550143"
RECORDING = "https://api.twilio.com/2010-04-01/Accounts/AC11/Recordings/RE" + "0" * 32
# Saturday 2026-11-28 12:00 in New York: outside the default staffed hours (Mon-Fri 09:00-17:00).
CLOSED_TIME = datetime(2026, 11, 28, 17, 0, tzinfo=UTC)
_sids = itertools.count(1)


# -- the TwiML walker ----------------------------------------------------------------------------


@dataclass
class Twiml:
    """One TwiML reply, parsed."""

    root: ET.Element
    body: str

    @property
    def says(self) -> list[ET.Element]:
        return list(self.root.iter("Say"))

    @property
    def text(self) -> str:
        return " ".join((say.text or "").strip() for say in self.says)

    @property
    def verbs(self) -> list[str]:
        return [child.tag for child in self.root]

    def one(self, tag: str) -> ET.Element:
        found = self.root.findall(tag)
        assert len(found) == 1, f"expected one <{tag}> in {self.body}"
        return found[0]

    def has(self, tag: str) -> bool:
        return self.root.find(tag) is not None


@dataclass
class Call:
    """One phone call to the helpline, walked as Twilio would walk it."""

    post: Post
    caller: str = CALLER
    sid: str = field(default_factory=lambda: f"CA{next(_sids):032x}")
    last: Twiml | None = None
    urls: list[str] = field(default_factory=list)

    def form(self, **extra: str) -> dict[str, str]:
        return {
            "CallSid": self.sid,
            "AccountSid": "AC" + "1" * 32,
            "From": self.caller,
            "To": HELPLINE_NUMBER,
            "CallStatus": "in-progress",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
            **extra,
        }

    def start(self) -> Twiml:
        return self._post("/voice", self.form(CallStatus="ringing"))

    def press(self, digits: str) -> Twiml:
        gather = self.twiml.one("Gather")
        assert "dtmf" in gather.get("input", "")
        return self._follow(gather.get("action", ""), Digits=digits)

    def say(self, words: str) -> Twiml:
        gather = self.twiml.one("Gather")
        assert "speech" in gather.get("input", ""), "this prompt does not listen for speech"
        return self._follow(gather.get("action", ""), SpeechResult=words, Confidence="0.87")

    def silence(self) -> Twiml:
        """Nothing pressed or said (or nothing recorded): Twilio falls through to the <Redirect>."""
        assert self.twiml.has("Gather") or self.twiml.has("Record"), self.twiml.body
        redirect = self.twiml.one("Redirect")
        assert self.twiml.verbs[-1] == "Redirect"
        return self._follow(redirect.text or "")

    def dial_ends(self, status: str) -> Twiml:
        dial = self.twiml.one("Dial")
        return self._follow(
            dial.get("action", ""), DialCallStatus=status, DialCallSid=f"CA{next(_sids):032x}", DialCallDuration="0"
        )

    def leave_voicemail(self, url: str = RECORDING) -> Twiml:
        record = self.twiml.one("Record")
        return self._follow(
            record.get("action", ""), RecordingUrl=url, RecordingSid="RE" + "0" * 32, RecordingDuration="14", Digits="#"
        )

    def hang_up(self, status: str = "completed") -> int:
        return self.post("/voice/status", self.form(CallStatus=status, CallDuration="42")).status_code

    def repeat_last(self) -> Twiml:
        """Twilio retries the last request, byte for byte."""
        path, form = self._previous
        return self._post(path, form)

    @property
    def twiml(self) -> Twiml:
        assert self.last is not None, "the call has not started"
        return self.last

    def _follow(self, url: str, **params: str) -> Twiml:
        assert url.startswith(PUBLIC_BASE_URL + "/voice/next?step="), f"{url!r} is not a signed route of the app"
        self.urls.append(url)
        return self._post(url.removeprefix(PUBLIC_BASE_URL), self.form(**params))

    def _post(self, path: str, form: dict[str, str]) -> Twiml:
        self._previous = (path, form)
        response = self.post(path, form)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.mimetype == "text/xml"
        root = ET.fromstring(response.get_data())
        assert root.tag == "Response" and len(root), "every answer is TwiML that does something"
        assert not any("{" in (say.text or "") for say in root.iter("Say")), "a placeholder was left unfilled"
        self.last = Twiml(root, response.get_data(as_text=True))
        return self.last


@pytest.fixture
def call(signed_post: Post) -> Callable[..., Call]:
    def make(caller: str = CALLER) -> Call:
        return Call(signed_post, caller)

    return make


@pytest.fixture
def on_call(deps: Deps) -> StaffMember:
    member = StaffMember("Ann", SPECIALIST, on_call=True)
    deps.store.add_staff(member)
    return member


def texts(deps: Deps, language: str, *keys: str) -> list[str]:
    return [deps.flows["voice"].text((key,), language) for key in keys]


def menu_text(deps: Deps, language: str = "en") -> str:
    return texts(deps, language, "voice_menu")[0]


def only_request(deps: Deps) -> CallbackRequest:
    [request] = deps.store.all_callbacks()
    return request


def queued_alerts(redis: Redis, job: str = "alert_on_call") -> list[tuple[object, ...]]:
    found = []
    for name in (jobs.URGENT, jobs.DEFAULT):
        queue = jobs.queue(redis, name)
        found += [tuple(j.args) for j in queue.get_jobs() if j.func_name.endswith(job)]
    return found


def assert_at_menu(twiml: Twiml, deps: Deps, language: str = "en") -> None:
    gather = twiml.one("Gather")
    assert [say.text for say in gather.findall("Say")][-1] == menu_text(deps, language)
    assert gather.get("numDigits") == "1" and gather.get("input") == "dtmf speech"
    assert gather.get("language") == {"en": "en-US", "es": "es-US"}[language]


def spoken(number: int | str) -> str:
    return " ".join(str(number))


# -- signatures and the shape of a step ------------------------------------------------------------


@pytest.mark.parametrize("path", ["/voice", "/voice/next?step=1", "/voice/status"])
def test_unsigned_or_forged_requests_get_403(client: FlaskClient, call: Callable[..., Call], path: str) -> None:
    form = call().form()
    assert client.post(path, data=form).status_code == 403
    forged = {"X-Twilio-Signature": "bm90IGEgc2lnbmF0dXJl"}
    assert client.post(path, data=form, headers=forged).status_code == 403


def test_a_signature_for_another_step_gets_403(client: FlaskClient, call: Callable[..., Call]) -> None:
    form = call().form(Digits="5")
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}/voice/next?step=1", form)
    response = client.post("/voice/next?step=2", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403


def test_a_step_without_call_sid_or_step_number_gets_400(signed_post: Post, call: Callable[..., Call]) -> None:
    form = call().form()
    assert signed_post("/voice/next", form).status_code == 400
    assert signed_post("/voice/next?step=0", form).status_code == 400
    del form["CallSid"]
    assert signed_post("/voice", form).status_code == 400


def test_the_greeting_starts_with_safety_then_offers_the_whole_menu_in_one_gather(
    call: Callable[..., Call], deps: Deps
) -> None:
    twiml = call().start()
    assert twiml.verbs == ["Gather", "Redirect"]
    gather = twiml.one("Gather")
    first = gather.findall("Say")[0].text or ""
    assert "overdosing" in first and "not breathing" in first and "call 9 1 1" in first
    assert "7 1 1" in twiml.text and "TTY" in twiml.text
    for choice in ("press 1", "press 2", "press 3", "press 4", "press 5", "oprima 9", "press 0", "press star"):
        assert choice in twiml.text
    assert gather.get("input") == "dtmf speech" and gather.get("numDigits") == "1"
    hints = {h.strip() for h in gather.get("hints", "").split(",")}
    assert {"callback", "specialist", "signs", "failed"} <= hints
    assert gather.get("action") == f"{PUBLIC_BASE_URL}/voice/next?step=1"
    assert twiml.one("Redirect").text == gather.get("action")


def test_each_step_posts_to_the_next_step_number(call: Callable[..., Call]) -> None:
    c = call()
    c.start()
    c.press("*")
    c.silence()
    c.press("1")
    assert c.urls == [f"{PUBLIC_BASE_URL}/voice/next?step={n}" for n in (1, 2, 3)]
    assert c.twiml.one("Gather").get("action") == f"{PUBLIC_BASE_URL}/voice/next?step=4"


# -- the menu, in both languages ---------------------------------------------------------------------

TOPICS = {
    "1": ("signs_physical", "signs_behaviour", "signs_found", "signs_withdrawal"),
    "2": ("failed_hope", "failed_reasons", "failed_next", "not_your_fault"),
    "3": ("planning_who", "planning_plan", "planning_specialist"),
}


@pytest.mark.parametrize("language", ["en", "es"])
@pytest.mark.parametrize("digit", ["1", "2", "3"])
def test_guidance_is_the_sms_content_spoken_then_the_menu_again(
    call: Callable[..., Call], deps: Deps, digit: str, language: str
) -> None:
    c = call()
    c.start()
    if language == "es":
        c.press("9")
    twiml = c.press(digit)
    says = [say.text for say in twiml.one("Gather").findall("Say")]
    assert says[: len(TOPICS[digit])] == texts(deps, language, *TOPICS[digit])
    if language == "en":  # one source: the SMS bodies themselves
        assert says[0] == deps.flows["sms"].text((TOPICS[digit][0],), "en")
    assert_at_menu(twiml, deps, language)
    assert {say.get("language") for say in twiml.says} == {{"en": "en-US", "es": "es-US"}[language]}


def test_nine_switches_to_spanish_with_the_safety_line_first_and_the_same_menu(
    call: Callable[..., Call], deps: Deps
) -> None:
    c = call()
    c.start()
    twiml = c.press("9")
    assert twiml.says[0].text == texts(deps, "es", "voice_welcome")[0]
    assert "9 1 1" in (twiml.says[0].text or "")
    assert_at_menu(twiml, deps, "es")
    assert {say.get("language") for say in twiml.says} == {"es-US"}
    for digit in "123450":
        assert f"oprima {digit}" in twiml.text
    c.say("English")
    assert_at_menu(c.twiml, deps, "en")


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        pytest.param("I'd like a callback please", "voice_callback_confirm_number", id="callback"),
        pytest.param("Can I talk to a specialist?", "voice_specialist_missed", id="specialist"),
        pytest.param("What are the signs?", "signs_physical", id="signs"),
        pytest.param("Our intervention failed.", "failed_hope", id="failed"),
        pytest.param("Two.", "failed_hope", id="a-number-spoken"),
    ],
)
def test_spoken_words_work_like_keys(call: Callable[..., Call], deps: Deps, words: str, expected: str) -> None:
    c = call()
    c.start()
    twiml = c.say(words)
    assert texts(deps, "en", expected)[0].split("{")[0] in twiml.text


def test_star_repeats_the_menu(call: Callable[..., Call], deps: Deps) -> None:
    c = call()
    c.start()
    twiml = c.press("*")
    assert [say.text for say in twiml.says] == [menu_text(deps)]
    assert_at_menu(twiml, deps)


def test_an_invalid_key_gets_sorry_and_the_menu_again(call: Callable[..., Call], deps: Deps) -> None:
    c = call()
    c.start()
    twiml = c.press("7")
    assert [say.text for say in twiml.says] == [texts(deps, "en", "voice_not_understood")[0], menu_text(deps)]
    assert_at_menu(twiml, deps)


def test_silence_reprompts_and_repeated_silence_offers_a_voicemail_that_becomes_a_callback(
    call: Callable[..., Call], deps: Deps, redis: Redis
) -> None:
    c = call()
    c.start()
    for _ in range(2):
        twiml = c.silence()
        assert twiml.says[0].text == texts(deps, "en", "voice_not_heard")[0]
        assert_at_menu(twiml, deps)
    twiml = c.silence()
    assert twiml.verbs == ["Say", "Record", "Redirect"]
    assert "leave a message" in twiml.text and "9 1 1" in twiml.text
    record = twiml.one("Record")
    assert record.get("playBeep") == "true" and int(record.get("maxLength", "0")) <= 300
    assert deps.store.all_callbacks() == []
    done = c.leave_voicemail()
    request = only_request(deps)
    assert (request.recording_url, request.confirmed, request.channel, request.number) == (
        RECORDING,
        True,
        "voice",
        CALLER,
    )
    assert spoken(request.id) in done.text
    assert done.verbs[-1] == "Hangup"
    assert queued_alerts(redis) == [(request.id,)]


def test_mixed_misses_also_end_in_the_voicemail_offer_and_a_match_resets_the_count(
    call: Callable[..., Call], deps: Deps
) -> None:
    c = call()
    c.start()
    c.press("7")
    c.silence()
    c.press("*")  # understood: the count starts again
    c.press("8")
    assert not c.twiml.has("Record")
    c.say("purple monkey dishwasher")
    assert c.press("#").has("Record")


def test_silence_instead_of_a_voicemail_still_ends_in_an_unconfirmed_callback_and_a_goodbye(
    call: Callable[..., Call], deps: Deps
) -> None:
    c = call()
    c.start()
    for _ in range(3):
        c.silence()
    twiml = c.silence()  # nothing recorded: Twilio follows the Redirect after <Record>
    request = only_request(deps)
    assert (request.confirmed, request.recording_url) == (False, "")
    assert twiml.verbs[-1] == "Hangup" and "9 1 1" in twiml.text and spoken(request.id) in twiml.text


# -- a specialist ----------------------------------------------------------------------------------


def test_four_dials_the_on_call_specialist_during_staffed_hours(
    call: Callable[..., Call], deps: Deps, on_call: StaffMember
) -> None:
    c = call()
    c.start()
    twiml = c.press("4")
    assert twiml.verbs == ["Say", "Dial"]
    dial = twiml.one("Dial")
    assert (dial.text, dial.get("callerId")) == (SPECIALIST, HELPLINE_NUMBER)
    assert 15 <= int(dial.get("timeout", "0")) <= 30
    assert dial.get("action", "").startswith(f"{PUBLIC_BASE_URL}/voice/next?step=")


def test_zero_reaches_a_person_like_four(call: Callable[..., Call], on_call: StaffMember) -> None:
    c = call()
    c.start()
    assert c.press("0").one("Dial").text == SPECIALIST


@pytest.mark.parametrize("status", ["completed", "answered"])
def test_a_connected_call_ends_with_a_goodbye_and_no_request(
    call: Callable[..., Call], deps: Deps, on_call: StaffMember, status: str
) -> None:
    c = call()
    c.start()
    c.press("4")
    twiml = c.dial_ends(status)
    assert twiml.verbs[-1] == "Hangup" and "Goodbye" in twiml.text
    assert c.hang_up() == 204
    assert deps.store.all_callbacks() == []


@pytest.mark.parametrize("status", ["busy", "no-answer", "failed", "canceled"])
def test_a_missed_specialist_offers_a_voicemail_that_becomes_a_callback_with_the_recording(
    call: Callable[..., Call], deps: Deps, on_call: StaffMember, redis: Redis, status: str
) -> None:
    c = call()
    c.start()
    c.press("4")
    twiml = c.dial_ends(status)
    assert texts(deps, "en", "voice_specialist_missed")[0] in twiml.text
    assert twiml.verbs == ["Say", "Say", "Record", "Redirect"]
    assert twiml.one("Record").get("playBeep") == "true"
    done = c.leave_voicemail()
    request = only_request(deps)
    assert (request.recording_url, request.topic, request.confirmed) == (RECORDING, "specialist", True)
    assert spoken(request.id) in done.text and done.verbs[-1] == "Hangup"
    assert queued_alerts(redis) == [(request.id,)]


def test_the_staff_alert_says_a_voicemail_is_waiting(
    call: Callable[..., Call], deps: Deps, on_call: StaffMember, work: Callable[[], None], sent: Recorder
) -> None:
    c = call()
    c.start()
    c.press("4")
    c.dial_ends("no-answer")
    c.leave_voicemail()
    work()
    [alert] = sent.texts_to(SPECIALIST)
    assert "voicemail waiting" in alert and only_request(deps).ref in alert


def test_outside_staffed_hours_the_caller_hears_when_we_open_and_can_leave_a_voicemail(
    call: Callable[..., Call], deps: Deps, on_call: StaffMember, clock: Clock
) -> None:
    clock.now = CLOSED_TIME
    c = call()
    c.start()
    twiml = c.press("4")
    assert not twiml.has("Dial") and twiml.has("Record")
    assert "not on the phones" in twiml.text and "Monday at 9:00 AM" in twiml.text
    c.leave_voicemail()
    request = only_request(deps)
    assert request.recording_url == RECORDING


def test_no_one_on_call_during_hours_is_a_missed_specialist(call: Callable[..., Call], deps: Deps) -> None:
    c = call()
    c.start()
    twiml = c.press("4")
    assert not twiml.has("Dial") and twiml.has("Record")
    assert texts(deps, "en", "voice_specialist_missed")[0] in twiml.text


def test_hanging_up_while_the_specialist_rings_still_leaves_an_unconfirmed_request(
    call: Callable[..., Call], deps: Deps, on_call: StaffMember
) -> None:
    c = call()
    c.start()
    c.press("4")
    assert c.hang_up() == 204
    request = only_request(deps)
    assert (request.confirmed, request.topic, request.number) == (False, "specialist", CALLER)


def test_a_recording_that_arrives_after_the_hang_up_still_reaches_the_request(
    call: Callable[..., Call], deps: Deps, redis: Redis
) -> None:
    """Status callbacks may overtake the <Record action> request: the request gains the voicemail."""
    c = call()
    c.start()
    c.press("4")  # nobody on call: the voicemail offer
    c.hang_up()
    assert only_request(deps).confirmed is False
    c.leave_voicemail()
    request = only_request(deps)
    assert (request.recording_url, request.confirmed) == (RECORDING, True)
    assert [entry.what for entry in deps.store.callback_history(request.id)] == ["created", "updated"]
    assert (request.id,) in queued_alerts(redis)


# -- a callback ---------------------------------------------------------------------------------------


def test_five_confirms_the_number_by_its_last_four_digits_then_voicemail_then_the_id_and_wait(
    call: Callable[..., Call], deps: Deps, redis: Redis
) -> None:
    c = call()
    c.start()
    twiml = c.press("5")
    assert f"ending in {spoken(CALLER[-4:])}" in twiml.text
    twiml = c.press("1")
    assert "voicemail" in twiml.text and "Press 1 for yes" in twiml.text
    assert deps.store.all_callbacks() == []
    twiml = c.press("1")
    request = only_request(deps)
    assert (request.number, request.voicemail_ok, request.confirmed, request.topic, request.language) == (
        CALLER,
        True,
        True,
        "callback",
        "en",
    )
    assert f"number {spoken(request.id)}, is booked" in twiml.text
    assert texts(deps, "en", "wait_open")[0] in twiml.text
    assert queued_alerts(redis) == [(request.id,)]
    assert queued_alerts(redis, "confirm_to_requester") == [(request.id,)]
    assert_at_menu(c.press("*"), deps)


def test_after_booking_silence_says_goodbye_instead_of_reprompting(call: Callable[..., Call], deps: Deps) -> None:
    c = call()
    c.start()
    for key in "511":
        c.press(key)
    twiml = c.silence()
    assert twiml.verbs[-1] == "Hangup" and "Goodbye" in twiml.text


def test_another_number_is_taken_as_ten_digits_and_checked_before_booking(
    call: Callable[..., Call], deps: Deps
) -> None:
    c = call()
    c.start()
    c.press("5")
    twiml = c.press("2")
    gather = twiml.one("Gather")
    assert (gather.get("numDigits"), gather.get("input")) == ("10", "dtmf")
    for wrong in ("12345", "1234567890"):  # too short; ten digits but not a real number
        twiml = c.press(wrong)
        assert texts(deps, "en", "voice_callback_number_invalid")[0] in twiml.text
        assert twiml.one("Gather").get("numDigits") == "10"
    c.press(OTHER_NUMBER)
    twiml = c.press("2")
    request = only_request(deps)
    assert (request.number, request.voicemail_ok, request.confirmed) == ("+1" + OTHER_NUMBER, False, True)
    assert spoken(request.id) in twiml.text


def test_a_caller_without_caller_id_is_asked_for_a_number_straight_away(call: Callable[..., Call], deps: Deps) -> None:
    c = call("+266696687")  # how Twilio presents a withheld number
    c.start()
    twiml = c.press("5")
    assert texts(deps, "en", "voice_callback_enter_number")[0] in twiml.text
    c.press(OTHER_NUMBER)
    c.press("1")
    assert only_request(deps).number == "+1" + OTHER_NUMBER


@pytest.mark.parametrize(
    ("keys", "number"),
    [
        pytest.param("5", CALLER, id="at-the-number-check"),
        pytest.param("51", CALLER, id="at-the-voicemail-question"),
        pytest.param("52", CALLER, id="while-typing-another-number"),
        pytest.param("52" + OTHER_NUMBER, "+1" + OTHER_NUMBER, id="after-typing-another-number"),
    ],
)
def test_hanging_up_before_confirming_a_callback_still_leaves_an_unconfirmed_request(
    call: Callable[..., Call], deps: Deps, redis: Redis, keys: str, number: str
) -> None:
    c = call()
    c.start()
    for key in [keys[0], keys[1:2], keys[2:]]:
        if key:
            c.press(key)
    assert deps.store.all_callbacks() == []
    assert c.hang_up() == 204
    request = only_request(deps)
    assert (request.confirmed, request.number, request.channel, request.topic) == (False, number, "voice", "callback")
    assert c.hang_up() == 204  # Twilio repeats the status callback: nothing changes twice
    assert only_request(deps) == request and len(deps.store.callback_history(request.id)) == 1
    assert queued_alerts(redis) == [(request.id,)]
    assert queued_alerts(redis, "confirm_to_requester") == []  # never confirmed: no text to that phone


def test_hanging_up_at_the_menu_or_after_booking_makes_no_extra_request(call: Callable[..., Call], deps: Deps) -> None:
    c = call()
    c.start()
    c.hang_up()
    assert deps.store.all_callbacks() == []
    c = call()
    c.start()
    for key in "511":
        c.press(key)
    c.hang_up()
    request = only_request(deps)
    assert request.confirmed and len(deps.store.callback_history(request.id)) == 1


def test_the_spanish_callback_and_specialist_paths(call: Callable[..., Call], deps: Deps) -> None:
    c = call()
    c.start()
    c.press("9")
    twiml = c.press("5")
    assert f"termina en {spoken(CALLER[-4:])}" in twiml.text
    c.press("1")
    twiml = c.press("2")
    request = only_request(deps)
    assert (request.language, request.voicemail_ok) == ("es", False)
    assert f"número {spoken(request.id)}, está registrada" in twiml.text
    assert texts(deps, "es", "wait_open")[0] in twiml.text
    assert {say.get("language") for say in twiml.says} == {"es-US"}
    c.press("*")
    twiml = c.press("4")  # nobody on call: a voicemail, in Spanish
    assert texts(deps, "es", "voice_specialist_missed")[0] in twiml.text
    assert twiml.has("Record") and {say.get("language") for say in twiml.says} == {"es-US"}


def test_spanish_silence_and_invalid_keys_are_handled_in_spanish(call: Callable[..., Call], deps: Deps) -> None:
    c = call()
    c.start()
    c.press("9")
    assert c.press("7").says[0].text == texts(deps, "es", "voice_not_understood")[0]
    assert c.silence().says[0].text == texts(deps, "es", "voice_not_heard")[0]
    twiml = c.silence()
    assert twiml.has("Record") and twiml.text == texts(deps, "es", "voice_leave_message_after_misses")[0]


# -- crisis, retries and failures --------------------------------------------------------------------


@pytest.mark.parametrize(
    "words",
    ["I think my son took an overdose", "She's not breathing", "My husband keeps talking about suicide"],
)
def test_crisis_words_get_the_emergency_steps_at_once_and_an_urgent_callback(
    call: Callable[..., Call], deps: Deps, redis: Redis, words: str
) -> None:
    c = call()
    c.start()
    twiml = c.say(words)
    first = twiml.says[0].text or ""
    assert first.startswith("Hang up now and call 9 1 1") and "naloxone" in first
    request = only_request(deps)
    assert (request.priority, request.topic) == (Priority.URGENT, "crisis")
    assert spoken(request.id) in twiml.text
    assert_at_menu(twiml, deps)
    assert queued_alerts(redis) == [(request.id,)]
    assert jobs.queue(redis, jobs.URGENT).count >= 1


@pytest.mark.parametrize("words", ["no respira", "creo que mi hijo tiene una sobredosis", "quiero matarme"])
def test_spanish_crisis_words_get_the_spanish_emergency_steps_and_an_urgent_callback(
    call: Callable[..., Call], deps: Deps, words: str
) -> None:
    c = call()
    c.start()
    c.press("9")
    twiml = c.say(words)
    first = twiml.says[0]
    assert first.get("language") == "es-US" and (first.text or "").startswith("Cuelgue ahora y llame al 9 1 1")
    assert only_request(deps).priority is Priority.URGENT


def test_crisis_words_in_the_middle_of_a_callback_make_it_urgent_and_keep_the_question(
    call: Callable[..., Call], deps: Deps
) -> None:
    c = call()
    c.start()
    c.press("5")
    c.press("1")
    twiml = c.say("he is not breathing")
    assert (twiml.says[0].text or "").startswith("Hang up now and call 9 1 1")
    assert texts(deps, "en", "voice_callback_voicemail")[0] in twiml.text
    assert only_request(deps).priority is Priority.URGENT


def test_a_retried_step_gets_the_same_twiml_and_changes_nothing_twice(
    call: Callable[..., Call], deps: Deps, redis: Redis
) -> None:
    c = call()
    first = c.start()
    assert c.repeat_last().body == first.body
    c.press("5")
    c.press("1")
    booked = c.press("1")
    request = only_request(deps)
    again = c.repeat_last()
    assert again.body == booked.body
    assert only_request(deps) == request and len(deps.store.callback_history(request.id)) == 1
    assert queued_alerts(redis) == [(request.id,)]
    assert queued_alerts(redis, "confirm_to_requester") == [(request.id,)]  # once, not per retry


def test_call_state_is_kept_per_call_for_a_day_and_never_holds_the_caller_number(
    call: Callable[..., Call], deps: Deps, redis: Redis
) -> None:
    c = call()
    c.start()
    c.press("5")
    key = f"helpline:call:{c.sid}"
    assert 0 < redis.ttl(key) <= 86400
    for name in redis.scan_iter():
        assert CALLER[2:] not in name.decode()
        if redis.type(name) == b"string" and not name.decode().startswith("helpline:callback"):
            assert CALLER[2:].encode() not in (redis.get(name) or b"")


@pytest.fixture
def broken_client(settings: Settings, clock: Clock) -> Iterator[FlaskClient]:
    """The app with a Redis that does not answer."""
    dead = Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    yield create_app(settings, build_deps(settings, dead, clock)).test_client()
    dead.close()


def test_a_failure_inside_answers_a_spoken_apology_with_911_never_a_500(
    broken_client: FlaskClient, call: Callable[..., Call]
) -> None:
    form = call().form()
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC_BASE_URL}/voice", form)
    response = broken_client.post("/voice", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200 and response.mimetype == "text/xml"
    root = ET.fromstring(response.get_data())
    spoken_text = " ".join(say.text or "" for say in root.iter("Say"))
    assert "Sorry" in spoken_text and "call 9 1 1" in spoken_text
    assert [child.tag for child in root][-1] == "Hangup"
