"""Silences in Redis: configuration-like, kept until they end and pruned then. Key: ``nw:silences`` (keys.py).

An alert's ack is a field of its state: ``alerts.AlertStore.set_ack``.
"""

from __future__ import annotations

import json
from typing import Any

from worker.model.alerts import Silence
from worker.state import keys
from worker.state.batch import Batch, Result


def _active(raw: dict[str, str], now: float) -> tuple[list[Silence], list[str]]:
    """The silences not ended at ``now``, and the ids of those that ended."""
    out, ended = [], []
    for sid, value in raw.items():
        s = Silence.from_json(json.loads(value))
        if s.ends <= now:
            ended.append(sid)
        else:
            out.append(s)
    return out, ended


class SilenceStore:
    def __init__(self, client: Any) -> None:
        self.r: Any = client

    def add(self, silence: Silence) -> None:
        self.r.hset(keys.SILENCES, silence.id, json.dumps(silence.to_json(), ensure_ascii=False))

    def active(self, now: float) -> list[Silence]:
        """The silences not ended yet, soonest end first; the ended ones are pruned."""
        out, ended = _active(self.r.hgetall(keys.SILENCES), now)
        if ended:
            self.r.hdel(keys.SILENCES, *ended)
        return sorted(out, key=lambda s: s.ends)

    def read_active(self, batch: Batch, now: float) -> Result[list[Silence]]:
        start = batch.mark()
        batch.pipe.hgetall(keys.SILENCES)
        return batch.since(start, lambda r: _active(r[0], now)[0])

    def expire(self, silence_id: str, now: float) -> bool:
        """End a silence now; False when there is none of that id."""
        raw = self.r.hget(keys.SILENCES, silence_id)
        if raw is None:
            return False
        s = Silence.from_json(json.loads(raw))
        self.r.hset(keys.SILENCES, silence_id, json.dumps({**s.to_json(), "ends": now}))
        return True
