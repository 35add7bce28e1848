"""Reads and writes of several stores, sent together: ``Batch`` (reads, one pipelined round trip) and
``Transaction`` (writes to one cluster's keys, one Lua script: all or nothing).

A store queues its own commands on keys it owns and says how to decode their replies; the caller that composes
stores (``store.Stores``) runs the batch once. So a scan reads its state in one round trip and writes it in one
script although five stores own the keys.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class Result(Generic[T]):
    """A store's decoded share of a batch's replies, there once the batch has run."""

    def __init__(self) -> None:
        self._value: T | None = None
        self._done = False

    @property
    def value(self) -> T:
        if not self._done:
            raise RuntimeError("the batch has not run yet")
        return self._value  # type: ignore[return-value]

    def _set(self, value: T) -> None:
        self._value, self._done = value, True


class Batch:
    """Commands queued by several stores on one pipeline; ``run`` sends them in one round trip."""

    def __init__(self, client: Any, transaction: bool = False) -> None:
        self.pipe: Any = client.pipeline(transaction=transaction)
        self._parts: list[tuple[int, int, Callable[[list[Any]], Any], Result[Any]]] = []

    def mark(self) -> int:
        """Where the next command queued on ``pipe`` goes: pass it to ``since``."""
        return len(self.pipe)

    def since(self, start: int, decode: Callable[[list[Any]], T]) -> Result[T]:
        """The replies of the commands queued from ``start`` on, decoded by ``decode`` when the batch runs."""
        result: Result[T] = Result()
        self._parts.append((start, len(self.pipe), decode, result))
        return result

    def run(self) -> None:
        replies = self.pipe.execute() if len(self.pipe) else []
        for start, stop, decode, result in self._parts:
            result._set(decode(replies[start:stop]))


# ARGV[1] is a JSON list of operations on KEYS (one cluster's keys: one hash tag, so Redis Cluster safe):
#   [command, key index, args...]  run as redis.call(command, KEYS[i], args...)
#   ["OFFER", id, payload key index, payload, payload ttl s, cooldown key index or 0, cooldown ms]
#       store a notification unless its id is stored already (SET NX: two workers committing one transition
#       store it once) and, for a repeat, unless its cooldown key is alive (SET NX PX: only one worker can take it)
# Returns the ids of the notifications accepted: the caller routes and sends exactly those.
_RUN = """
local accepted = {}
for _, o in ipairs(cjson.decode(ARGV[1])) do
  if o[1] == 'OFFER' then
    local ok = true
    if o[6] ~= 0 then ok = redis.call('SET', KEYS[o[6]], '1', 'PX', o[7], 'NX') end
    if ok and redis.call('SET', KEYS[o[3]], o[4], 'EX', o[5], 'NX') then table.insert(accepted, o[2]) end
  else
    redis.call(o[1], KEYS[o[2]], unpack(o, 3))
  end
end
return accepted
"""

# Lua's unpack takes a few thousand values at most: a long HSET is split
CHUNK = 500


def script(client: Any) -> Any:
    """The transaction script, registered on ``client`` (once per connection owner)."""
    return client.register_script(_RUN)


class Transaction:
    """Writes of several stores to one cluster's keys, run by ``run`` as one Lua script."""

    def __init__(self, runner: Any) -> None:
        self._runner = runner
        self._keys: list[str] = []
        self._index: dict[str, int] = {}
        self._ops: list[list[Any]] = []

    def _ki(self, key: str) -> int:
        if key not in self._index:
            self._keys.append(key)
            self._index[key] = len(self._keys)  # Lua indexes from 1
        return self._index[key]

    def call(self, command: str, key: str, *args: str | int | float) -> None:
        self._ops.append([command, self._ki(key), *args])

    def hset(self, key: str, mapping: dict[str, str]) -> None:
        items = [x for kv in mapping.items() for x in kv]
        for i in range(0, len(items), 2 * CHUNK):
            self.call("HSET", key, *items[i : i + 2 * CHUNK])

    def offer(
        self,
        notification_id: str,
        payload_key: str,
        payload: str,
        ttl_s: int,
        cooldown: tuple[str, int] | None,
    ) -> None:
        """Store a notification payload once; ``cooldown`` (key, ms): only if that key can be taken too."""
        cd_key, cd_ms = cooldown if cooldown else ("", 0)
        self._ops.append(
            [
                "OFFER",
                notification_id,
                self._ki(payload_key),
                payload,
                ttl_s,
                self._ki(cd_key) if cooldown else 0,
                cd_ms,
            ]
        )

    def run(self) -> list[str]:
        """Run every queued write at once; the ids of the offered notifications that were accepted."""
        if not self._ops:
            return []
        return list(self._runner(keys=self._keys, args=[json.dumps(self._ops, ensure_ascii=False)]))
