"""Beat's scheduler and the worker's consumer, made to outlive Redis going away (and coming back, maybe empty).

``Scheduler`` is RedBeat's (one beat at a time, the schedule in Redis). RedBeat alone ends ``celery beat`` on the
first Redis error ("beat raised exception ConnectionError"), and a Redis restarted empty has lost its lock and its
schedule, so a beat that merely kept running would tick nothing. Here:

- a tick that cannot reach Redis (or finds it full, or read-only) logs one warning and is tried again after a backoff (1 s doubling up to
  ``BACKOFF_MAX_S``); beat never exits for it, also not when Redis is down at start;
- a lock Redis no longer holds for us (restarted, or away longer than the lock's timeout) is taken again without
  blocking: while another beat holds it, this one stays idle, as a second beat does at start;
- after the lock is taken again the static schedule (the dispatcher tick) is installed again;
- each tick checks the state's epoch (``Store.check_epoch``): one that changed or vanished means Redis lost
  nodewatch's state, which is recorded so that the next messages say they may repeat earlier ones.

``Transport`` is kombu's Redis transport for the workers. A worker that loses Redis while it holds unacknowledged
messages (nearly always: scans wait for their due time in the worker) has kombu close the lost connection's channel
a second time, after letting go of the connection, and restore those messages through it; a task that was running
when Redis went away acknowledges through it later. Both raised ``AttributeError`` and ended the worker
("Unrecoverable error"); here they raise a connection error, which Celery handles: it reconnects, or logs that the
acknowledgement failed. Such a message stays in Redis's unacknowledged set and comes back after the visibility
timeout (``NODEWATCH_VISIBILITY_TIMEOUT``); a notification the delivery log has seen is not sent twice.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis
from celery import beat as celery_beat
from kombu.transport import redis as kombu_redis
from redbeat import schedulers as redbeat

from worker.state import epoch, store

log = logging.getLogger("nodewatch.outage")

BACKOFF_MAX_S = 10.0
REDIS_DOWN = (redis.ConnectionError, redis.TimeoutError)
# full (maxmemory with noeviction, as shipped) or a replica after a failover: wait as for one that is down
REDIS_REFUSING = (redis.exceptions.OutOfMemoryError, redis.exceptions.ReadOnlyError)


class Scheduler(redbeat.RedBeatScheduler):
    """``beat_scheduler = "worker.outage:Scheduler"`` (worker/app.py)."""

    def __init__(self, app: Any, *args: Any, **kwargs: Any) -> None:
        self._installed = False
        self._backoff = 0.0
        self._epoch: str | None = None  # the state's epoch as this beat last saw it (Store.check_epoch)
        self._epoch_seen_at = 0.0
        self._epochs: epoch.EpochStore | None = None
        super().__init__(app, *args, **kwargs)

    # --- start: Redis may be away ---
    def setup_schedule(self) -> None:
        try:
            self._install()
        except (*REDIS_DOWN, *REDIS_REFUSING) as err:
            log.warning(
                "beat: Redis unavailable at start (%s); the schedule is installed when it answers", err
            )

    def _install(self) -> None:
        super().setup_schedule()
        self._installed = True

    # --- every tick ---
    def tick(self, min: Any = min, **kwargs: Any) -> float:  # Celery's signature
        try:
            if not self._ready():
                return float(self.max_interval)
            self._check_epoch()
            interval: float = super().tick(min=min, **kwargs)
        except (*REDIS_DOWN, *REDIS_REFUSING) as err:
            self._backoff = BACKOFF_MAX_S if self._backoff * 2 > BACKOFF_MAX_S else (self._backoff * 2 or 1.0)
            log.warning("beat: Redis unavailable (%s); trying again in %.0fs", err, self._backoff)
            return self._backoff
        except redis.exceptions.LockError as err:
            # the lock expired while Redis was away, or Redis lost it: another beat may hold it by now
            log.warning("beat: lost the beat lock (%s); taking it again", err)
            self.lock = None
            return 1.0
        if self._backoff:
            log.warning("beat: Redis answers again; scheduling resumed")
            self._backoff = 0.0
        return interval

    def _ready(self) -> bool:
        """Hold the lock (taken again without blocking when lost) and the installed schedule."""
        if self.lock_key and self.lock is None:
            client = redbeat.get_redis(self.app)
            lock = client.lock(self.lock_key, timeout=self.lock_timeout, sleep=self.max_interval)
            lock.lua_extend = client.register_script(redbeat.LUA_EXTEND_TO_SCRIPT)  # as RedBeat does
            if not lock.acquire(blocking=False):
                log.debug("beat: another beat holds the lock; waiting")
                return False
            log.warning("beat: acquired the beat lock")
            self.lock = lock
            self._installed = False  # whatever lost the lock may have lost the schedule too
        if not self._installed:
            self._install()
        return True

    def _check_epoch(self) -> None:
        if self._epochs is None:
            self._epochs = epoch.EpochStore(store.connect(self.app.redbeat_conf.redis_url))
        now = time.time()
        seen = self._epochs.check(self._epoch, self._epoch_seen_at, now)
        if self._epoch is not None and seen != self._epoch:
            log.error(
                "beat: nodewatch's state in Redis was lost (epoch %s is now %s): alerts, silences and acks are "
                "gone; alerts still true are sent again, saying so",
                self._epoch,
                seen,
            )
        self._epoch, self._epoch_seen_at = seen, now

    # --- stop: Redis may be away ---
    def close(self) -> None:
        try:
            super().close()
        except (*REDIS_DOWN, redis.exceptions.LockError) as err:
            log.warning("beat: could not release the lock (%s); it expires by itself", err)
            self.lock = None
            celery_beat.Scheduler.close(self)


class Channel(kombu_redis.Channel):  # type: ignore[misc]
    """Kombu's Redis channel. Used after its connection was let go, it raises a connection error (Celery logs it,
    or reconnects) where kombu's raises ``AttributeError`` (which ends the worker)."""

    def _connparams(self, asynchronous: bool = False) -> dict[str, Any]:
        if self.connection.client is None:
            raise redis.ConnectionError("the connection to Redis was lost; this channel belonged to it")
        params: dict[str, Any] = super()._connparams(asynchronous=asynchronous)
        return params


class Transport(kombu_redis.Transport):  # type: ignore[misc]
    """``redis://`` and ``rediss://`` broker URLs resolve to this (``TRANSPORT_ALIASES``, set by worker/app.py)."""

    Channel = Channel
