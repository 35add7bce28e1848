"""Child process of bench/bench_scan.py: one run of nodewatch's worker scan, or of the sketch reference, timed inside.

    python bench/scan_child.py nodewatch --config FILE --cluster NAME --redis URL [--scans 2] [--count-port P]
    python bench/scan_child.py reference --kubeconfig FILE [--scans 1] [--count-port P]

Talks to the parent in JSON lines (stdout; everything else the child prints goes to stderr), and waits for a line
on stdin after each, so the parent can read and reset kubesim's traffic counters between scans:

    {"event": "ready"}                          imports, settings, client and Redis are set up; no scan yet
    {"event": "scan", "wall_s", "cpu_s", ...}   one scan; cpu_s = time.process_time() around the scan only
    {"event": "done"}

Whole-process CPU and peak RSS are the parent's (``os.wait4``). ``--count-port`` counts requests and received bytes
to that port on the client side (http.client / socket level), for a kubesim without traffic counters.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


class WireCounter:
    """Requests sent to, and bytes received from, one TCP port in this process (headers included)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests = 0
        self.bytes = 0
        self._socks: weakref.WeakSet[socket.socket] = weakref.WeakSet()

    def install(self) -> None:
        counter = self
        put, connect, recv_into, recv = (
            http.client.HTTPConnection.putrequest,
            socket.socket.connect,
            socket.socket.recv_into,
            socket.socket.recv,
        )

        def counted_put(conn: http.client.HTTPConnection, *a: Any, **kw: Any) -> None:
            if conn.port == counter.port:
                counter.requests += 1
            put(conn, *a, **kw)

        def counted_connect(sock: socket.socket, address: Any) -> None:
            connect(sock, address)
            if isinstance(address, tuple) and len(address) >= 2 and address[1] == counter.port:
                counter._socks.add(sock)

        def counted_recv_into(sock: socket.socket, buf: Any, *a: Any) -> int:
            n = recv_into(sock, buf, *a)
            if n and sock in counter._socks:
                counter.bytes += n
            return n

        def counted_recv(sock: socket.socket, *a: Any) -> bytes:
            data = recv(sock, *a)
            if data and sock in counter._socks:
                counter.bytes += len(data)
            return data

        http.client.HTTPConnection.putrequest = counted_put  # type: ignore[method-assign]
        socket.socket.connect = counted_connect  # type: ignore[method-assign]
        socket.socket.recv_into = counted_recv_into  # type: ignore[method-assign]
        socket.socket.recv = counted_recv  # type: ignore[method-assign]

    def snapshot(self) -> tuple[int, int]:
        return self.requests, self.bytes


class Parent:
    """The JSON-lines channel to bench_scan.py (the real stdout; sys.stdout goes to stderr)."""

    def __init__(self) -> None:
        self._out = os.fdopen(os.dup(1), "w", buffering=1)
        sys.stdout = sys.stderr

    def say(self, event: str, **fields: Any) -> None:
        self._out.write(json.dumps({"event": event, **fields}) + "\n")
        self._out.flush()

    def wait(self) -> float | None:
        """Wait for the parent's line; a number in it is the ``now`` of the next scan (a simulated clock)."""
        line = sys.stdin.readline()
        if line == "":
            raise SystemExit("parent went away")
        word = line.split()[1:2]
        return float(word[0]) if word else None


def timed(fn: Callable[[], Any]) -> tuple[Any, float, float]:
    wall0, cpu0 = time.perf_counter(), time.process_time()
    out = fn()
    return out, time.perf_counter() - wall0, time.process_time() - cpu0


def run_nodewatch(args: argparse.Namespace, parent: Parent, counter: WireCounter | None) -> None:
    """What a worker does for one scan of one cluster: settings, ClusterSpec, ``pipeline.run_scan`` on Redis."""
    sys.path.insert(0, str(ROOT))
    from worker import clusters, pipeline, settings
    from worker.state import store as state_store

    cfg = settings.load(args.config)
    spec = clusters.find(cfg, args.cluster)
    if spec is None:
        raise SystemExit(f"cluster {args.cluster} not in {args.config}")
    store = state_store.Stores(state_store.connect(args.redis))
    collect: dict[str, float] = {}
    read = getattr(pipeline, "read", None)
    if read is not None:  # time the collect part of run_scan apart (absent if the scan path is restructured)

        def timed_read(*a: Any, **kw: Any) -> Any:
            out, collect["wall_s"], collect["cpu_s"] = timed(lambda: read(*a, **kw))
            return out

        pipeline.read = timed_read
    read_history = HistoryReads()
    parent.say("ready")
    now = parent.wait()
    for i in range(args.scans):
        collect.clear()
        read_history.clear()
        before = counter.snapshot() if counter else (0, 0)
        at = time.time() if now is None else now
        result, wall, cpu = timed(lambda at=at: pipeline.run_scan(store, cfg, spec, at))
        fields: dict[str, Any] = {
            "scan": i + 1,
            "wall_s": wall,
            "cpu_s": cpu,
            "outcome": result.outcome,
            "error": result.error,
            "nodes": len(result.sample.nodes) if result.sample is not None else 0,
            "findings": sum(1 for f in result.findings if f.severity is not None),
            "collect_wall_s": collect.get("wall_s"),
            "collect_cpu_s": collect.get("cpu_s"),
            "redis_rt": result.redis_round_trips,
            "predicted": result.predicted,
            "history_nodes": read_history.nodes,
            "history_bytes": read_history.bytes,
            "predict_cpu_s": read_history.predict_cpu_s,
            "outcomes": read_history.outcomes,
        }
        if counter:
            after = counter.snapshot()
            fields.update(requests=after[0] - before[0], bytes=after[1] - before[1])
        parent.say("scan", **fields)
        now = parent.wait()


