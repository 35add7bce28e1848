"""Per-node metric history in Redis (``History``): scan samples for 6 h and 5-minute mean/max for 7 days, in
≤ 24 KB a node. The metrics are worker/model/history's ``METRICS``; the packed layout and its decoding are in
worker/state/history_codec.py, the Lua script that writes it in worker/state/history_script.py.

Writes: ``record`` is one pipelined round trip per scan per cluster — one Lua call per ``BATCH`` nodes (each call
short, since Redis runs one script at a time). The script appends the sample, closes the 5-minute bucket when a
new one starts (appending mean and max - mean, and missing entries for buckets without a scan), trims the scan
tier past 6 h (+10 min slack) and the bucket tier past 7 days (+1 h), and both tiers by size (``FINE_CAP``,
``COARSE_CAP``: the oldest eighth goes) so that even series noisier than the code expects stay within budget,
refreshes the key's TTL (8 days) and the node's score in the index once a bucket (entries not written for
7 days are dropped). A sample at or before the node's last one is ignored (a scan written twice writes once).

Reads: ``series(cluster, node, metric, since)``, ``cluster_series(cluster, metric, since)`` (one round trip
for the nodes named, two to list them) and ``node_series(cluster, node, since)`` (every metric, one round trip), answered as ``Series(fine, coarse)``; coarse buckets overlap the last
6 h of scan samples, and are dated at their middle.

The client may decode responses (``store.connect`` does): the binary fields are read with redis-py's
``NEVER_DECODE`` on the same connection, and written only by the script.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from typing import Any, cast

import redis
from redis.client import NEVER_DECODE

from worker.model.history import METRICS, Series
from worker.state import keys
from worker.state.history_codec import (
    BUCKET_S,
    COARSE_CAP,
    COARSE_N,
    COARSE_SLACK_N,
    FINE_CAP,
    FINE_S,
    FINE_SLACK_S,
    VERSION,
    decode_series,
    pack,
)
from worker.state.history_script import RECORD

BATCH = 200


class History:
    """The history store of all clusters over one Redis connection."""

    def __init__(self, client: redis.Redis, batch: int = BATCH) -> None:
        self._r = client
        self.batch = batch
        self._sha: str | None = None

    def record(
        self,
        cluster: str,
        t: float,
        samples: Mapping[str, Mapping[str, float | None]],
        also: Callable[[Any], None] | None = None,
    ) -> int:
        """Append one scan's values ({node: {metric: percent or None}}) at time ``t`` (epoch s); one round trip.
        Returns the number of nodes written (a node already holding a sample at or after ``t`` is skipped).
        ``also`` queues other writes of the scan on the same pipeline (the dashboard's view: nodeview.py)."""
        if not samples:
            if also is not None:
                pipe = self._r.pipeline(transaction=False)
                also(pipe)
                pipe.execute()
            return 0
        unknown = {m for values in samples.values() for m in values} - set(METRICS)
        if unknown:
            raise ValueError(f"unknown history metrics: {sorted(unknown)}")
        prefix_len = len(keys.history(cluster, ""))
        nodes = list(samples)
        calls: list[tuple[list[str], list[Any]]] = []
        for i in range(0, len(nodes), self.batch):
            chunk = nodes[i : i + self.batch]
            blob = b"".join(pack(samples[node]) for node in chunk)
            args = [int(t), blob, prefix_len, len(METRICS), FINE_S, FINE_SLACK_S, BUCKET_S, COARSE_N]
            args += [COARSE_SLACK_N, FINE_CAP, COARSE_CAP, keys.HISTORY_TTL, VERSION]
            calls.append(([keys.history_nodes(cluster)] + [keys.history(cluster, n) for n in chunk], args))
        return sum(self._run(calls, also))

    def _run(self, calls: list[tuple[list[str], list[Any]]], also: Callable[[Any], None] | None) -> list[int]:
        if self._sha is None:
            self._sha = _sha1(RECORD)
        pipe = self._r.pipeline(transaction=False)
        for k, a in calls:
            pipe.evalsha(self._sha, len(k), *k, *a)
        if also is not None:
            also(pipe)
        results = pipe.execute(raise_on_error=False)
        results, others = results[: len(calls)], results[len(calls) :]
        for res in others:
            if isinstance(res, Exception):
                raise res
        missing = [i for i, res in enumerate(results) if isinstance(res, redis.exceptions.NoScriptError)]
        if missing:  # a Redis restarted (or flushed its scripts): load it once and write those batches again
            self._r.script_load(RECORD)
            pipe = self._r.pipeline(transaction=False)
            for i in missing:
                k, a = calls[i]
                pipe.evalsha(self._sha, len(k), *k, *a)
            for i, res in zip(missing, pipe.execute(raise_on_error=False), strict=True):
                results[i] = res
        for res in results:
            if isinstance(res, Exception):
                raise res
        return [int(res) for res in results]

    def series(self, cluster: str, node: str, metric: str, since: float = 0.0) -> Series:
        """One node's history of ``metric`` from ``since`` (epoch s) on."""
        return self.cluster_series(cluster, metric, since, [node]).get(node, Series([], []))

    def cluster_series(
        self, cluster: str, metric: str, since: float = 0.0, nodes: Iterable[str] | None = None
    ) -> dict[str, Series]:
        """``metric`` for the nodes named (default: every node with history), one round trip for the reads."""
        m = METRICS.index(metric)
        names = self.nodes(cluster) if nodes is None else list(nodes)
        fields = ["s", "t", f"f{m}", f"a{m}", f"x{m}"]
        pipe = self._r.pipeline(transaction=False)
        for name in names:
            pipe.execute_command("HMGET", keys.history(cluster, name), *fields, **{NEVER_DECODE: []})
        out = {}
        for name, got in zip(names, pipe.execute(), strict=True):
            if got[0] is not None:
                out[name] = decode_series(got, m, since)
        return out

    def read(
        self, cluster: str, wanted: Mapping[str, Iterable[str]], since: float = 0.0
    ) -> dict[tuple[str, str], Series]:
        """Several metrics of several nodes ({node: metrics}) in one round trip: {(node, metric): Series}; a node
        without history is left out."""
        pipe = self._r.pipeline(transaction=False)
        asked: list[tuple[str, list[int]]] = []
        for name, metrics in wanted.items():
            ms = [METRICS.index(m) for m in metrics]
            fields = ["s", "t", *(f"{p}{m}" for m in ms for p in "fax")]
            pipe.execute_command("HMGET", keys.history(cluster, name), *fields, **{NEVER_DECODE: []})
            asked.append((name, ms))
        out = {}
        for (name, ms), got in zip(asked, pipe.execute() if asked else [], strict=True):
            if got[0] is None:
                continue
            for i, m in enumerate(ms):
                out[(name, METRICS[m])] = decode_series(
                    [got[0], got[1], *got[2 + 3 * i : 5 + 3 * i]], m, since
                )
        return out

    def node_series(self, cluster: str, node: str, since: float = 0.0) -> dict[str, Series]:
        """Every metric of one node from ``since`` on, in one HMGET (the dashboard's node page draws them all)."""
        fields = ["s", "t"] + [f"{p}{m}" for m in range(len(METRICS)) for p in "fax"]
        got = self._r.execute_command("HMGET", keys.history(cluster, node), *fields, **{NEVER_DECODE: []})
        if got[0] is None:
            return {metric: Series([], []) for metric in METRICS}
        return {
            metric: decode_series([got[0], got[1], *got[2 + 3 * m : 5 + 3 * m]], m, since)
            for m, metric in enumerate(METRICS)
        }

    def nodes(self, cluster: str) -> list[str]:
        """The nodes with history written in the last 7 days."""
        names = cast(list[bytes | str], self._r.zrange(keys.history_nodes(cluster), 0, -1))
        return [_text(n) for n in names]

    def forget(self, cluster: str, nodes: Iterable[str] | None = None) -> None:
        """Delete the history of some nodes (default: the whole cluster's); unneeded for TTLs, quicker for a
        removed cluster."""
        names = self.nodes(cluster) if nodes is None else list(nodes)
        pipe = self._r.pipeline(transaction=False)
        for i in range(0, len(names), 1000):
            pipe.delete(*(keys.history(cluster, n) for n in names[i : i + 1000]))
        if nodes is None:
            pipe.delete(keys.history_nodes(cluster))
        elif names:
            pipe.zrem(keys.history_nodes(cluster), *names)
        pipe.execute()


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
