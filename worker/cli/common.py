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
OUTPUTS = ("table", "wide", "json", "yaml")


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


def config_path(args: argparse.Namespace) -> str | None:
    return getattr(args, "config", None) or os.environ.get(settings.ENV_CONFIG) or None


def config_where(args: argparse.Namespace) -> str:
    """Which config a command read, for an error that says where it looked."""
    path = config_path(args)
    return f"config {path}" if path else "no config file (give --config FILE or set $NODEWATCH_CONFIG)"


def load_config(args: argparse.Namespace) -> settings.Settings:
    """``--config FILE`` (or $NODEWATCH_CONFIG), validated; the path is exported so that child processes (Celery,
    the demo's) load the same file. A bad file is exit 2 with the file and the key named."""
    path = config_path(args)
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


def clusters_to_show(cfg: settings.Settings, args: argparse.Namespace, st: state_store.Stores) -> list[str]:
    """The clusters a command describes, each known to this Redis: all configured ones (those never scanned
    named on stderr), or the one of ``--cluster`` (configured, or still known to Redis). Nothing known at all is
    exit 3 and an unknown ``--cluster`` exit 2: either would otherwise read as an all-clear."""
    names = [s.name for s in registry(cfg).specs]
    wanted = getattr(args, "cluster", None)
    if wanted:
        if wanted in names or st.known([wanted]):
            return [wanted]
        known = ", ".join(names) or "none"
        raise CliError(
            f"no cluster named {wanted}: not configured ({config_where(args)}: {known}) and unknown to Redis at "
            f"{redis_where()}",
            EXIT_CONFIG,
        )
    seen = st.known(names)
    if not seen:
        what = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
        raise CliError(
            f"nothing recorded of {what or 'any cluster'} in Redis at {redis_where()} (never scanned there: "
            f"another Redis, or no worker running?); {config_where(args)}",
            EXIT_UNAVAILABLE,
        )
    missing = [n for n in names if n not in seen]
    if missing:
        print(f"nodewatch: nothing recorded yet (not scanned) of: {', '.join(missing)}", file=sys.stderr)
    return seen


def require_nodewatch(
    st: state_store.Stores, found: int, cfg: settings.Settings, args: argparse.Namespace
) -> None:
    """An empty answer from a Redis no nodewatch has used (no beat scheduled a cluster there, none of the
    configured clusters was scanned there) is exit 3, not "0 silences": a wrong $REDIS_URL must not look like a
    quiet fleet."""
    if found or st.schedule.scheduled() or st.known([s.name for s in registry(cfg).specs]):
        return
    raise CliError(
        f"no nodewatch state in Redis at {redis_where()} (no beat and no scan of a configured cluster there); "
        f"{config_where(args)}",
        EXIT_UNAVAILABLE,
    )


def local_redis(workdir: str) -> localredis.LocalRedis:
    """A Redis of the demo's or the replay's own (README "Two commands"), never another program's data."""
    return localredis.find_or_start(workdir)


# --- output ---


def add_output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUTS,
        default="table",
        help="table (default), wide (more columns), json or yaml (epoch seconds)",
    )


def wide(args: argparse.Namespace) -> bool:
    return getattr(args, "output", "table") == "wide"


def emit(args: argparse.Namespace, doc: Any) -> bool:
    """Print ``doc`` when ``-o json|yaml`` asks for it and say so; False: the caller prints its table (``table``
    or ``wide``)."""
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
