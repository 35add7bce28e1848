"""Whether Redis lost nodewatch's state: an epoch id created with the state, checked by beat.

Keys (keys.py): ``nw:epoch`` and ``nw:state_lost_at`` (docs/redis.md).
"""

from __future__ import annotations

import random
from typing import Any

from worker.state import keys

# KEYS[1] = epoch, KEYS[2] = state-lost-at; ARGV = epoch seen before ('' = none), a fresh epoch, when it was seen,
# how long messages carry the note (seconds), how long the epoch lives unchecked (seconds)
_EPOCH = """
local cur = redis.call('GET', KEYS[1])
if not cur then
  cur = ARGV[2]
end
redis.call('SET', KEYS[1], cur, 'EX', ARGV[5])
if ARGV[1] ~= '' and ARGV[1] ~= cur then
  redis.call('SET', KEYS[2], ARGV[3], 'EX', ARGV[4], 'NX')
end
return cur
"""


class EpochStore:
    def __init__(self, client: Any) -> None:
        self.r: Any = client
        self._check = client.register_script(_EPOCH)

    def check(self, seen: str | None, seen_at: float, now: float) -> str:
        """The state's epoch, created if absent. When it differs from ``seen`` (what this process saw last, at
        ``seen_at``), the state was lost since then: ``nw:state_lost_at`` says ``seen_at`` for STATE_LOST_NOTE_S."""
        fresh = f"{int(now)}-{random.getrandbits(48):012x}"  # an id, not a secret
        args = [seen or "", fresh, repr(seen_at), keys.STATE_LOST_NOTE_S, keys.ALERTS_TTL]
        return str(self._check(keys=[keys.EPOCH, keys.STATE_LOST_AT], args=args))

    def lost_at(self) -> float | None:
        """When a loss of the state was noticed, if within the last STATE_LOST_NOTE_S."""
        value = self.r.get(keys.STATE_LOST_AT)
        return float(value) if value is not None else None
