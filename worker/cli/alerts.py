"""``nodewatch alerts list|ack|why``, ``silence add|list|expire`` and ``deadletters list|retry``: the on-call's
handles on what was (not) sent, all over the workers' Redis. The actions themselves (``acknowledge``,
``add_silence``, ``retry_dead_letters``) and the why-stream's reading (``why_rows``) are functions of their own:
the dashboard's buttons and pages call the same ones."""

from __future__ import annotations

import argparse
import secrets
import textwrap
import time
from collections.abc import Iterable
from typing import Any

from worker.cli import common, durations, story, timefmt
from worker.model.alerts import AlertState, Silence

# --- the operator's actions, shared with the dashboard (worker/dashboard): one way to do each ---


def acknowledge(
    stores: Any, clusters: Iterable[str], fingerprint: str, acked: bool = True
) -> tuple[str, AlertState] | None:
    """Ack (or un-ack) the open alert ``fingerprint`` in the first of ``clusters`` holding it: (cluster, state),
    or None when none does."""
    for cluster in clusters:
        state = stores.alerts.set_ack(cluster, fingerprint, acked)
        if state is not None:
            return cluster, state
    return None


def why_rows(
    stores: Any, clusters: Iterable[str], fingerprint: str | None = None, count: int = 1000
) -> list[dict[str, Any]]:
    """The why-stream's entries (what was held back and why: at, cluster, fp, reason), newest first per
    cluster; of one alert when ``fingerprint``."""
    return [
        {"at": int(row["id"].split("-")[0]) / 1000, "cluster": cluster, "fp": row.get("fp", ""),
         "reason": row["reason"]}
        for cluster in clusters
        for row in stores.notifications.why(cluster, count=count)
        if fingerprint is None or row.get("fp") == fingerprint
    ]  # fmt: skip


def add_silence(
    stores: Any,
    now: float,
    duration: float,
    *,
    cluster: str = "",
    node: str = "",
    rule: str = "",
    labels: dict[str, str] | None = None,
    author: str,
    comment: str,
) -> Silence:
    """A new silence from ``now`` for ``duration`` seconds, stored; at least one matcher is the caller's check."""
    s = Silence(
        id="s-" + secrets.token_hex(4),
        starts=now,
        ends=now + duration,
        cluster=cluster,
        node=node,
        rule=rule,
        labels=labels or {},
        author=author,
        comment=comment,
    )
    stores.silences.add(s)
    return s


def retry_dead_letters(stores: Any) -> int:
    """Every dead letter queued for delivery again (taken off the list); how many."""
    from tasks.notify import notify  # a CLI is a shell like the tasks: it may enqueue them

    rows = stores.notifications.take_dead_letters()
    for row in rows:
        notify.apply_async(args=[row["cluster"], row["notification"], row["receiver"]], queue="notify")
    return len(rows)


# --- alerts ---


