"""The ``nodewatch`` command: the argparse tree and ``main``; one module per verb group beside it.

Every command takes ``--config FILE`` (or $NODEWATCH_CONFIG), loaded and checked by ``common.load_config`` before
anything starts. A failure is one line on stderr and a non-zero exit (codes in ``common``); ``--debug`` adds the
traceback.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import NoReturn

import redis
from kombu.exceptions import OperationalError as BrokerError

from worker import localredis
from worker.cli import alerts, cluster, common, config, dashboard, health, history, notify, replay, run, scan

__all__ = ["build_parser", "main"]


class Parser(argparse.ArgumentParser):
    """argparse that states a usage error in one line, like every other failure."""

    def error(self, message: str) -> NoReturn:
        self.exit(common.EXIT_CONFIG, f"{self.prog}: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    # SUPPRESS: an option given before the verb is not reset by the verb's own parser
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--config", default=argparse.SUPPRESS, help="YAML config file (default: $NODEWATCH_CONFIG)"
    )
    shared.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show the traceback of a failure"
    )
    p = Parser(prog="nodewatch", parents=[shared], description="Kubernetes node monitor for many clusters")
    p.add_argument("--version", action="version", version=f"nodewatch {common.version()}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for verbs in (config, run, health, scan, alerts, cluster, history, notify, replay, dashboard):
        verbs.add_parsers(sub, shared)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
        return code
    except (Exception, KeyboardInterrupt) as err:  # noqa: BLE001 -- a command line's last word: one line each
        message, code = explain(err, args)
        if getattr(args, "debug", False):
            traceback.print_exception(err)
        print(f"nodewatch: {' '.join(message.split())}", file=sys.stderr)
        return code


def explain(err: BaseException, args: argparse.Namespace) -> tuple[str, int]:
    """The one line and the exit code of a command's failure."""
    if isinstance(err, common.CliError):
        return str(err), err.code
    if isinstance(err, redis.RedisError | BrokerError):
        # a command that needs Redis says where it looked
        return f"cannot use Redis at {common.redis_where()}: {err}", common.EXIT_UNAVAILABLE
    if isinstance(err, localredis.NoRedis):
        return str(err), common.EXIT_UNAVAILABLE
    if isinstance(err, KeyboardInterrupt):
        return "interrupted", 130
    hint = "" if getattr(args, "debug", False) else " (--debug shows the traceback)"
    return f"{args.command}: {type(err).__name__}: {err}{hint}", common.EXIT_FAIL