class HistoryReads:
    """The history a scan read from Redis: the nodes asked for (``History.read``) and the bytes of their fields
    (counted where the store decodes them, a node's state and times once per read); and the predictions made from
    it: CPU in ``trend.predict`` and what each answered (a model, or a refusal's code)."""

    def __init__(self) -> None:
        from worker.predict import trend
        from worker.state import history

        self.nodes = 0
        self.bytes = 0
        self.predict_cpu_s = 0.0
        self.outcomes: dict[str, int] = {}
        self._states: set[int] = set()  # the state fields of one read's nodes (alive while it decodes)
        read, decode, predict = history.History.read, history.decode_series, trend.predict

        def counted_read(store: Any, cluster: str, wanted: Any, since: float = 0.0) -> Any:
            self.nodes += len(wanted)
            self._states.clear()
            return read(store, cluster, wanted, since)

        def counted(got: list[bytes | None], m: int, since: float) -> Any:
            if id(got[0]) not in self._states:  # the same state bytes for each metric of a node
                self._states.add(id(got[0]))
                self.bytes += len(got[0] or b"") + len(got[1] or b"")
            self.bytes += sum(len(g or b"") for g in got[2:])
            return decode(got, m, since)

        def timed_predict(*a: Any, **kw: Any) -> Any:
            out, _wall, cpu = timed(lambda: predict(*a, **kw))
            self.predict_cpu_s += cpu
            code = out.model if isinstance(out, trend.Prediction) else out.code
            self.outcomes[code] = self.outcomes.get(code, 0) + 1
            return out

        history.History.read = counted_read  # type: ignore[method-assign]
        history.decode_series = counted  # type: ignore[assignment]
        trend.predict = timed_predict

    def clear(self) -> None:
        self.nodes = 0
        self.bytes = 0
        self.predict_cpu_s = 0.0
        self.outcomes = {}


def run_reference(args: argparse.Namespace, parent: Parent, counter: WireCounter | None) -> None:
    """The sketch's periodic scan (bench/sketch_reference.py) with the official client and its models."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    import sketch_reference

    monitor = sketch_reference.SketchMonitor(args.kubeconfig)
    parent.say("ready")
    parent.wait()
    for i in range(args.scans):
        before = counter.snapshot() if counter else (0, 0)
        alerts, wall, cpu = timed(monitor.check_all_nodes)
        fields: dict[str, Any] = {
            "scan": i + 1,
            "wall_s": wall,
            "cpu_s": cpu,
            "outcome": "ok",
            "nodes": monitor.nodes_checked,
            "pods": monitor.pods_counted,
            "findings": len(alerts),
        }
        if counter:
            after = counter.snapshot()
            fields.update(requests=after[0] - before[0], bytes=after[1] - before[1])
        parent.say("scan", **fields)
        parent.wait()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="side", required=True)
    nw = sub.add_parser("nodewatch")
    nw.add_argument("--config", required=True)
    nw.add_argument("--cluster", required=True)
    nw.add_argument("--redis", required=True)
    nw.add_argument("--scans", type=int, default=2)
    ref = sub.add_parser("reference")
    ref.add_argument("--kubeconfig", required=True)
    ref.add_argument("--scans", type=int, default=1)
    for p in (nw, ref):
        p.add_argument("--count-port", type=int, help="count requests/bytes to this port on the client side")
    args = ap.parse_args()
    parent = Parent()
    counter = None
    if args.count_port:
        counter = WireCounter(args.count_port)
        counter.install()
    (run_nodewatch if args.side == "nodewatch" else run_reference)(args, parent, counter)
    parent.say("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
