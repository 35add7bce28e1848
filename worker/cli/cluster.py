"""`nodewatch cluster add|list|remove|test`: manage the watched clusters (kubeconfig Secrets or a directory).

A shell like the rest of worker/cli: it wires worker/clusters (sources, clients, access checks) and worker/state
(last scan records) and prints. Nothing printed carries a kubeconfig's contents: names, sources, figures and warnings only.
A kubeconfig given to `add` (and to `test --kubeconfig`, which tests it as `add` would take it) may carry only
inline credentials: a credential file path is refused before anything is written.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Any

import redis
import yaml

from worker import clusters, settings
from worker.cli import common, durations, provision, timefmt
from worker.clusters import access, kubeconfig, secrets

EXIT_FAIL, EXIT_CONFIG = common.EXIT_FAIL, common.EXIT_CONFIG


def _registry(cfg: settings.Settings, args: argparse.Namespace) -> clusters.Registry:
    return common.registry(cfg, args.clusters_dir)


def annotation_interval(seconds: float) -> str:
    """``--interval`` as the ``nodewatch.io/interval`` annotation reads it: one number, one unit."""
    for unit, size in (("h", 3600), ("m", 60)):
        if seconds >= size and seconds % size == 0:
            return f"{seconds / size:g}{unit}"
    return f"{seconds:g}s"


# --- add ---


def cmd_add(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    name = args.name
    if not secrets.NAME_RE.fullmatch(name):
        return common.fail(
            f"cluster name {name!r}: use a lowercase DNS-style name (a-z, 0-9, '-', '.', '_')", EXIT_CONFIG
        )
    if any(c.name == name for c in cfg.clusters):
        return common.fail(f"cluster {name} is defined in the config file; change it there", EXIT_CONFIG)
    try:
        text = kubeconfig.read_file(name, args.kubeconfig)
        data = kubeconfig.parse(name, text)
        kubeconfig.check_plugins(name, data, cfg.allow_exec_plugins)
        # a Secret or clusters-dir file is read by every worker: never with a path to the worker's own files
        kubeconfig.check_credentials(name, data, local_files=False)
    except clusters.ClusterConfigError as err:
        return common.fail(str(err), EXIT_CONFIG)
    if args.context and not any(c.get("name") == args.context for c in data.get("contexts") or []):
        return common.fail(
            f"cluster {name}: context '{args.context}' not found in {args.kubeconfig}", EXIT_CONFIG
        )
    try:
        if args.labels:
            secrets.parse_labels(args.labels)
    except ValueError as err:
        return common.fail(f"cluster {name}: {err}", EXIT_CONFIG)
    interval = annotation_interval(args.interval) if args.interval else ""
    directory = clusters.clusters_dir(cfg, args.clusters_dir)
    target = args.to or ("secret" if cfg.hub.enabled else "directory" if directory else "")
    if target == "secret":
        ns = secrets.namespace(cfg.hub)
        body = secrets.secret_body(
            name, text, args.context, ns, args.display_name or "", interval, args.labels or "",
            args.threshold_profile or "",
        )  # fmt: skip
        try:
            done = secrets.write_secret(cfg.hub, cfg.allow_exec_plugins, body)
        except clusters.ClusterSourceError as err:
            return common.fail(str(err))
        where = f"Secret {ns}/{body['metadata']['name']}"
    elif target == "directory":
        if not directory:
            return common.fail("no clusters directory: give --clusters-dir or set clustersDir", EXIT_CONFIG)
        if args.interval or args.labels or args.display_name or args.threshold_profile:
            return common.fail(
                "--interval/--labels/--display-name/--threshold-profile need a Secret (hub.secrets)"
            )
        if args.context:
            data["current-context"] = args.context  # a file has no separate context key
            text = yaml.safe_dump(data, sort_keys=False)
        Path(directory).mkdir(parents=True, exist_ok=True)
        path = Path(directory) / f"{name}.yaml"
        done = "replaced" if path.exists() else "created"
        tmp = path.with_name(f".{name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        tmp.replace(path)  # atomic: a reader never sees half a kubeconfig
        where = f"file {path}"
    else:
        return common.fail(
            "nowhere to add clusters: enable hub Secrets (hub.secrets / hub.kubeconfig) or set clustersDir"
        )
    print(f"cluster {name}: {where} {done}; it will be scanned within one interval")
    for w in kubeconfig.warnings(name, data, args.context):
        print(f"  warning: {w}")
    return 0


# --- list ---


def _summaries(names: list[str]) -> tuple[dict[str, dict[str, Any]], str]:
    try:
        stores = common.stores()
        return {n: stores.cluster_summary(n) for n in names}, ""
    except redis.RedisError as err:
        return {}, f"scan records unavailable: cannot use Redis at {common.redis_where()}: {err}"


def list_rows(cfg: settings.Settings, reg: clusters.Registry) -> tuple[list[dict[str, Any]], str]:
    sums, note = _summaries([s.name for s in reg.specs])
    rows = []
    for spec in reg.specs:
        s = sums.get(spec.name, {})
        st = s.get("status") or {}
        rows.append(
            {
                "name": spec.name,
                "display_name": spec.display_name,
                "source": spec.source,
                "origin": spec.origin,
                "interval_s": spec.interval,
                "labels": spec.labels,
                "threshold_profile": spec.threshold_profile,
                "last_scan_started": float(st["started"]) if st.get("started") else None,
                "last_scan_ended": float(st["ended"]) if st.get("ended") else None,
                "status": st.get("outcome") or "not scanned yet",
                "error": st.get("error") or "",
                "nodes": int(st["nodes"]) if str(st.get("nodes", "")).isdigit() else None,
                "lag_s": float(st["lag_s"]) if st.get("lag_s") else None,
                "duration_s": float(st["duration_s"]) if st.get("duration_s") else None,
                "scans": int(st.get("scans", 0)),
                "failures_in_a_row": s.get("failures", 0),
                "alerts_firing": s.get("firing", 0),
                "warnings": clusters.warnings(spec),
            }
        )
    return rows, note


def cmd_list(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    reg = _registry(cfg, args)
    rows, note = list_rows(cfg, reg)
    if common.emit(args, {"clusters": rows, "problems": reg.problems, "stale": reg.stale, "note": note}):
        return common.EXIT_UNAVAILABLE if note else 0
    now, tz = time.time(), timefmt.zone(cfg)
    heads = ["NAME", "SOURCE", "INTERVAL", "LAST SCAN", "STATUS", "NODES", "LAG", "FIRING", "WARNINGS"]
    if common.wide(args):
        heads += ["LABELS", "PROFILE", "SCANS", "DURATION", "ORIGIN"]
    table = []
    for r in rows:
        ended = r["last_scan_ended"]
        row = [
            r["name"] + (f" ({r['display_name']})" if r["display_name"] else ""),
            r["source"],
            timefmt.span(r["interval_s"], exact=True),
            "never" if ended is None else timefmt.relative(ended, now),
            r["status"] + (f" ×{r['failures_in_a_row']}" if r["failures_in_a_row"] else ""),
            "-" if r["nodes"] is None else str(r["nodes"]),
            "-" if r["lag_s"] is None else f"{r['lag_s']:.1f}s",
            str(r["alerts_firing"]),
            "; ".join(r["warnings"]) or "-",
        ]
        if common.wide(args):
            row += [
                ",".join(f"{k}={v}" for k, v in sorted(r["labels"].items())) or "-",
                r["threshold_profile"] or "-",
                str(r["scans"]),
                "-" if r["duration_s"] is None else f"{r['duration_s']:.1f}s",
                r["origin"] or "-",
            ]
        table.append(row)
    common.table(heads, table)
    for r in rows:
        if r["error"]:
            last = "" if r["last_scan_ended"] is None else f" ({timefmt.stamp(r['last_scan_ended'], tz)})"
            print(f"{r['name']}: last error{last}: {r['error']}")
    for p in reg.problems:
        print(f"skipped: {p}")
    if reg.stale:
        print("note: the hub could not be read; its clusters are the last good list")
    if note:
        # the clusters are the config's, but whether they are scanned is not known: not an all-clear
        return common.fail(note, common.EXIT_UNAVAILABLE)
    return 0


# --- remove ---


def cmd_remove(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    spec = _registry(cfg, args).by_name().get(args.name)
    if spec is None:
        return common.fail(f"no cluster named {args.name}")
    if spec.source == "secret":
        try:
            secrets.delete_secret(cfg.hub, cfg.allow_exec_plugins, spec.origin)
        except clusters.ClusterSourceError as err:
            return common.fail(str(err))
        where = f"Secret {spec.origin}"
    elif spec.source == "directory" and spec.kubeconfig:
        try:
            Path(spec.kubeconfig).unlink()
        except OSError as err:
            return common.fail(f"cannot remove {spec.kubeconfig}: {err.strerror}")
        where = f"file {spec.kubeconfig}"
    else:
        return common.fail(f"cluster {spec.name} comes from the {spec.source}; remove it there", EXIT_CONFIG)
    print(f"cluster {spec.name}: {where} removed; its open alerts will be resolved as 'cluster removed'")
    return 0


# --- test ---


def cmd_test(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    if args.kubeconfig:
        # tested as `cluster add` would take it: inline credentials only (local_files=False)
        spec = clusters.ClusterSpec(
            args.name, cfg.check_interval, args.kubeconfig, args.context, source="cli", local_files=False
        )
    else:
        found = _registry(cfg, args).by_name().get(args.name)
        if found is None:
            return common.fail(f"no cluster named {args.name} (give --kubeconfig to test one not added yet)")
        spec = found
    print(f"cluster {spec.name} ({spec.source}{', ' + spec.origin if spec.origin else ''})")
    try:
        api = clusters.api_client(spec, allow_exec=cfg.allow_exec_plugins)
    except clusters.ClusterConfigError as err:
        print(f"  FAIL  kubeconfig: {str(err).removeprefix(f'cluster {spec.name}: ')}")
        return EXIT_CONFIG
    for w in clusters.warnings(spec):
        print(f"  WARN  {w}")
    timeout = cfg.collect.request_timeout
    try:
        ver = access.version(api, timeout)
        print(f"  ok    reachable: API server {ver}")
        checks = access.check(api, timeout=timeout)
    except access.Unreachable as err:
        print(f"  FAIL  {'credentials' if err.rejected else 'reachable'}: {err}")
        return EXIT_FAIL
    missing_required = False
    for c in checks:
        if c.allowed:
            mark = "ok"
        elif c.need.required:
            mark, missing_required = "FAIL", True
        else:
            mark = "miss"
        state = "allowed" if c.allowed else "missing" + (f" ({c.reason})" if c.reason else "")
        print(f"  {mark:<5} {c.need.label:<28} {state}: {c.need.why}")
    if missing_required:
        print("  => scans will fail: grant the missing permissions (deploy/kubernetes/watched)")
        return EXIT_FAIL
    print("  => scans will work" + ("" if all(c.allowed for c in checks) else " (some figures unavailable)"))
    return 0


def add_parsers(subparsers: Any, common_args: argparse.ArgumentParser) -> None:
    """Register `nodewatch cluster add|list|remove|test` on the main parser's subparsers."""
    c = subparsers.add_parser("cluster", parents=[common_args], help="manage the watched clusters")
    sub = c.add_subparsers(dest="action", required=True)
    where = argparse.ArgumentParser(add_help=False)
    where.add_argument(
        "--clusters-dir", help="kubeconfig directory (default: clustersDir / $NODEWATCH_CLUSTERS_DIR)"
    )

    a = sub.add_parser("add", parents=[common_args, where], help="add a cluster from a kubeconfig file")
    a.add_argument("name")
    a.add_argument("--kubeconfig", required=True, help="kubeconfig file of the cluster")
    a.add_argument("--context", help="context to use (default: the kubeconfig's current-context)")
    a.add_argument("--to", choices=["secret", "directory"], help="default: a Secret when hub Secrets are on")
    a.add_argument("--display-name")
    a.add_argument("--interval", type=durations.flag(), help="scan interval, e.g. 90s, 5m, 1h (Secrets only)")
    a.add_argument("--labels", help="e.g. env=prod,region=eu-west-1,team=payments (Secrets only)")
    a.add_argument("--threshold-profile")
    a.set_defaults(func=cmd_add)

    ls = sub.add_parser("list", parents=[common_args, where], help="clusters with last scan, status, nodes")
    common.add_output(ls)
    ls.set_defaults(func=cmd_list)

    rm = sub.add_parser("remove", parents=[common_args, where], help="remove a cluster (Secret or file)")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_remove)

    t = sub.add_parser("test", parents=[common_args, where], help="check reachability and each permission")
    t.add_argument("name")
    t.add_argument("--kubeconfig", help="test this file instead of the registered cluster")
    t.add_argument("--context")
    t.set_defaults(func=cmd_test)

    provision.add_parser(sub, [common_args, where])
