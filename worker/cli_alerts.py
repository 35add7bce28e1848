"""``nodewatch alerts list|ack|why`` and ``nodewatch silence add|list|expire``: the on-call's handles on noise."""

from __future__ import annotations

import argparse
import re
import secrets
import time
from datetime import UTC, datetime
from typing import Any

from worker.rules.muting import Silence


def _store(args: argparse.Namespace) -> Any:
    from tasks import context  # the shell wires Redis
    from worker.cli import load_config

    load_config(args)
    return context.store()


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def parse_duration(text: str) -> float:
    """ "90m", "2h", "1d", "3600" -> seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)([smhd]?)", text.strip())
    if not m:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (use e.g. 30m, 2h, 1d)")
    return float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[m.group(2)]


def _clusters(args: argparse.Namespace) -> list[str]:
    from worker import clusters, settings

    if getattr(args, "cluster", None):
        return [args.cluster]
    return [s.name for s in clusters.registry(settings.current())]


def cmd_alerts_list(args: argparse.Namespace) -> int:
    store = _store(args)
    rows = 0
    for cluster in _clusters(args):
        for fp, st in sorted(store.load_alerts(cluster).items(), key=lambda kv: (kv[1].node, kv[1].rule)):
            flags = ("acked " if st.acked else "") + (
                "muted " if st.status == "firing" and not st.sent_severity else ""
            )
            print(
                f"{fp}  {cluster}  {st.node or '(cluster)'}  {st.rule}  {st.status}/{st.severity.label}  "
                f"since {_when(st.since)}  {flags}".rstrip()
            )
            rows += 1
    print(f"{rows} alert(s)")
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    store = _store(args)
    for cluster in _clusters(args):
        state = store.set_ack(cluster, args.fingerprint, not args.undo)
        if state is not None:
            verb = "un-acknowledged" if args.undo else "acknowledged: no repeats until it resolves"
            print(f"{args.fingerprint} ({cluster} {state.node} {state.rule}) {verb}")
            return 0
    print(f"no open alert {args.fingerprint}")
    return 1


def cmd_alerts_why(args: argparse.Namespace) -> int:
    store = _store(args)
    found = 0
    for cluster in _clusters(args):
        for row in reversed(store.why(cluster, count=1000)):
            if row.get("fp") == args.fingerprint:
                ts = int(row["id"].split("-")[0]) / 1000
                print(f"{_when(ts)}  {cluster}  {row['reason']}")
                found += 1
    if not found:
        print(f"nothing held back for {args.fingerprint} (sent as it happened, or unknown)")
    return 0


def cmd_silence_add(args: argparse.Namespace) -> int:
    if not (args.cluster or args.node or args.rule or args.label):
        raise SystemExit(
            "nodewatch: a silence needs at least one matcher (--cluster, --node, --rule, --label)"
        )
    now = time.time()
    labels = dict(kv.split("=", 1) for kv in args.label)
    s = Silence(
        id="s-" + secrets.token_hex(4),
        starts=now,
        ends=now + args.duration,
        cluster=args.cluster or "",
        node=args.node or "",
        rule=args.rule or "",
        labels=labels,
        author=args.author,
        comment=args.comment,
    )
    _store(args).add_silence(s)
    print(f"{s.id} silences until {_when(s.ends)}")
    return 0


def cmd_silence_list(args: argparse.Namespace) -> int:
    rows = _store(args).silences()
    for s in rows:
        match = " ".join(
            f"{k}={v}" for k, v in (("cluster", s.cluster), ("node", s.node), ("rule", s.rule)) if v
        ) + "".join(f" {k}={v}" for k, v in s.labels.items())
        print(f"{s.id}  until {_when(s.ends)}  {match}  by {s.author or '?'}: {s.comment}")
    print(f"{len(rows)} active silence(s)")
    return 0


def cmd_silence_expire(args: argparse.Namespace) -> int:
    ok = _store(args).expire_silence(args.id)
    print(f"{args.id} expired" if ok else f"no silence {args.id}")
    return 0 if ok else 1


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    al = sub.add_parser("alerts", parents=[common], help="open alerts: list, acknowledge, why not paged")
    al_sub = al.add_subparsers(dest="action", required=True)
    ls = al_sub.add_parser("list", parents=[common])
    ls.add_argument("--cluster")
    ls.set_defaults(func=cmd_alerts_list)
    ack = al_sub.add_parser("ack", parents=[common], help="stop repeats of an alert until it resolves")
    ack.add_argument("fingerprint")
    ack.add_argument("--cluster")
    ack.add_argument("--undo", action="store_true")
    ack.set_defaults(func=cmd_alerts_ack)
    why = al_sub.add_parser("why", parents=[common], help="why an alert was not sent (or was delayed)")
    why.add_argument("fingerprint")
    why.add_argument("--cluster")
    why.set_defaults(func=cmd_alerts_why)

    si = sub.add_parser(
        "silence", parents=[common], help="mute alerts matching cluster/node/rule/labels for a while"
    )
    si_sub = si.add_subparsers(dest="action", required=True)
    add = si_sub.add_parser("add", parents=[common])
    add.add_argument("--cluster", help="cluster name or glob")
    add.add_argument("--node", help="node name or glob, e.g. 'web-*'")
    add.add_argument("--rule", help="rule name or glob, e.g. cpu_usage")
    add.add_argument(
        "--label", action="append", default=[], metavar="KEY=VALUE", help="node or cluster label"
    )
    add.add_argument(
        "--duration", type=parse_duration, default=parse_duration("2h"), help="e.g. 30m, 2h (2h)"
    )
    add.add_argument("--author", required=True)
    add.add_argument("--comment", required=True)
    add.set_defaults(func=cmd_silence_add)
    si_sub.add_parser("list", parents=[common]).set_defaults(func=cmd_silence_list)
    ex = si_sub.add_parser("expire", parents=[common])
    ex.add_argument("id")
    ex.set_defaults(func=cmd_silence_expire)
