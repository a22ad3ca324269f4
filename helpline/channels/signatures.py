"""Every Twilio route is wrapped in `require_twilio_signature`: no valid signature, no entry (403)."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any, TypeVar

from flask import abort, request
from twilio.request_validator import RequestValidator

from helpline.channels import current_settings
from helpline.config import Settings

logger = logging.getLogger(__name__)
F = TypeVar("F", bound=Callable[..., Any])


def signed_url(settings: Settings) -> str:
    """The URL Twilio signed: the configured public base URL + path and query, else the request URL.

    Behind a proxy `request.url` is the internal URL; ProxyFix (TRUSTED_PROXIES) corrects it only
    when a trusted proxy is configured.
    """
    if settings.public_base_url:
        query = request.query_string.decode("latin-1")
        return f"{settings.public_base_url}{request.path}" + (f"?{query}" if query else "")
    return request.url


def require_twilio_signature(view: F) -> F:
    """Abort with 403 unless X-Twilio-Signature matches the URL and every POST parameter."""

    @functools.wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        settings = current_settings()
        signature = request.headers.get("X-Twilio-Signature", "")
        validator = RequestValidator(settings.twilio_auth_token)
        if not signature or not validator.validate(signed_url(settings), request.form, signature):
            logger.warning(
                "rejected a webhook with a %s signature on %s", "bad" if signature else "missing", request.path
            )
            abort(403)
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]
