"""RQ jobs and how they are queued. Jobs take ids, re-read state and are safe to run twice.

Queue names are constants; worker.py listens to URGENT first.
"""

from __future__ import annotations

import logging

from redis import Redis
from redis.client import Pipeline
from rq import Queue, Retry

from helpline.callbacks import CallbackRequest

logger = logging.getLogger(__name__)

URGENT = "urgent"
DEFAULT = "default"
ALERT_RETRY = Retry(max=5, interval=[5, 15, 30, 60, 120])


def queue(redis: Redis, name: str) -> Queue:
    return Queue(name, connection=redis)


def enqueue_alert(redis: Redis, request: CallbackRequest, pipeline: Pipeline | None = None) -> None:
    """Queue the staff alert for a request (inside the caller's transaction when `pipeline` is given)."""
    name = URGENT if request.is_urgent else DEFAULT
    queue(redis, name).enqueue(
        alert_on_call, request.id, retry=ALERT_RETRY, pipeline=pipeline, description=f"alert {request.ref}"
    )


def alert_on_call(callback_id: int) -> None:
    """Text the on-call specialist about a callback request. RQ retries on transient failure."""
    logger.info("alert for #%s queued; staff alerts arrive with the callback feature", callback_id)
