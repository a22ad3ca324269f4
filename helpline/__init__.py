"""helpline: an SMS and voice helpline bot. `create_app(settings)` builds the Flask app.

Nothing runs at import time.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, jsonify
from werkzeug.middleware.proxy_fix import ProxyFix

from helpline.config import Settings
from helpline.deps import Deps, build_deps

logger = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, deps: Deps | None = None) -> Flask:
    """Build the app. Refuses to start (ConfigError, FlowError) on bad settings or flows."""
    settings = (settings or Settings.from_env()).check()
    app = Flask(__name__)
    app.config.update(SECRET_KEY=settings.secret_key, MAX_CONTENT_LENGTH=256 * 1024)
    if settings.trusted_proxies:
        n = settings.trusted_proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n, x_prefix=n)  # type: ignore[method-assign]
    app.extensions["helpline"] = deps or build_deps(settings)

    from helpline.channels import twilio_sms, twilio_voice

    app.register_blueprint(twilio_sms.bp)
    app.register_blueprint(twilio_voice.bp)  # its error handler answers safe TwiML, never a 500

    @app.get("/healthz")
    def healthz() -> Response:
        return jsonify(status="ok")

    @app.get("/readyz")
    def readyz() -> tuple[Response, int]:
        try:
            app.extensions["helpline"].store.ping()
        except Exception:  # any Redis failure means not ready
            logger.warning("readiness check: Redis does not answer")
            return jsonify(status="unavailable", redis="down"), 503
        return jsonify(status="ok", redis="up"), 200

    return app
