"""What runs when: beat only ticks the dispatcher; the dispatcher decides which clusters are due.

Per-cluster intervals (with jitter) and due times live in Redis (worker/state), so beat stays one entry
whatever the number of clusters, and a restart of beat or of the dispatcher loses nothing.
"""

from __future__ import annotations

from typing import Any


def build(tick_seconds: float) -> dict[str, dict[str, Any]]:
    return {
        "dispatch": {
            "task": "tasks.dispatch",
            "schedule": tick_seconds,
            # a tick that could not run before the next one is worthless
            "options": {"queue": "control", "expires": tick_seconds},
        },
    }
