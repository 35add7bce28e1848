"""``nodewatch health [--worker]``: the probe of the image's HEALTHCHECK and of the Kubernetes manifests.

Without ``--worker``: the config loads and Redis answers (any role: beat, Flower, the dashboard). With
``--worker``: this host's worker ran its consumer loop within ``--max-age`` — the loop that fetches tasks from
Redis writes a heartbeat (worker/state/workers.py), so a worker whose PID lives while its loop is stuck fails.
``--tolerate-redis-outage`` (the liveness probe) passes when Redis cannot be reached: restarting every worker
because Redis is away would not bring it back, and workers wait for Redis by design (worker/app.py).
Exit 0 healthy, 1 not, 2 bad config, 3 Redis not there.
"""

from __future__ import annotations

import argparse
import socket
import time
from typing import Any

import redis

from worker.cli import common, durations


def cmd_health(args: argparse.Namespace) -> int:
    common.load_config(args)
    try:
        stores = common.stores()
        stores.client.ping()
        last = stores.workers.last_beat(args.hostname) if args.worker else None
    except redis.RedisError as err:
        if args.tolerate_redis_outage:
            print(
                f"healthy as far as can be told: Redis at {common.redis_where()} unreachable ({type(err).__name__})"
            )
            return common.EXIT_OK
        raise
    if not args.worker:
        print(f"healthy: config loads, Redis at {common.redis_where()} answers")
        return common.EXIT_OK
    if last is None:
        return common.fail(f"worker {args.hostname}: no heartbeat in Redis (not started, or stuck for long)")
    age = max(0.0, time.time() - last)
    if age > args.max_age:
        return common.fail(
            f"worker {args.hostname}: consumer loop last ran {age:.0f}s ago (more than --max-age {args.max_age:g}s)"
        )
    print(f"healthy: worker {args.hostname} consumer loop ran {age:.1f}s ago")
    return common.EXIT_OK


def add_parsers(sub: Any, common_args: argparse.ArgumentParser) -> None:
    h = sub.add_parser(
        "health", parents=[common_args], help="probe: config loads and Redis answers; --worker: it consumes"
    )
    h.add_argument("--worker", action="store_true", help="check this host's worker heartbeat")
    h.add_argument(
        "--hostname",
        default=f"celery@{socket.gethostname()}",
        help="the worker's node name (default: celery@HOSTNAME, what `nodewatch worker` uses)",
    )
    h.add_argument(
        "--max-age", type=durations.flag(bare="s"), default=60.0, help="oldest heartbeat still healthy (60s)"
    )
    h.add_argument(
        "--tolerate-redis-outage",
        action="store_true",
        help="pass when Redis cannot be reached (liveness: a restart would not bring Redis back)",
    )
    h.set_defaults(func=cmd_health)
