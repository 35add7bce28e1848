"""``nodewatch config check [FILE]`` and ``nodewatch version``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import yaml

from worker import clusters, settings
from worker.cli import checks, common, timefmt
from worker.settings import routes


def _raw(path: str | None) -> dict[str, Any]:
    """The file as written (the loaded settings no longer know whether a number had a unit)."""
    if not path:
        return {}
    raw = yaml.safe_load(Path(path).read_text(encoding="utf-8"))  # it loaded a moment ago
    return raw if isinstance(raw, dict) else {}


def _route_lines(cfg: settings.Settings) -> list[str]:
    """The routing tree, one line per node: what it matches and who gets it."""
    if cfg.route is None:
        return ["every notification -> every receiver (no route:)"]
    out = []
    for path, node in routes.walk(cfg.route):
        match = [
            f"{label}={','.join(values)}"
            for label, values in (
                ("clusters", node.clusters),
                ("nodeGroups", node.node_groups),
                ("rules", node.rules),
                ("severities", node.severities),
                ("clusterLabels", [f"{k}:{v}" for k, v in node.cluster_labels.items()]),
            )
            if values
        ]
        depth = path.count("routes.")
        who = ", ".join(node.receiver_names()) or "(inherits)"
        out.append(f"{'  ' * depth}{path}: {' '.join(match) or 'everything'} -> {who}")
    return out


def cmd_config_check(args: argparse.Namespace) -> int:
    if args.file:
        args.config = args.file
    path = common.config_path(args)  # as given: load_config exports it made absolute
    cfg = common.load_config(args)
    problems = checks.check(cfg, _raw(path))
    directory = clusters.clusters_dir(cfg)
    endpoints = cfg.endpoints()
    doc: dict[str, Any] = {
        "ok": not any(p.error for p in problems),
        "file": path,
        "clusters_in_file": len(cfg.clusters),
        "clusters": [c.name for c in cfg.clusters],
        "clusters_dir": directory,
        "hub_secrets": cfg.hub.enabled,
        "receivers": list(endpoints),
        "routes": _route_lines(cfg),
        "interval_s": cfg.check_interval,
        "cooldown_min": cfg.alert_cooldown,
        "language": cfg.language,
        "timezone": str(timefmt.zone(cfg)),
        "problems": [{"key": p.key, "message": p.message, "error": p.error} for p in problems],
    }
    code = common.EXIT_OK if doc["ok"] else common.EXIT_CONFIG
    if common.emit(args, doc):
        return code
    print(f"file:      {path or 'none (all defaults; give --config FILE or set $NODEWATCH_CONFIG)'}")
    sources = [", ".join(doc["clusters"]) or "none in the file"]
    if directory:
        sources.append(f"+ one per kubeconfig in {directory}")
    if cfg.hub.enabled:
        sources.append("+ the hub's kubeconfig Secrets")
    if not cfg.clusters and not directory and not cfg.hub.enabled:
        sources = ["none listed: the in-cluster service account's own cluster"]
    print(f"clusters:  {' '.join(sources)}")
    print(
        "receivers: "
        + (
            ", ".join(f"{name} ({e.kind})" for name, e in endpoints.items())
            or "none: nothing will be delivered"
        )
    )
    for i, line in enumerate(doc["routes"]):
        print(f"{'routes:    ' if i == 0 else '           '}{line}")
    print(
        f"timing:    scan every {timefmt.span(cfg.check_interval, exact=True)}, repeat after {timefmt.span(cfg.repeat_interval)}, "
        f"language {cfg.language}, times in {doc['timezone']}"
    )
    for p in problems:
        print(p.line())
    errors = sum(p.error for p in problems)
    warnings = len(problems) - errors
    if errors:
        return common.fail(f"config {path}: {errors} error(s), {warnings} warning(s)", code)
    print(f"config OK{f' with {warnings} warning(s)' if warnings else ''}")
    return code


def cmd_version(args: argparse.Namespace) -> int:
    print(f"nodewatch {common.version()}")
    return 0


def add_parsers(sub: Any, common_args: argparse.ArgumentParser) -> None:
    sub.add_parser("version", parents=[common_args], help="print the version").set_defaults(func=cmd_version)
    cfg = sub.add_parser("config", parents=[common_args], help="configuration tools")
    cfg_sub = cfg.add_subparsers(dest="action", required=True)
    chk = cfg_sub.add_parser(
        "check", parents=[common_args], help="validate a config file without starting anything"
    )
    chk.add_argument("file", nargs="?", help="the file to check (default: --config, $NODEWATCH_CONFIG)")
    common.add_output(chk)
    chk.set_defaults(func=cmd_config_check)
