"""RQ worker entry: `python worker.py [--burst]`. Listens to the urgent queue first, scheduler on."""

from __future__ import annotations

import argparse
import logging

from redis import Redis
from rq import Worker

from helpline import jobs
from helpline.config import Settings


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the helpline's RQ worker.")
    parser.add_argument("--burst", action="store_true", help="drain the queues and exit (as rq worker --burst)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    redis = Redis.from_url(settings.redis_url)
    worker = Worker([jobs.queue(redis, jobs.URGENT), jobs.queue(redis, jobs.DEFAULT)], connection=redis)
    worker.work(burst=args.burst, with_scheduler=True)


if __name__ == "__main__":
    main()
