"""``nodewatch worker|beat|flower|demo``: the long-running processes, each started in this process."""

from __future__ import annotations

import argparse
import errno
import os
from typing import Any

from worker import settings
from worker.cli import common, durations


def _celery(cfg: settings.Settings, argv: list[str]) -> int:
    """Run a Celery subcommand on our app in this process (signals reach Celery directly)."""
    from worker.app import app, install_beat_schedule

    if argv[0] == "beat":
        install_beat_schedule(app, cfg.dispatch_tick)
    app.start(argv)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    from worker.app import VISIBILITY_TIMEOUT_ENV, visibility_timeout

    try:
        timeout = visibility_timeout()
    except ValueError as err:
        raise common.CliError(str(err), common.EXIT_CONFIG) from None
    if timeout <= cfg.notify.max_retry_delay:
        raise common.CliError(
            f"{VISIBILITY_TIMEOUT_ENV} ({timeout:g} s) must be longer than notify.maxRetryDelay "
            f"({cfg.notify.max_retry_delay:g} s): a notification waiting for its retry would go to a second worker",
            common.EXIT_CONFIG,
        )
    argv = [
        "worker",
        "-Q",
        args.queues,
        "-c",
        str(args.concurrency),
        "--loglevel",
        cfg.log_level.upper(),
        "-E",
    ]
    if args.hostname:
        argv += ["-n", args.hostname]
    if args.pool:
        argv += ["-P", args.pool]
    _serve_metrics(cfg, args.metrics_port if args.metrics_port is not None else cfg.metrics_port)
    _watch(cfg)
    return _celery(cfg, argv)


def _watch(cfg: settings.Settings) -> None:
    """The worker's own watchdog (worker/watchdog.py), so that a dead beat is noticed: a thread started once the
    worker is ready (its pool's children already forked), stopped with it."""
    if cfg.watchdog.stale_intervals <= 0 and not cfg.watchdog.heartbeat_interval:
        return
    import threading

    from celery import signals

    from tasks.notify import enqueue
    from worker import watchdog
    from worker.app import redis_url
    from worker.state import store

    stop = threading.Event()

    def start(**_: Any) -> None:
        stores = store.Stores(store.connect(redis_url()))
        threading.Thread(
            target=watchdog.run_forever, args=(stores, cfg, enqueue, stop), name="watchdog", daemon=True
        ).start()

    signals.worker_ready.connect(start, weak=False)
    signals.worker_shutdown.connect(lambda **_: stop.set(), weak=False)


def _serve_metrics(cfg: settings.Settings, port: int | None) -> None:
    """/metrics from a thread of the worker's main process (its pool's children do not serve): the same figures
    as the dashboard's, read from Redis at each scrape."""
    if not port:
        return
    from worker import metrics
    from worker.app import redis_url
    from worker.state import store

    try:
        metrics.serve(store.Stores(store.connect(redis_url())), cfg, port, cfg.metrics.address)
    except OSError as err:
        raise common.CliError(
            f"metrics cannot listen on {cfg.metrics.address}:{port}: {err.strerror}", common.EXIT_UNAVAILABLE
        ) from None


def cmd_beat(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    from worker.app import BEAT_SCHEDULER

    return _celery(cfg, ["beat", "--loglevel", cfg.log_level.upper(), "-S", BEAT_SCHEDULER])


def cmd_flower(args: argparse.Namespace) -> int:
    """Flower in this process: no child to outlive a SIGTERM, and the broker URL (with the Redis password) comes
    from $REDIS_URL, never from a command line that ``ps`` shows."""
    common.load_config(args)
    auth = args.basic_auth or os.environ.get("FLOWER_BASIC_AUTH")
    if not auth:
        raise common.CliError(
            "flower needs --basic-auth USER:PASSWORD (or FLOWER_BASIC_AUTH)", common.EXIT_CONFIG
        )
    os.environ["FLOWER_BASIC_AUTH"] = auth  # Flower reads its FLOWER_* options from the environment
    from worker.app import app

    try:
        app.start(["flower", f"--port={args.port}", f"--address={args.address}"])
    except OSError as err:
        if err.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        raise common.CliError(
            f"flower cannot listen on {args.address}:{args.port}: {err.strerror}", common.EXIT_UNAVAILABLE
        ) from None
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from worker.cli import demo

    return demo.run(args)


def add_parsers(sub: Any, common_args: argparse.ArgumentParser) -> None:
    w = sub.add_parser("worker", parents=[common_args], help="run a Celery worker (scan + notify)")
    w.add_argument("--queues", default="control,scan,notify")
    w.add_argument("--concurrency", type=int, default=4)
    w.add_argument("--hostname", help="Celery node name, e.g. worker1@%%h")
    w.add_argument("--pool", help="Celery pool (prefork, threads, solo)")
    w.add_argument(
        "--metrics-port", type=int, help="serve Prometheus /metrics on this port (config metricsPort; 0: off)"
    )
    w.set_defaults(func=cmd_worker)

    sub.add_parser("beat", parents=[common_args], help="run the scheduler (one at a time)").set_defaults(
        func=cmd_beat
    )

    fl = sub.add_parser(
        "flower", parents=[common_args], help="run Flower on the same broker (basic auth required)"
    )
    fl.add_argument("--port", type=int, default=5555)
    fl.add_argument("--address", default="127.0.0.1")
    fl.add_argument("--basic-auth", help="USER:PASSWORD (or $FLOWER_BASIC_AUTH)")
    fl.set_defaults(func=cmd_flower)

    d = sub.add_parser(
        "demo", parents=[common_args], help="run everything locally against a simulated cluster"
    )
    d.add_argument(
        "--duration",
        type=durations.flag(bare="s"),
        help="stop by itself after this long and print a summary: SECONDS, or e.g. 3m",
    )
    d.add_argument("--kubeconfig", help="watch a real cluster instead of kubesim")
    d.add_argument("--context")
    d.add_argument("--no-flower", action="store_true")
    d.add_argument("--flower-port", type=int, default=5555)
    d.add_argument("--no-dashboard", action="store_true")
    d.add_argument("--dashboard-port", type=int, default=8080, help="0: any free port")
    d.add_argument("--language", choices=["zh", "en"], default=None)
    d.set_defaults(func=cmd_demo)
