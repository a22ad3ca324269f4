"""RQ worker entry: `python worker.py [--burst]`. Listens to the urgent queue first, scheduler on.

RQ's defaults notice a worker killed mid-job only after 1.5 to 11.5 minutes. For a crisis line we
shorten the worker's TTL, heartbeat and maintenance intervals (WORKER_* settings), and every
maintenance pass also sweeps for alerts whose job was lost (jobs.sweep_lost_alerts), so a lost
alert goes out again within ALERT_SWEEP_AFTER plus one maintenance interval.
"""

from __future__ import annotations

import argparse
import logging

from redis import Redis
from rq import Worker

from helpline import jobs
from helpline.config import Settings

logger = logging.getLogger("helpline.worker")


class HelplineWorker(Worker):
    """An RQ Worker whose maintenance pass also re-queues lost staff alerts."""

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        try:
            jobs.sweep_lost_alerts()
        except Exception:  # an exception here would stop the worker: log it, the next pass tries again
            logger.exception("sweep for lost alerts failed")


def build_worker(settings: Settings, redis: Redis) -> HelplineWorker:
    return HelplineWorker(
        [jobs.queue(redis, jobs.URGENT), jobs.queue(redis, jobs.DEFAULT)],
        connection=redis,
        worker_ttl=int(settings.worker_ttl.total_seconds()),
        job_monitoring_interval=max(1, int(settings.worker_job_monitoring_interval.total_seconds())),
        maintenance_interval=max(1, int(settings.worker_maintenance_interval.total_seconds())),
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Run the helpline's RQ worker.")
    parser.add_argument("--burst", action="store_true", help="drain the queues and exit (as rq worker --burst)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.from_env()
    redis = Redis.from_url(settings.redis_url)
    jobs.set_job_context(jobs.build_context(settings, redis))  # once per process; forked jobs inherit it
    build_worker(settings, redis).work(burst=args.burst, with_scheduler=True)


if __name__ == "__main__":
    main()
