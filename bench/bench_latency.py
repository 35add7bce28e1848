"""Alert latency benchmark: from a kubesim node going NotReady to the receiver holding the message, under fleet load.

    .venv/bin/python bench/bench_latency.py --clusters 500 --nodes 100 --pods-per-node 30 --duration 360  # issue 11
    .venv/bin/python bench/bench_latency.py --clusters 20 --nodes 10 --interval 10 --duration 60 --every 2:4  # quick

Runs the fleet of bench/bench_fleet.py (same options, same figures) with one receiver: a Slack webhook on a chatsim
started in this process (``chatsim.testing.ChatSim``, which records each message's arrival time), ``language: en``
and ``thresholds.notReadyFor: 0`` (the only for-duration between a NotReady node and its message; ``ready_drop``
uses it too; usage for-durations keep their defaults so the fleet's usage noise stays out of the receiver). Inside
the measured window, every ``--every`` seconds (uniform in the range) a node not touched before, of a random
cluster, is set ``ready: "False"`` through kubesim's control API; the wall time just before the call is the
change's time. After the window the fleet keeps running up to one interval + ``--drain`` seconds, for the last
changes' messages.

A change is delivered by the first message chatsim accepted after it that names its node and says NotReady. Its
latency splits at that cluster's first scan started after the change (``nw:{c}:scans``): waiting for the scan
(start − change), the scan (end − start), and queueing + routing + sending (arrival − scan end).
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import bench_fleet as fleet_bench  # noqa: E402

from chatsim.testing import ChatSim  # noqa: E402
from worker.state.store import Stores  # noqa: E402

SLACK_TOKEN = "benchlatencytoken"
TARGET_SLACK_S = 5.0  # issue 11: alert latency p99 <= scan interval + 5 s


@dataclass
class Change:
    cluster: str
    node: str
    at: float  # wall time just before the control call
    call_s: float  # how long the control call took
    arrived: float | None = None
    scan_started: float | None = None
    scan_ended: float | None = None

    @property
    def latency(self) -> float | None:
        return None if self.arrived is None else self.arrived - self.at


def make_changes(fleet: fleet_bench.Fleet, every: tuple[float, float], seed: int) -> tuple[list[Change], Any]:
    """The ``during`` hook of ``bench_fleet.measure`` and the list it fills."""
    changes: list[Change] = []
    rng = random.Random(seed)
    used: set[tuple[str, str]] = set()
    sim = fleet.sim
    assert sim is not None

    def during(t_from: float, t_to: float) -> None:
        due = t_from + rng.uniform(*every)
        while due < t_to:
            cluster = rng.choice(fleet.names)
            nodes = [n for n in sim.control.cluster(cluster)["nodes"] if (cluster, n) not in used]
            time.sleep(max(0.0, due - time.time()))
            if nodes:
                node = rng.choice(nodes)
                used.add((cluster, node))
                t = time.time()
                sim.control.set_node(cluster, node, ready="False")
                changes.append(Change(cluster, node, t, time.time() - t))
            due += rng.uniform(*every)

    return changes, during


def mentions(message: dict[str, Any], node: str) -> bool:
    text = f"{message.get('headline', '')} {json.dumps(message.get('body'), ensure_ascii=False)}"
    # sim-1-pool-3 must not match sim-1-pool-30 or sim-11-pool-3
    return bool(re.search(rf"(?<![\w-]){re.escape(node)}(?![\w-])", text)) and "NotReady" in text


def match(changes: list[Change], messages: list[dict[str, Any]]) -> None:
    for c in changes:
        if c.arrived is None:
            hits = [m["time"] for m in messages if m["time"] >= c.at and mentions(m, c.node)]
            c.arrived = min(hits) if hits else None


def first_scans(fleet: fleet_bench.Fleet, changes: list[Change]) -> None:
    for c in changes:
        hist = Stores(fleet.r).schedule.scan_history(c.cluster)
        after = sorted((float(h["started"]), float(h["ended"])) for h in hist if float(h["started"]) >= c.at)
        if after:
            c.scan_started, c.scan_ended = after[0]


def summarise(changes: list[Change], messages: list[dict[str, Any]], interval: float) -> dict[str, Any]:
    got = [c for c in changes if c.latency is not None]
    lat = [c.latency for c in got if c.latency is not None]
    wait = [c.scan_started - c.at for c in got if c.scan_started is not None]
    scan = [
        c.scan_ended - c.scan_started for c in got if c.scan_ended is not None and c.scan_started is not None
    ]
    send = [c.arrived - c.scan_ended for c in got if c.arrived is not None and c.scan_ended is not None]
    matched = {id(m) for m in messages for c in got if m["time"] == c.arrived and mentions(m, c.node)}

    def dist(values: list[float]) -> dict[str, float | None]:
        return {
            "p50": round(fleet_bench.pct(values, 50), 2),
            "p99": round(fleet_bench.pct(values, 99), 2),
            "max": round(max(values), 2) if values else None,
        }

    return {
        "changes": len(changes),
        "delivered": len(got),
        "never_delivered": [f"{c.cluster}/{c.node}" for c in changes if c.latency is None],
        "latency_s": dist(lat),
        "wait_for_scan_s": dist(wait),
        "scan_s": dist(scan),
        "scan_end_to_receiver_s": dist(send),
        "control_call_s": dist([c.call_s for c in changes]),
        "other_messages": len(messages) - len(matched),
        "other_headlines": sorted({str(m["headline"])[:80] for m in messages if id(m) not in matched})[:8],
        "target_s": interval + TARGET_SLACK_S,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    fleet_bench.add_fleet_args(ap)
    ap.add_argument(
        "--every", default="10:20", help="seconds between two NotReady changes, LOW:HIGH (uniform)"
    )
    ap.add_argument("--drain", type=float, default=30.0, help="after the window: wait interval + this (s)")
    ap.add_argument("--seed", type=int, default=1, help="which clusters and nodes, and when")
    args = ap.parse_args()
    lo, _, hi = args.every.partition(":")
    every = (float(lo), float(hi or lo))
    with ChatSim() as chat:
        config = {
            "language": "en",
            "slack": {"webhookURL": chat.slack_url(SLACK_TOKEN)},
            "thresholds": {"notReadyFor": 0},
        }
        fleet = fleet_bench.Fleet(fleet_bench.spec_of(args, config))
        try:
            with fleet:
                fleet_bench.header(fleet, args.duration)
                changes, during = make_changes(fleet, every, args.seed)
                figures = fleet_bench.measure(fleet, args.duration, during)
                deadline = time.time() + args.interval + args.drain
                while True:
                    match(changes, chat.messages("slack"))
                    if all(c.arrived is not None for c in changes) or time.time() > deadline:
                        break
                    time.sleep(1)
                first_scans(fleet, changes)
                messages = chat.messages("slack")
                attempts = chat.attempts("slack")
        finally:
            fleet.close_redis()
    fleet_bench.save_records(figures, args.records)
    latency = summarise(changes, messages, args.interval)
    latency["receiver_attempts_not_accepted"] = sum(1 for a in attempts if a != "accepted")
    figures["latency"] = latency
    figures["latency_changes"] = [c.__dict__ for c in changes]
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    fleet_bench.report(figures)
    f = latency
    print(f"NotReady changes: {f['changes']} (one every {args.every}s), delivered {f['delivered']}, never "
          f"delivered {len(f['never_delivered'])} {f['never_delivered'] or ''}")  # fmt: skip
    for what in ("latency_s", "wait_for_scan_s", "scan_s", "scan_end_to_receiver_s", "control_call_s"):
        d = f[what]
        print(f"  {what:24} p50 {d['p50']}s  p99 {d['p99']}s  max {d['max']}s")
    print(f"other messages at the receiver: {f['other_messages']} {f['other_headlines'] or ''}; requests it did "
          f"not accept: {f['receiver_attempts_not_accepted']}")  # fmt: skip
    ok = bool(f["changes"]) and not f["never_delivered"] and f["latency_s"]["p99"] <= f["target_s"]
    print("RESULT:", f"alert latency p99 {f['latency_s']['p99']}s vs target {f['target_s']:g}s:",
          "met" if ok else "MISSED")  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
