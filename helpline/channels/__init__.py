"""Twilio at the edge: signature checks, form -> Inbound, actions -> TwiML. Twilio's words live here."""

from __future__ import annotations

import logging

from flask import Blueprint, Response, current_app
from werkzeug.exceptions import HTTPException

from helpline.config import Settings
from helpline.deps import Deps

logger = logging.getLogger(__name__)


def current_deps() -> Deps:
    return current_app.extensions["helpline"]  # type: ignore[no-any-return]


def current_settings() -> Settings:
    return current_deps().settings


def answer_failures_with(bp: Blueprint, safe_twiml: str) -> None:
    """A Twilio route never returns a 500: HTTP errors (403, 400) pass through; anything else is
    logged and answered with `safe_twiml` (an apology and the emergency numbers)."""

    @bp.errorhandler(Exception)
    def safe_reply(error: Exception) -> Response | HTTPException:
        if isinstance(error, HTTPException):
            return error
        logger.exception("%s webhook failed; answered with the safe reply", bp.name)
        return Response(safe_twiml, mimetype="text/xml")
