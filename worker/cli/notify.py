"""``nodewatch notify test [RECEIVER]``: send a test message to each receiver and say what happened.

Runs in this process with the workers' delivery policy: the receiver's shared token bucket in Redis (waiting for
a token rather than merging, there is one message), the same backoff with jitter honouring Retry-After and
rate-limit errcodes, bounded by ``--timeout`` instead of the hour-long retry window.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import redis

from worker import settings
from worker.cli import common, durations
from worker.notify import delivery, errors, examples, registry
from worker.notify.redact import redact
from worker.settings import notify as notify_settings
from worker.state import ratelimit


@dataclass
class Outcome:
    receiver: str
    target: str
    delivered: bool = False
    reasons: list[str] = field(default_factory=list)  # one per failed try, in order
    waited: float = 0.0  # seconds spent waiting for the rate limit

    def line(self) -> str:
        tries = len(self.reasons)
        limit = f", waited {self.waited:.1f}s for the rate limit" if self.waited >= 0.05 else ""
        if self.delivered and not tries:
            return f"{self.receiver}: delivered ({self.target}){limit}"
        if self.delivered:
            return f"{self.receiver}: delivered after retrying {tries} time(s){limit}: " + " | ".join(
                self.reasons
            )
        return f"{self.receiver}: FAILED after {tries} try/tries{limit}: {self.reasons[-1]}" + (
            f" (earlier: {' | '.join(self.reasons[:-1])})" if tries > 1 else ""
        )


def _limiter() -> ratelimit.RateLimiter | None:
    """The receivers' shared token buckets, or None when Redis does not answer (a test message still goes)."""
    client = common.connect()
    try:
        client.ping()
    except redis.RedisError:
        return None
    return ratelimit.RateLimiter(client)


def try_receiver(
    cfg: settings.Settings,
    name: str,
    *,
    limiter: ratelimit.RateLimiter | None,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> Outcome:
    endpoint = cfg.endpoints()[name]
    policy = cfg.receiver_policies()[name]
    bucket = ratelimit.Bucket.for_limit(policy.messages, policy.per)
    secrets = endpoint.secrets()
    start = clock()
    try:
        channel = registry.channel(endpoint, timeout=cfg.notify.http_timeout)
    except ValueError as err:
        return Outcome(name, endpoint.kind, reasons=[redact(f"bad receiver config: {err}", secrets)])
    out = Outcome(name, channel.target)
    message = delivery.probe(name, start)
    retries = 0
    while True:
        if limiter is not None:
            while (wait := limiter.take(name, bucket)) > 0:
                out.waited += wait
                sleep(wait)
        try:
            channel.send(message)
            out.delivered = True
            return out
        except errors.RetryableError as err:
            out.reasons.append(redact(str(err), secrets))
            delay = delivery.backoff(
                retries, cfg.notify.min_retry_delay, cfg.notify.max_retry_delay, err.delay
            )
            if delivery.gives_up(start, clock(), delay, timeout):
                out.reasons[-1] += f" — gave up, next try would pass --timeout {timeout:g}s"
                return out
            retries += 1
            sleep(delay)
        except errors.PermanentError as err:
            out.reasons.append("permanent: " + redact(str(err), secrets))
            return out


def cmd_notify_test(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    try:
        notify_settings.validate(cfg)
    except ValueError as err:
        raise common.CliError(f"config error: {err}", common.EXIT_CONFIG) from None
    configured = cfg.endpoints()
    names = [args.receiver] if args.receiver else list(configured)
    if args.receiver and args.receiver not in configured:
        known = ", ".join(configured) or "none"
        raise common.CliError(
            f"no receiver named {args.receiver!r} (configured: {known})", common.EXIT_CONFIG
        )
    if not names:
        print("no receivers configured")
        return common.EXIT_FAIL
    limiter = _limiter()
    if limiter is None:
        print("note: Redis unreachable, rate limits not applied", file=sys.stderr)
    failed = 0
    for name in names:
        outcome = try_receiver(cfg, name, limiter=limiter, timeout=args.timeout)
        failed += not outcome.delivered
        print(outcome.line(), flush=True)
    return common.EXIT_FAIL if failed else 0


def cmd_notify_examples(args: argparse.Namespace) -> int:
    """Rendered examples of every message (docs/messages.md is this command's output)."""
    sys.stdout.write(examples.document())
    return 0


def add_parsers(
    sub: argparse._SubParsersAction[argparse.ArgumentParser], common_args: argparse.ArgumentParser
) -> None:
    notify = sub.add_parser("notify", parents=[common_args], help="notification tools")
    notify_sub = notify.add_subparsers(dest="action", required=True)
    test = notify_sub.add_parser(
        "test", parents=[common_args], help="send a test message to each receiver (or RECEIVER) and report"
    )
    test.add_argument("receiver", nargs="?", help="only this receiver")
    test.add_argument(
        "--timeout",
        type=durations.flag(bare="s"),
        default=60.0,
        help="give up retrying after this long: SECONDS, or e.g. 90s, 5m (default 60)",
    )
    test.set_defaults(func=cmd_notify_test)
    examples_cmd = notify_sub.add_parser(
        "examples",
        parents=[common_args],
        help="print docs/messages.md: every rule and kind of message, rendered per channel and language",
    )
    examples_cmd.set_defaults(func=cmd_notify_examples)
