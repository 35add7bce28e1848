"""The ``nodewatch`` command: worker, beat, flower, scan, demo, config check, version, deadletters.

Every subcommand takes ``--config FILE`` (or $NODEWATCH_CONFIG). A bad config exits with code 2 and one line naming
the file and the key, before anything starts.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import json
import os
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import redis
from kombu.exceptions import OperationalError as BrokerError
from kombu.utils.url import maybe_sanitize_url

from worker import cli_alerts, settings

EXIT_CONFIG = 2
EXIT_UNAVAILABLE = 3  # Redis (or Flower's port) not there: nothing wrong with the command, try again later


def _version() -> str:
    try:
        return metadata.version("nodewatch")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def load_config(args: argparse.Namespace) -> settings.Settings:
    """Load and validate, exporting the path so child processes (Celery) load the same file."""
    path = getattr(args, "config", None) or os.environ.get(settings.ENV_CONFIG)
    try:
        cfg = settings.load(path)
    except settings.ConfigError as err:
        print(f"nodewatch: config error: {err}", file=sys.stderr)
        raise SystemExit(EXIT_CONFIG) from None
    if path:
        os.environ[settings.ENV_CONFIG] = os.path.abspath(path)
    return cfg


def cmd_version(args: argparse.Namespace) -> int:
    print(f"nodewatch {_version()}")
    return 0


def cmd_config_check(args: argparse.Namespace) -> int:
    if args.file:
        args.config = args.file
    cfg = load_config(args)
    receivers = ", ".join(cfg.receivers()) or "none"
    print(
        f"config OK: {len(cfg.clusters)} cluster(s) in file, receivers: {receivers}, "
        f"interval {cfg.check_interval:g}s, cooldown {cfg.alert_cooldown:g} min, language {cfg.language}"
    )
    return 0


def _celery(argv: list[str]) -> int:
    """Run a Celery subcommand on our app in this process (signals reach Celery directly)."""
    from worker.app import app, install_beat_schedule

    if argv[0] == "beat":
        install_beat_schedule(app, settings.current().dispatch_tick)
    app.start(argv)
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    from worker.app import VISIBILITY_TIMEOUT_ENV, visibility_timeout

    try:
        timeout = visibility_timeout()
    except ValueError as err:
        print(f"nodewatch: {err}", file=sys.stderr)
        return EXIT_CONFIG
    if timeout <= cfg.notify.max_retry_delay:
        print(
            f"nodewatch: {VISIBILITY_TIMEOUT_ENV} ({timeout:g} s) must be longer than notify.maxRetryDelay "
            f"({cfg.notify.max_retry_delay:g} s): a notification waiting for its retry would go to a second worker",
            file=sys.stderr,
        )
        return EXIT_CONFIG
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
    return _celery(argv)


def cmd_beat(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    from worker.app import BEAT_SCHEDULER

    return _celery(["beat", "--loglevel", cfg.log_level.upper(), "-S", BEAT_SCHEDULER])


def cmd_flower(args: argparse.Namespace) -> int:
    """Flower in this process: no child to outlive a SIGTERM, and the broker URL (with the Redis password) comes
    from $REDIS_URL, never from a command line that ``ps`` shows."""
    load_config(args)
    auth = args.basic_auth or os.environ.get("FLOWER_BASIC_AUTH")
    if not auth:
        print("nodewatch: flower needs --basic-auth USER:PASSWORD (or FLOWER_BASIC_AUTH)", file=sys.stderr)
        return EXIT_CONFIG
    os.environ["FLOWER_BASIC_AUTH"] = auth  # Flower reads its FLOWER_* options from the environment
    from worker.app import app

    try:
        app.start(["flower", f"--port={args.port}", f"--address={args.address}"])
    except OSError as err:
        if err.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        print(
            f"nodewatch: flower cannot listen on {args.address}:{args.port}: {err.strerror}", file=sys.stderr
        )
        return EXIT_UNAVAILABLE
    return 0


def _scan_rows(sample: Any, findings: list[Any]) -> list[dict[str, Any]]:
    by_node: dict[str, list[Any]] = {}
    for f in findings:
        by_node.setdefault(f.node, []).append(f)

    def r(x: float | None) -> float | None:
        return None if x is None else round(x, 1)

    rows = []
    for n in sample.nodes:
        alloc, req = n.allocatable, n.requests
        nodefs = n.disk.nodefs if n.disk else None
        imagefs = n.disk.imagefs if n.disk else None
        rows.append(
            {
                "node": n.name,
                "ready": n.ready,
                "unschedulable": n.unschedulable,
                "cpu_pct": r(n.cpu_pct),
                "memory_pct": r(n.memory_pct),
                "usage_unavailable": n.usage_unavailable or None,
                "pods": n.pod_count,
                "pods_allocatable": alloc.pods,
                "pods_pct": r(n.pods_pct),
                "cpu_requests_pct": r(n.pct(req.cpu_m, alloc.cpu_m)),
                "memory_requests_pct": r(n.pct(req.memory, alloc.memory)),
                "cpu_limits_pct": r(n.pct(n.limits.cpu_m, alloc.cpu_m)),
                "memory_limits_pct": r(n.pct(n.limits.memory, alloc.memory)),
                "nodefs_pct": r(nodefs.used_pct) if nodefs else None,
                "nodefs_inodes_pct": r(nodefs.inodes_used_pct) if nodefs else None,
                "imagefs_pct": r(imagefs.used_pct) if imagefs else None,
                "disk_unavailable": n.disk_unavailable or None,
                "findings": [
                    {"rule": f.rule, "severity": f.severity.label, "summary": f.summary}
                    for f in by_node.get(n.name, [])
                    if f.severity is not None
                ],
            }
        )
    return rows


def cmd_scan(args: argparse.Namespace) -> int:
    cfg = load_config(args)
    from worker import clusters
    from worker.collect import errors as collect_errors
    from worker.collect import reader
    from worker.pipeline import collect_options, scan_budget, top_pods_wanted
    from worker.rules.evaluate import evaluate

    # a kubeconfig named on the command line is the operator's own, read like kubectl reads it (credential files
    # included); a cluster from the config file follows allowLocalCredentialFiles like the worker does
    spec = clusters.ClusterSpec(
        args.name, cfg.check_interval, args.kubeconfig, args.context, source="cli", local_files=True
    )
    if args.kubeconfig is None and cfg.clusters:
        c = cfg.clusters[0]
        spec = clusters.ClusterSpec(
            c.name,
            cfg.cluster_interval(c),
            c.kubeconfig,
            args.context or c.context,
            local_files=cfg.allow_local_credential_files,
            scan_budget=cfg.cluster_budget(c.scan_budget),
        )
    now = datetime.now(UTC)
    opts = dataclasses.replace(
        collect_options(cfg, scan_budget(spec), top_pods_wanted(cfg, spec, {})),
        disk_stats=cfg.collect.disk_stats or args.disk,
    )
    try:
        api = clusters.api_client(spec, allow_exec=cfg.allow_exec_plugins)
        sample = reader.read_cluster(api, spec.name, now, opts)
    except (clusters.ClusterConfigError, collect_errors.CollectError) as e:
        print(f"nodewatch: scan of {spec.name} failed: {e}", file=sys.stderr)
        return 1
    findings = list(evaluate(sample, lambda n: cfg.thresholds_for(spec.name, n.labels), {}, now))
    rows = _scan_rows(sample, findings)
    cluster_findings = [
        {"rule": f.rule, "severity": f.severity.label, "summary": f.summary}
        for f in findings
        if f.node == "" and f.severity is not None
    ]
    if args.output == "json":
        doc = {
            "cluster": spec.name,
            "taken_at": now.isoformat(),
            "nodes": rows,
            "cluster_findings": cluster_findings,
            "pending_pods": len(sample.pending_pods),
            "warnings": list(sample.warnings),
            "skipped": list(sample.skipped),
        }
        print(json.dumps(doc, indent=2, ensure_ascii=False))
        return 0
    cols = [
        "node",
        "ready",
        "cpu_pct",
        "memory_pct",
        "pods",
        "cpu_requests_pct",
        "memory_requests_pct",
        "nodefs_pct",
    ]
    heads = ["NODE", "READY", "CPU%", "MEM%", "PODS", "CPU-REQ%", "MEM-REQ%", "DISK%"]
    table = [heads] + [["-" if row[c] is None else str(row[c]) for c in cols] for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(cols))]
    for line in table:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)))
    for row in rows:
        for f in row["findings"]:
            print(f"  {f['severity']:<8} {row['node']}: {f['summary']}")
    for f in cluster_findings:
        print(f"  {f['severity']:<8} (cluster): {f['summary']}")
    for w in sample.warnings:
        print(f"  note: {w}")
    reasons: dict[str, int] = {}
    for row in rows:
        if row["disk_unavailable"]:
            reasons[row["disk_unavailable"]] = reasons.get(row["disk_unavailable"], 0) + 1
    for reason, count in reasons.items():
        hint = "; try --disk" if "diskStats" in reason else ""
        print(f"  note: disk figures unavailable on {count} node(s): {reason}{hint}")
    return 0


def cmd_deadletters(args: argparse.Namespace) -> int:
    load_config(args)
    from tasks import context  # noqa: F401  (the shell wires Redis)

    store = context.store()
    if args.action == "list":
        rows = store.dead_letters()
        for row in rows:
            when = datetime.fromtimestamp(float(row.get("at", 0)), UTC).strftime("%Y-%m-%d %H:%M:%S")
            print(
                f"{when}  {row.get('receiver')}  {row.get('cluster')}  {row.get('notification')}  {row.get('reason')}"
            )
        print(f"{len(rows)} dead letter(s)")
        return 0
    from tasks.notify import notify

    rows = store.take_dead_letters()
    for row in rows:
        notify.apply_async(args=[row["cluster"], row["notification"], row["receiver"]], queue="notify")
    print(f"re-queued {len(rows)} dead letter(s)")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from worker import demo

    return demo.run(args)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="nodewatch", description="Kubernetes node monitor for many clusters")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", help="YAML config file (default: $NODEWATCH_CONFIG)")
    sub = p.add_subparsers(dest="command", required=True)

    sub.add_parser("version", parents=[common], help="print the version").set_defaults(func=cmd_version)

    cfg = sub.add_parser("config", parents=[common], help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="action", required=True)
    chk = cfg_sub.add_parser(
        "check", parents=[common], help="validate a config file without starting anything"
    )
    chk.add_argument("file", nargs="?")
    chk.set_defaults(func=cmd_config_check)

    w = sub.add_parser("worker", parents=[common], help="run a Celery worker (scan + notify)")
    w.add_argument("--queues", default="control,scan,notify")
    w.add_argument("--concurrency", type=int, default=4)
    w.add_argument("--hostname", help="Celery node name, e.g. worker1@%%h")
    w.add_argument("--pool", help="Celery pool (prefork, threads, solo)")
    w.set_defaults(func=cmd_worker)

    sub.add_parser("beat", parents=[common], help="run the scheduler (one at a time)").set_defaults(
        func=cmd_beat
    )

    fl = sub.add_parser(
        "flower", parents=[common], help="run Flower on the same broker (basic auth required)"
    )
    fl.add_argument("--port", type=int, default=5555)
    fl.add_argument("--address", default="127.0.0.1")
    fl.add_argument("--basic-auth", help="USER:PASSWORD (or $FLOWER_BASIC_AUTH)")
    fl.set_defaults(func=cmd_flower)

    sc = sub.add_parser("scan", parents=[common], help="scan one cluster once, without Celery or Redis")
    sc.add_argument(
        "--kubeconfig", help="kubeconfig file (default: the first cluster in --config, else in-cluster)"
    )
    sc.add_argument("--context")
    sc.add_argument("--name", default="cli", help="cluster name shown in findings")
    sc.add_argument("--once", action="store_true", help="scan once and exit (the only mode)")
    sc.add_argument("--disk", action="store_true", help="read disk figures (needs RBAC nodes/proxy)")
    sc.add_argument("--output", choices=["table", "json"], default="table")
    sc.set_defaults(func=cmd_scan)

    d = sub.add_parser("demo", parents=[common], help="run everything locally against a simulated cluster")
    d.add_argument("--duration", type=float, help="stop by itself after SECONDS and print a summary")
    d.add_argument("--kubeconfig", help="watch a real cluster instead of kubesim")
    d.add_argument("--context")
    d.add_argument("--no-flower", action="store_true")
    d.add_argument("--flower-port", type=int, default=5555)
    d.add_argument("--language", choices=["zh", "en"], default=None)
    d.set_defaults(func=cmd_demo)

    cli_alerts.add_parsers(sub, common)

    dl = sub.add_parser("deadletters", parents=[common], help="messages that could not be delivered")
    dl.add_argument("action", choices=["list", "retry"])
    dl.set_defaults(func=cmd_deadletters)

    from worker import cli_cluster  # issue 5: nodewatch cluster add|list|remove|test

    cli_cluster.add_parsers(sub, common)

    from worker import cli_notify  # issue 6: nodewatch notify test [RECEIVER]

    cli_notify.add_parsers(sub, common)

    from worker import cli_replay  # issue 7: nodewatch replay --scenario FILE

    cli_replay.add_parsers(sub, common)
    return p


def redis_where() -> str:
    """The Redis a command uses, password masked, and where that came from."""
    from worker.app import redis_url

    source = "$REDIS_URL" if os.environ.get("REDIS_URL") else "the default; set $REDIS_URL"
    return f"{maybe_sanitize_url(redis_url())} ({source})"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        rc: int = args.func(args)
    except (redis.ConnectionError, redis.TimeoutError, BrokerError) as err:
        # a command that needs Redis says where it looked, in one line (no traceback)
        print(f"nodewatch: cannot use Redis at {redis_where()}: {err}", file=sys.stderr)
        return EXIT_UNAVAILABLE
    return rc


if __name__ == "__main__":
    raise SystemExit(main())
