"""``nodewatch config check [FILE]`` and ``nodewatch version``."""

from __future__ import annotations

import argparse
from typing import Any

from worker.cli import common


def cmd_config_check(args: argparse.Namespace) -> int:
    if args.file:
        args.config = args.file
    cfg = common.load_config(args)
    doc: dict[str, Any] = {
        "ok": True,
        "clusters_in_file": len(cfg.clusters),
        "receivers": list(cfg.endpoints()),
        "interval_s": cfg.check_interval,
        "cooldown_min": cfg.alert_cooldown,
        "language": cfg.language,
    }
    if common.emit(args, doc):
        return 0
    receivers = ", ".join(doc["receivers"]) or "none"
    print(
        f"config OK: {len(cfg.clusters)} cluster(s) in file, receivers: {receivers}, "
        f"interval {cfg.check_interval:g}s, cooldown {cfg.alert_cooldown:g} min, language {cfg.language}"
    )
    return 0


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
