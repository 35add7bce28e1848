"""Cooldowns on the replay's clock.

A firing alert is repeated when its cooldown key (``cd:{fp}``, ``alertCooldown``) has expired, and Redis expires
keys on its own wall clock, which a replay outruns many times over (96 simulated hours in minutes): left alone, a
replay would never send a repeat and would under-count what a long incident costs. The storm marker solved the
same problem by holding its end on the scans' clock; the cooldown key is a plain ``SET ... PX`` that the
delivery's gate takes with ``NX``, so the replay expires it instead: a key is deleted once ``alertCooldown`` has
passed on the simulated clock since the scan that set it. A key set again (escalated, repeated) is seen by its
TTL jumping back up, and its time starts again.
"""

from __future__ import annotations

from typing import Any

from worker.state import keys


class SimulatedCooldowns:
    def __init__(self, client: Any, repeat_s: float) -> None:
        self.r = client
        self.repeat_s = repeat_s
        self.set_at: dict[str, tuple[float, int]] = {}  # key: (simulated time it was set, its PTTL then)

    def expire(self, cluster: str, now: float) -> int:
        """After a scan of ``cluster`` at ``now``: note new or re-set keys, delete the ones whose time is up.
        Returns how many were deleted."""
        names = sorted(self.r.scan_iter(match=keys.cooldown(cluster, "*"), count=1000))
        pipe = self.r.pipeline(transaction=False)
        for name in names:
            pipe.pttl(name)
        ttls = [int(t) for t in pipe.execute()] if names else []
        expired = []
        for name, ttl in zip(names, ttls, strict=True):
            if ttl < 0:
                continue  # gone since the scan (-2); a key without a TTL (-1) is not a cooldown this sets
            seen = self.set_at.get(name)
            if seen is None or ttl > seen[1]:
                self.set_at[name] = (now, ttl)  # new, or set again since: its cooldown starts now
            elif now - seen[0] >= self.repeat_s:
                expired.append(name)
            else:
                self.set_at[name] = (seen[0], ttl)
        for name in set(self.set_at) - set(names):
            if name.startswith(keys.cooldown(cluster, "")):
                del self.set_at[name]  # cleared by the scan (resolved)
        if expired:
            self.r.delete(*expired)
            for name in expired:
                del self.set_at[name]
        return len(expired)
