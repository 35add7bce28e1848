"""CLI: ``python -m chatsim serve --port 0 [--print]`` runs the simulated chat services until interrupted."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from chatsim.server import Server
from chatsim.state import Message, State


def _robot(spec: str) -> tuple[str, str | None, str | None]:
    token, _, rest = spec.partition(":")
    secret, _, keyword = rest.partition(":")
    return token, secret or None, keyword or None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="chatsim", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="serve Slack/DingTalk/WeCom/webhook endpoints")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port")
    serve.add_argument("--print", action="store_true", help="one line per accepted message on stdout")
    serve.add_argument(
        "--dingtalk",
        action="append",
        default=[],
        metavar="TOKEN[:SECRET[:KEYWORD]]",
        help="register a DingTalk robot (signed when SECRET is given)",
    )
    serve.add_argument("--strict", action="store_true", help="reject ids that were not registered")
    serve.add_argument("--rate-limit", type=int, default=20, help="messages per robot per window")
    serve.add_argument("--rate-window", type=float, default=60.0)
    serve.add_argument("--penalty", type=float, default=0.0, help="seconds a DingTalk robot stays throttled")
    args = parser.parse_args(argv)

    state = State(
        strict=args.strict, rate_limit=args.rate_limit, rate_window=args.rate_window, penalty=args.penalty
    )
    for spec in args.dingtalk:
        state.register("dingtalk", *_robot(spec))
    if args.print:

        def show(msg: Message) -> None:
            print(f"[{msg.channel}] {msg.headline}", flush=True)

        state.on_accept.append(show)
    server = Server((args.host, args.port), state)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    thread = threading.Thread(target=server.serve_forever, name="chatsim", daemon=True)
    thread.start()
    print(f"chatsim ready url={server.url}", flush=True)
    try:
        stop.wait()
    except KeyboardInterrupt:
        pass
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
