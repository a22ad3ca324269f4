"""Actions -> TwiML, always through the twilio SDK's builders, never string templates."""

from __future__ import annotations

from flask import Response
from twilio.twiml.messaging_response import MessagingResponse


def render_sms(texts: list[str]) -> str:
    """One <Message> per text; no texts is an empty <Response/>."""
    response = MessagingResponse()
    for text in texts:
        response.message(text)
    return str(response)


def twiml_response(body: str, status: int = 200) -> Response:
    return Response(body, status=status, mimetype="text/xml")