def cmd_alerts_list(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    stores = common.stores()
    names = common.clusters_to_show(cfg, args, stores)
    rows: list[dict[str, Any]] = []
    for cluster in names:
        for fp, st in sorted(stores.alerts.load(cluster).items(), key=lambda kv: (kv[1].node, kv[1].rule)):
            rows.append(
                {
                    "fingerprint": fp,
                    "cluster": cluster,
                    "node": st.node,
                    "rule": st.rule,
                    "status": st.status,
                    "severity": st.severity.label,
                    "since": st.since,
                    "fired_at": st.fired_at,
                    "last_seen": st.active_at,
                    "sent_severity": st.sent_severity.label if st.sent_severity else None,
                    "acked": st.acked,
                    "muted": st.status == "firing" and not st.sent_severity,
                }
            )
    if common.emit(args, {"alerts": rows}):
        return 0
    tz, now = timefmt.zone(cfg), time.time()
    heads = ["FINGERPRINT", "CLUSTER", "NODE", "RULE", "STATUS", "SINCE", "FLAGS"]
    if common.wide(args):
        heads += ["FIRED", "LAST SEEN", "LAST SENT"]

    def cells(r: dict[str, Any]) -> list[str]:
        row = [
            r["fingerprint"],
            r["cluster"],
            r["node"] or "(cluster)",
            r["rule"],
            f"{r['status']}/{r['severity']}",
            timefmt.at(r["since"], tz, now),
            " ".join(flag for flag in ("acked", "muted") if r[flag]) or "-",
        ]
        if common.wide(args):
            row += [
                "-" if r["fired_at"] is None else timefmt.stamp(r["fired_at"], tz),
                "-" if r["last_seen"] is None else timefmt.relative(r["last_seen"], now),
                r["sent_severity"] or "-",
            ]
        return row

    common.table(heads, (cells(r) for r in rows))
    print(f"{len(rows)} alert(s) in {len(names)} cluster(s)")
    return 0


def cmd_alerts_ack(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    stores = common.stores()
    found = acknowledge(stores, common.clusters_to_show(cfg, args, stores), args.fingerprint, not args.undo)
    if found is None:
        raise common.CliError(f"no open alert {args.fingerprint} in Redis at {common.redis_where()}")
    cluster, state = found
    verb = "un-acknowledged" if args.undo else "acknowledged: no repeats until it resolves"
    print(f"{args.fingerprint} ({cluster} {state.node} {state.rule}) {verb}")
    return 0


def cmd_alerts_why(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    stores = common.stores()
    names = common.clusters_to_show(cfg, args, stores)
    decisions = [
        story.Decision(r["at"], r["cluster"], r["reason"]) for r in why_rows(stores, names, args.fingerprint)
    ]
    open_alerts = [
        (cluster, st) for cluster in names if (st := stores.alerts.load(cluster).get(args.fingerprint))
    ]
    if not decisions and not open_alerts:
        raise common.CliError(
            f"no alert {args.fingerprint}: no open alert and no decision recorded for it in "
            f"{', '.join(names)} (Redis at {common.redis_where()})"
        )
    decisions.sort(key=lambda d: d.at)
    doc = {
        "fingerprint": args.fingerprint,
        "alert": [dict(st.to_json(), cluster=c) for c, st in open_alerts],
        "decisions": [{"at": d.at, "cluster": d.cluster, "reason": d.reason} for d in decisions],
    }
    if common.emit(args, doc):
        return 0
    tz, now = timefmt.zone(cfg), time.time()
    for cluster, st in open_alerts:
        print(story.headline(args.fingerprint, cluster, st, tz, now))
    if not open_alerts:
        print(f"{args.fingerprint}: no open alert (resolved or never fired); its decisions:")
    for line in story.lines(decisions, tz, now):
        print(f"  {line}")
    if not decisions:
        print("  nothing recorded: every message was sent as it happened")
    return 0


# --- silences ---


def cmd_silence_add(args: argparse.Namespace) -> int:
    if not (args.cluster or args.node or args.rule or args.label):
        raise common.CliError(
            "a silence needs at least one matcher (--cluster, --node, --rule, --label)", common.EXIT_CONFIG
        )
    labels = {}
    for kv in args.label:
        key, sep, value = kv.partition("=")
        if not sep or not key:
            raise common.CliError(f"--label {kv!r}: give KEY=VALUE", common.EXIT_CONFIG)
        labels[key] = value
    cfg = common.load_config(args)
    now = time.time()
    s = add_silence(
        common.stores(),
        now,
        args.duration,
        cluster=args.cluster or "",
        node=args.node or "",
        rule=args.rule or "",
        labels=labels,
        author=args.author,
        comment=args.comment,
    )
    print(f"{s.id} silences until {timefmt.at(s.ends, timefmt.zone(cfg), now)}")
    return 0


def cmd_silence_list(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    stores, now = common.stores(), time.time()
    rows = stores.silences.active(now)
    common.require_nodewatch(stores, len(rows), cfg, args)
    if common.emit(args, {"silences": [s.to_json() for s in rows]}):
        return 0

    def matchers(s: Silence) -> str:
        pairs = [("cluster", s.cluster), ("node", s.node), ("rule", s.rule), *s.labels.items()]
        return " ".join(f"{k}={v}" for k, v in pairs if v)

    tz = timefmt.zone(cfg)
    heads = ["ID", "UNTIL", "MATCHERS", "BY", "COMMENT"] + (["STARTED"] if common.wide(args) else [])
    common.table(
        heads,
        (
            [s.id, timefmt.at(s.ends, tz, now), matchers(s), s.author or "?", s.comment]
            + ([timefmt.stamp(s.starts, tz)] if common.wide(args) else [])
            for s in rows
        ),
    )
    print(f"{len(rows)} active silence(s)")
    return 0


def cmd_silence_expire(args: argparse.Namespace) -> int:
    common.load_config(args)
    ok = common.stores().silences.expire(args.id, time.time())
    print(f"{args.id} expired" if ok else f"no silence {args.id}")
    return 0 if ok else common.EXIT_FAIL


# --- dead letters ---


def cmd_deadletters_list(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    stores = common.stores()
    rows = stores.notifications.dead_letters()
    common.require_nodewatch(stores, len(rows), cfg, args)
    if common.emit(args, {"dead_letters": rows}):
        return 0
    tz, now = timefmt.zone(cfg), time.time()
    # the table cuts a long reason to a screen's width; -o wide and json keep it whole
    reason = (lambda r: str(r)) if common.wide(args) else (lambda r: textwrap.shorten(str(r), 80))
    common.table(
        ["AT", "RECEIVER", "CLUSTER", "NOTIFICATION", "REASON"],
        (
            [timefmt.at(float(r.get("at", 0)), tz, now), str(r.get("receiver")), str(r.get("cluster")),
             str(r.get("notification")), reason(r.get("reason"))]
            for r in rows
        ),
    )  # fmt: skip
    print(f"{len(rows)} dead letter(s)")
    return 0


def cmd_deadletters_retry(args: argparse.Namespace) -> int:
    common.load_config(args)
    print(f"re-queued {retry_dead_letters(common.stores())} dead letter(s)")
    return 0


def add_parsers(sub: Any, common_args: argparse.ArgumentParser) -> None:
    al = sub.add_parser("alerts", parents=[common_args], help="open alerts: list, acknowledge, why not paged")
    al_sub = al.add_subparsers(dest="action", required=True)
    ls = al_sub.add_parser("list", parents=[common_args], help="open alerts (firing and pending)")
    ls.add_argument("--cluster")
    common.add_output(ls)
    ls.set_defaults(func=cmd_alerts_list)
    ack = al_sub.add_parser("ack", parents=[common_args], help="stop repeats of an alert until it resolves")
    ack.add_argument("fingerprint")
    ack.add_argument("--cluster")
    ack.add_argument("--undo", action="store_true")
    ack.set_defaults(func=cmd_alerts_ack)
    why = al_sub.add_parser("why", parents=[common_args], help="why an alert was not sent (or was delayed)")
    why.add_argument("fingerprint")
    why.add_argument("--cluster")
    common.add_output(why)
    why.set_defaults(func=cmd_alerts_why)

    si = sub.add_parser(
        "silence", parents=[common_args], help="mute alerts matching cluster/node/rule/labels for a while"
    )
    si_sub = si.add_subparsers(dest="action", required=True)
    add = si_sub.add_parser("add", parents=[common_args], help="mute matching alerts for --duration")
    add.add_argument("--cluster", help="cluster name or glob")
    add.add_argument("--node", help="node name or glob, e.g. 'web-*'")
    add.add_argument("--rule", help="rule name or glob, e.g. cpu_usage")
    add.add_argument(
        "--label", action="append", default=[], metavar="KEY=VALUE", help="node or cluster label"
    )
    add.add_argument(
        "--duration", type=durations.flag(), default=2 * 3600.0, help="e.g. 30m, 2h, 1d, 1h30m (default 2h)"
    )
    add.add_argument("--author", required=True)
    add.add_argument("--comment", required=True)
    add.set_defaults(func=cmd_silence_add)
    sl = si_sub.add_parser("list", parents=[common_args], help="active silences")
    common.add_output(sl)
    sl.set_defaults(func=cmd_silence_list)
    ex = si_sub.add_parser("expire", parents=[common_args], help="end a silence now")
    ex.add_argument("id")
    ex.set_defaults(func=cmd_silence_expire)

    dl = sub.add_parser("deadletters", parents=[common_args], help="messages that could not be delivered")
    dl_sub = dl.add_subparsers(dest="action", required=True)
    dls = dl_sub.add_parser("list", parents=[common_args], help="each undelivered message and why")
    common.add_output(dls)
    dls.set_defaults(func=cmd_deadletters_list)
    dl_sub.add_parser("retry", parents=[common_args], help="queue them all again").set_defaults(
        func=cmd_deadletters_retry
    )
