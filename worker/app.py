"""The Celery app: broker, queues, routes, serialisation and limits. Tasks live in ``tasks/``.

Why each setting is what it is:
- JSON only: task arguments are names and ids, and pickle from a shared broker would be code execution.
- No result backend: nothing reads task results; state that matters lives in Redis behind worker/state.
- ``visibility_timeout`` (2 h) is larger than the longest retry countdown (capped at 15 min), so the Redis
  transport never redelivers a task that is merely waiting for its retry. It is also how long a notification
  waits when its whole worker died (host lost, SIGKILL, OOM): Redis hands it to another worker only then.
  ``NODEWATCH_VISIBILITY_TIMEOUT`` (seconds) shortens it; ``nodewatch worker`` refuses a value not longer than
  ``notify.maxRetryDelay``.
- Scans: prefetch 1 so one slow cluster never holds others in a worker's buffer; each is sent with a countdown
  to its due time and ``expires`` one interval after it, so a backlog never replays stale scans.
- Redis going away: workers retry the broker connection forever (``broker_connection_max_retries=None``);
  beat's scheduler and the workers' Redis transport (worker/outage.py) wait and reconnect; beat retakes its lock
  and installs its schedule again. Either picks up where it was when Redis answers.
- Notify: ``acks_late`` + ``reject_on_worker_lost`` so a worker killed mid-send redelivers the message; the delivery
  log in Redis makes the redelivery not send twice in the common case.
"""

from __future__ import annotations

import os

from celery import Celery
from kombu import Queue
from kombu import transport as kombu_transport

from worker.state import keys

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
VISIBILITY_TIMEOUT = 2 * 3600

QUEUES = ("control", "scan", "notify")
BEAT_SCHEDULER = "worker.outage:Scheduler"
# kombu resolves a broker URL's scheme through this table: redis:// gets kombu's Redis transport with the fix of
# worker/outage.py (a worker survives losing Redis while it holds messages); URLs and logs read as before
REDIS_TRANSPORT = "worker.outage:Transport"
kombu_transport.TRANSPORT_ALIASES.update(redis=REDIS_TRANSPORT, rediss=REDIS_TRANSPORT)


VISIBILITY_TIMEOUT_ENV = "NODEWATCH_VISIBILITY_TIMEOUT"


def redis_url() -> str:
    return os.environ.get("REDIS_URL", DEFAULT_REDIS_URL)


def visibility_timeout() -> float:
    """Seconds before an unacknowledged task of a dead worker goes to another; ValueError names the variable."""
    raw = os.environ.get(VISIBILITY_TIMEOUT_ENV, "").strip()
    if not raw:
        return VISIBILITY_TIMEOUT
    try:
        value = float(raw)
    except ValueError:
        raise ValueError(f"{VISIBILITY_TIMEOUT_ENV}={raw!r} is not a number of seconds") from None
    if value <= 0:
        raise ValueError(f"{VISIBILITY_TIMEOUT_ENV}={raw!r} must be > 0 seconds")
    return value


def transport_options(timeout: float) -> dict[str, float]:
    # a worker looks for expired unacked tasks every unacked_restore_interval x 10 (kombu's throttle) seconds,
    # 100 s by default: a shortened timeout shortens that too, down to 10 s
    sweep = max(1, min(10, int(timeout // 40)))
    return {"visibility_timeout": timeout, "unacked_restore_interval": sweep}


def _visibility_or_default() -> float:
    # the app is built at import, before a CLI can report a bad value: `nodewatch worker` checks it first
    try:
        return visibility_timeout()
    except ValueError:
        return VISIBILITY_TIMEOUT


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
        broker_connection_max_retries=None,  # a worker waits for Redis as long as it takes, never gives up
        broker_transport_options=transport_options(_visibility_or_default()),
        worker_hijack_root_logger=False,
        worker_send_task_events=True,  # Flower
        task_send_sent_event=True,
        timezone="UTC",
        enable_utc=True,
        # one beat at a time: RedBeat holds a Redis lock and keeps due times in Redis (worker/outage.py keeps it
        # going when Redis goes away). Its Redis URL is set in the beat process only (install_beat_schedule): a
        # worker's conf is what Flower shows, and only broker_url is masked there.
        beat_scheduler=BEAT_SCHEDULER,
        redbeat_key_prefix=keys.REDBEAT_PREFIX,
        redbeat_lock_timeout=30,
        beat_max_loop_interval=5,
    )
    return app


app = make_app()


def install_beat_schedule(celery_app: Celery, tick_seconds: float) -> None:
    import beat_schedule

    celery_app.conf.beat_schedule = beat_schedule.build(tick_seconds)
    celery_app.conf.redbeat_redis_url = celery_app.conf.broker_url
