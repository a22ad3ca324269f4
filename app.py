"""WSGI entry point: `gunicorn app:app`."""

from helpline import create_app

app = create_app()
