"""``nodewatch replay``: run a kubesim scenario on a simulated clock through the real scan path and score it."""

from __future__ import annotations

import argparse
import sys
import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from worker import settings
from worker.cli import common, simulators

# the seed sketch's timing (every for-duration 0), shipped in the package so that the documented command works
# from an installed wheel as from a checkout
SKETCH_TIMING = resources.files("worker.replay") / "sketch-timing.yaml"


def _speed(text: str) -> float | None:
    if text == "max":
        return None
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError("--speed is 'max' or simulated seconds per real second (> 0)")
    return value


def cmd_replay(args: argparse.Namespace) -> int:
    from worker.pipeline import run_scan  # the very function the Celery scan task runs
    from worker.replay import engine, forecasts, tables

    simulators.require("replay", "kubesim")  # the replay drives kubesim on a manual clock
    if args.sketch_timing:
        if getattr(args, "config", None):
            raise common.CliError("give --sketch-timing or --config FILE, not both", common.EXIT_CONFIG)
        args.config = str(SKETCH_TIMING)
    cfg = common.load_config(args)
    try:
        scenarios = [engine.load_scenario(name, args.hours) for name in args.scenario]
    except (OSError, ValueError) as err:
        raise common.CliError(f"replay: {err}", common.EXIT_CONFIG) from None

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    policies = [("nodewatch" if not getattr(args, "config", None) else _name(args.config), cfg)]
    for path in args.compare or []:
        policies.append((_name(path), _load(path)))
    runs: list[tuple[str, list[engine.Report]]] = [(name, []) for name, _ in policies]
    with (
        tempfile.TemporaryDirectory(prefix="nodewatch-replay-") as tmp,
        common.local_redis(tmp) as redis,
    ):
        stores = common.stores(redis.url)
        for scenario in scenarios:
            for (_, policy), (_, reports) in zip(policies, runs, strict=True):
                reports.append(
                    engine.run(policy, scenario, stores, run_scan, args.speed, redis.origin, progress)
                )
    docs = [r.to_json() | {"policy": name} for name, reports in runs for r in reports]
    if not common.emit(args, docs[0] if len(docs) == 1 else docs):
        print(tables.table(runs))
        first = runs[0][1]
        if any(r.forecasts for r in first):
            print()
            print(forecasts.table((r.scenario, r.forecasts) for r in first))
        for name, reports in runs:
            for r in reports:
                print()
                print(tables.details(r, name))
    return 0


def _load(path: str) -> settings.Settings:
    """A config to compare with: validated like --config (exit 2 naming the file and key), nothing exported."""
    try:
        return settings.load(path)
    except settings.ConfigError as err:
        raise common.CliError(f"config error: {err}", common.EXIT_CONFIG) from None


def _name(path: str) -> str:
    """A policy's name in the table: its config file's name without the extension."""
    return Path(path).stem


def add_parsers(sub: Any, common_args: argparse.ArgumentParser) -> None:
    r = sub.add_parser(
        "replay",
        parents=[common_args],
        help="replay a kubesim scenario on a simulated clock; score nodewatch and the sketch's policy",
    )
    r.add_argument(
        "--scenario",
        required=True,
        action="append",
        help="a scenario file, or a name in kubesim/scenarios/; repeat it for one table of several",
    )
    r.add_argument(
        "--speed",
        type=_speed,
        default=None,
        help="'max' (default: no waiting) or simulated seconds per second",
    )
    r.add_argument(
        "--compare",
        action="append",
        metavar="CONFIG",
        help="replay the same scenarios with this config file too and print the policies side by side "
        "(repeat it for more)",
    )
    common.add_output(r)
    r.add_argument(
        "--sketch-timing",
        action="store_true",
        help="the seed sketch's timing instead of the defaults: every for-duration and keepFiringFor 0",
    )
    r.add_argument(
        "--hours", type=float, help="simulated hours (default: the scenario's replay.hours, else 24)"
    )
    r.set_defaults(func=cmd_replay)
