"""What every verb shares: exit codes, the one config loader, the one way to Redis, ``-o`` output, errors.

Exit codes: 0 done; 1 the command ran and the answer is "no" (a critical finding, a failed send, nothing found);
2 bad usage or config; 3 something it needs is not there (Redis, a cluster, a port) — try again later.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Iterable, Sequence
from importlib import metadata
from typing import Any

import redis
import yaml
from kombu.utils.url import maybe_sanitize_url

from worker import clusters, localredis, settings
from worker.state import store as state_store

EXIT_OK, EXIT_FAIL, EXIT_CONFIG, EXIT_UNAVAILABLE = 0, 1, 2, 3
OUTPUTS = ("table", "json", "yaml")


class CliError(Exception):
    """A failure the command explains in one line (``nodewatch: <message>``), exiting with ``code``."""

    def __init__(self, message: str, code: int = EXIT_FAIL) -> None:
        super().__init__(message)
        self.code = code


def version() -> str:
    try:
        return metadata.version("nodewatch")
    except metadata.PackageNotFoundError:
        return "0+unknown"


# --- config ---


def load_config(args: argparse.Namespace) -> settings.Settings:
    """``--config FILE`` (or $NODEWATCH_CONFIG), validated; the path is exported so that child processes (Celery,
    the demo's) load the same file. A bad file is exit 2 with the file and the key named."""
    path = getattr(args, "config", None) or os.environ.get(settings.ENV_CONFIG)
    try:
        cfg = settings.load(path)
    except settings.ConfigError as err:
        raise CliError(f"config error: {err}", EXIT_CONFIG) from None
    if path:
        os.environ[settings.ENV_CONFIG] = os.path.abspath(path)
    return cfg


def registry(cfg: settings.Settings, clusters_dir: str | None = None) -> clusters.Registry:
    """Every configured cluster (config file, clusters directory, hub Secrets), read once: a one-shot command
    lists the hub's Secrets without starting a watch."""
    once = cfg.model_copy(update={"hub": cfg.hub.model_copy(update={"watch": False})})
    try:
        return clusters.load(once, clusters_dir)
    except clusters.ClusterSourceError as err:
        raise CliError(str(err), EXIT_UNAVAILABLE) from None


# --- Redis ---


def redis_url() -> str:
    from worker.app import redis_url as configured  # $REDIS_URL, else the default: the URL workers use

    return configured()


def redis_where(url: str | None = None) -> str:
    """The Redis a command uses, password masked, and where that came from."""
    source = "$REDIS_URL" if os.environ.get("REDIS_URL") else "the default; set $REDIS_URL"
    return f"{maybe_sanitize_url(url or redis_url())} ({source})"


def connect(url: str | None = None) -> redis.Redis:
    """A connection to ``url`` (default: the workers' Redis). Nothing is sent until a command asks; a Redis that
    does not answer then is the one-line "cannot use Redis at …" of ``main`` (exit 3)."""
    return state_store.connect(url or redis_url())


def stores(url: str | None = None) -> state_store.Stores:
    """The nodewatch state on ``url`` (default: the workers' Redis), over ``connect``."""
    return state_store.Stores(connect(url))


def local_redis(workdir: str) -> localredis.LocalRedis:
    """A Redis of the demo's or the replay's own (README "Two commands"), never another program's data."""
    return localredis.find_or_start(workdir)


# --- output ---


def add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o", "--output", choices=OUTPUTS, default="table", help="table (default), json or yaml"
    )


def emit(args: argparse.Namespace, doc: Any) -> bool:
    """Print ``doc`` when ``-o json|yaml`` asks for it and say so; False: the caller prints its table."""
    if args.output == "json":
        print(json.dumps(doc, indent=2, ensure_ascii=False))
    elif args.output == "yaml":
        print(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True), end="")
    else:
        return False
    return True


def table(heads: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """Columns aligned under a header row, as kubectl prints them."""
    lines = [list(heads), *(list(r) for r in rows)]
    widths = [max(len(line[i]) for line in lines) for i in range(len(heads))]
    for line in lines:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def fail(message: str, code: int = EXIT_FAIL) -> int:
    """One line on stderr; returns ``code`` for the command to return."""
    print(f"nodewatch: {message}", file=sys.stderr)
    return code
