"""Actions -> TwiML, always through the twilio SDK's builders, never string templates.

One render function per channel: render_sms(texts), render_voice(actions, next_url).
"""

from __future__ import annotations

from collections.abc import Iterable

from flask import Response
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import Gather, VoiceResponse

from helpline.core.actions import Action, Dial, Hangup, Listen, Record, Say

#: Text-to-speech voice per Say language: the default voice does not speak every locale (es-US).
VOICES = {"en-US": "Polly.Joanna", "es-US": "Polly.Lupe"}
#: Seconds of silence that end a voicemail.
RECORD_SILENCE_S = 5


def render_sms(texts: list[str]) -> str:
    """One <Message> per text; no texts is an empty <Response/>."""
    response = MessagingResponse()
    for text in texts:
        response.message(text)
    return str(response)


def render_voice(actions: Iterable[Action], next_url: str) -> str:
    """Voice actions as TwiML. Every follow-up (Gather, Redirect, Dial, Record) posts to `next_url`.

    The Says before a Listen go inside its <Gather>, so a caller can answer without waiting; a
    <Redirect> after the Gather is what Twilio follows on silence (and after an empty recording). A
    turn that waits for nothing ends in <Hangup>.
    """
    response = VoiceResponse()
    says: list[Say] = []
    waits = ended = False
    for action in actions:
        match action:
            case Say():
                says.append(action)
            case Listen():
                gather = response.gather(
                    input="dtmf speech" if action.speech else "dtmf",
                    action=next_url,
                    method="POST",
                    num_digits=action.digits,
                    timeout=action.timeout_s,
                    speech_timeout="auto" if action.speech else None,
                    hints=", ".join(dict.fromkeys(action.hints)) if action.speech and action.hints else None,
                    language=action.language,
                )
                _speak(gather, says)
                response.redirect(next_url, method="POST")
                waits = True
            case Dial():
                _speak(response, says)
                response.dial(
                    action.number,
                    action=next_url,
                    method="POST",
                    timeout=action.timeout_s,
                    caller_id=action.caller_id or None,
                )
                waits = True
            case Record():
                _speak(response, says)
                response.record(
                    action=next_url,
                    method="POST",
                    max_length=action.max_length_s,
                    play_beep=True,
                    timeout=RECORD_SILENCE_S,
                    finish_on_key="#",
                )
                response.redirect(next_url, method="POST")
                waits = True
            case Hangup():
                _speak(response, says)
                response.hangup()
                ended = True
    _speak(response, says)
    if not (waits or ended):
        response.hangup()
    return str(response)


def _speak(parent: VoiceResponse | Gather, says: list[Say]) -> None:
    """Add the pending Says to `parent` and clear them."""
    for say in says:
        parent.say(say.text, language=say.language, voice=VOICES.get(say.language))
    says.clear()


def twiml_response(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/xml")
