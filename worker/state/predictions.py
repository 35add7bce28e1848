"""The scan's memory of its predictions (keys.py: ``pred`` of each cluster): per node and metric, the 5-minute
bucket of the last prediction and, while it is active, its finding (worker/predict/findings.py encodes both).

Read with the scan's state (one round trip, ``Stores.load_scan_state``) and written in its one commit: a scan that
predicts nothing new writes nothing here. Entries are strings; what they mean is worker/predict's business.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from worker.state import keys
from worker.state.batch import Batch, Result, Transaction

SEP = "\t"  # not in a node name


def field_of(node: str, metric: str) -> str:
    return f"{node}{SEP}{metric}"


def split(name: str) -> tuple[str, str]:
    node, _, metric = name.rpartition(SEP)
    return node, metric


@dataclass
class Changes:
    """What a scan writes: entries set (field -> value) and removed."""

    set: dict[str, str] = field(default_factory=dict)
    delete: list[str] = field(default_factory=list)


class PredictionStore:
    def __init__(self, client: Any) -> None:
        self.r: Any = client

    def read_scan(self, batch: Batch, cluster: str) -> Result[dict[str, str]]:
        start = batch.mark()
        batch.pipe.hgetall(keys.predictions(cluster))
        return batch.since(start, lambda r: dict(r[0] or {}))

    def load(self, cluster: str) -> Mapping[str, str]:
        return dict(self.r.hgetall(keys.predictions(cluster)))

    def stage(self, tx: Transaction, cluster: str, changes: Changes | None) -> None:
        if changes is None or not (changes.set or changes.delete):
            return
        key = keys.predictions(cluster)
        if changes.set:
            tx.hset(key, changes.set)
        if changes.delete:
            for i in range(0, len(changes.delete), 500):
                tx.call("HDEL", key, *changes.delete[i : i + 500])
        tx.call("EXPIRE", key, keys.ALERTS_TTL)

    def stage_forget(self, tx: Transaction, cluster: str) -> None:
        tx.call("DEL", keys.predictions(cluster))
