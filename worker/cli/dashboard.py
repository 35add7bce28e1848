"""``nodewatch dashboard``: serve the web dashboard (worker/dashboard) with uvicorn over the workers' Redis.

It needs a credential (``NODEWATCH_DASHBOARD_TOKEN``, ``--token-file`` or ``NODEWATCH_DASHBOARD_BASIC_AUTH``)
unless ``--insecure-local`` is given, which binds 127.0.0.1 only and opens the read-only pages to anyone on this
machine (actions still need the credential). The first line it prints is ``dashboard ready url=...``.
"""

from __future__ import annotations

import argparse
import socket
from typing import Any

from worker.cli import common

LOCAL = "127.0.0.1"


def listen(host: str, port: int) -> socket.socket:
    """The listening socket, bound before uvicorn starts: port 0 picks a free one and the URL says which."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise common.CliError(
            f"cannot listen on {host}:{port}: {err.strerror}", common.EXIT_UNAVAILABLE
        ) from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def cmd_dashboard(args: argparse.Namespace) -> int:
    import uvicorn  # only this verb needs the web stack

    from worker.dashboard import access, app

    cfg = common.load_config(args)
    if args.insecure_local and args.host not in (None, LOCAL, "localhost"):
        raise common.CliError("--insecure-local binds 127.0.0.1 only: drop --address", common.EXIT_CONFIG)
    try:
        guard = access.from_environment(args.token_file, args.insecure_local)
    except access.AccessError as err:
        raise common.CliError(str(err), common.EXIT_CONFIG) from None
    host = LOCAL if args.insecure_local else (args.host or "0.0.0.0")  # noqa: S104
    sock = listen(host, args.port)
    port = sock.getsockname()[1]
    shown = {"0.0.0.0": LOCAL, "::": "[::1]"}.get(host, f"[{host}]" if ":" in host else host)  # noqa: S104
    print(f"dashboard ready url=http://{shown}:{port}/fleet", flush=True)
    server = uvicorn.Server(
        uvicorn.Config(app.build(cfg, common.stores(), guard), log_level="warning", access_log=False)
    )
    server.run(sockets=[sock])
    return common.EXIT_OK


def add_parsers(sub: Any, common_args: argparse.ArgumentParser) -> None:
    d = sub.add_parser(
        "dashboard", parents=[common_args], help="serve the web dashboard (fleet, nodes, alerts)"
    )
    d.add_argument(
        "--address",
        "--host",
        dest="host",
        help="address to listen on (default 0.0.0.0; 127.0.0.1 with --insecure-local)",
    )
    d.add_argument("--port", type=int, default=8080, help="port (default 8080; 0: any free port)")
    d.add_argument("--token-file", help="a file holding the access token (or $NODEWATCH_DASHBOARD_TOKEN)")
    d.add_argument(
        "--insecure-local",
        action="store_true",
        help="no credential for the read-only pages; listens on 127.0.0.1 only",
    )
    d.set_defaults(func=cmd_dashboard)
