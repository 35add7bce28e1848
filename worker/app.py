"""The Celery app: broker, queues, routes, serialisation and limits. Tasks live in ``tasks/``.

Why each setting is what it is:
- JSON only: task arguments are names and ids, and pickle from a shared broker would be code execution.
- No result backend: nothing reads task results; state that matters lives in Redis behind worker/state.
- ``visibility_timeout`` (2 h) is larger than the longest retry countdown (capped at 15 min), so the Redis
  transport never redelivers a task that is merely waiting for its retry.
- Scans: prefetch 1 so one slow cluster never holds others in a worker's buffer; ``expires`` is set per
  call to the cluster's interval, so a backlog never replays stale scans.
- Notify: ``acks_late`` + ``reject_on_worker_lost`` so a worker killed mid-send redelivers the message; the delivery
  log in Redis makes the redelivery not send twice in the common case.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue

from worker.state import keys

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
VISIBILITY_TIMEOUT = 2 * 3600
MAX_RETRY_DELAY = 15 * 60

QUEUES = ("control", "scan", "notify")


def redis_url() -> str:
    return os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)


def make_app(broker_url: str | None = None) -> Celery:
    url = broker_url or redis_url()
    app = Celery(
        "nodewatch", broker=url, include=["tasks.scan", "tasks.notify", "tasks.dispatch", "tasks.forget"]
    )
    app.conf.update(
        task_serializer="json",
        accept_content=["json"],
        result_serializer="json",
        result_backend=None,
        task_ignore_result=True,
        task_queues=[Queue(q) for q in QUEUES],
        task_default_queue="control",
        task_routes={
            "tasks.dispatch": {"queue": "control"},
            "tasks.forget_cluster": {"queue": "control"},
            "tasks.scan_cluster": {"queue": "scan"},
            "tasks.notify": {"queue": "notify"},
        },
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": VISIBILITY_TIMEOUT},
        worker_hijack_root_logger=False,
        worker_send_task_events=True,  # Flower
        task_send_sent_event=True,
        timezone="UTC",
        enable_utc=True,
        # one beat at a time: RedBeat holds a Redis lock and keeps due times in Redis
        beat_scheduler="redbeat.RedBeatScheduler",
        redbeat_redis_url=url,
        redbeat_key_prefix=keys.REDBEAT_PREFIX,
        redbeat_lock_timeout=30,
        beat_max_loop_interval=5,
    )
    return app


app = make_app()


def install_beat_schedule(celery_app: Celery, tick_seconds: float) -> None:
    import beat_schedule

    celery_app.conf.beat_schedule = beat_schedule.build(tick_seconds)
