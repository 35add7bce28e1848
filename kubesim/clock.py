"""The simulated clock: scenario seconds that run at a speed factor and can be stepped by hand."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime


class SimClock:
    """Scenario time `t` (seconds since start) and the wall-clock-like epoch served to clients.

    t = t_anchor + (monotonic() - mono_anchor) * speed; `advance` adds to t_anchor, so stepping works
    at any speed, and speed 0 is a fully manual clock.
    """

    def __init__(self, speed: float = 1.0, start_epoch: float | None = None) -> None:
        self._lock = threading.Lock()
        self.start_epoch = float(int(time.time() if start_epoch is None else start_epoch))
        self._speed = speed
        self._t_anchor = 0.0
        self._mono_anchor = time.monotonic()

    def t(self) -> float:
        with self._lock:
            return self._t_anchor + (time.monotonic() - self._mono_anchor) * self._speed

    def epoch(self) -> float:
        return self.start_epoch + self.t()

    @property
    def speed(self) -> float:
        return self._speed

    def set_speed(self, speed: float) -> None:
        with self._lock:
            now = time.monotonic()
            self._t_anchor += (now - self._mono_anchor) * self._speed
            self._mono_anchor = now
            self._speed = speed

    def advance(self, seconds: float) -> float:
        with self._lock:
            self._t_anchor += seconds
        return self.t()


def rfc3339(epoch: float) -> str:
    """Kubernetes metav1.Time: whole seconds, Z suffix."""
    # formatted by hand: strftime was most of the time of rendering a pod (several timestamps each)
    t = time.gmtime(int(epoch))
    return f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}Z"


def rfc3339_micro(epoch: float) -> str:
    """metav1.MicroTime, used by Lease renewals and events.k8s.io."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def human_age(seconds: float) -> str:
    """kubectl's duration.HumanDuration, as printed in the AGE column."""
    s = int(max(0, seconds))
    if s < 120:
        return f"{s}s"
    m = s // 60
    if m < 10:
        return f"{m}m{s % 60}s" if s % 60 else f"{m}m"
    if m < 180:
        return f"{m}m"
    h = s // 3600
    if h < 8:
        return f"{h}h{m % 60}m" if m % 60 else f"{h}h"
    if h < 48:
        return f"{h}h"
    if h < 24 * 8:
        return f"{h // 24}d{h % 24}h" if h % 24 else f"{h // 24}d"
    if h < 24 * 365 * 2:
        return f"{h // 24}d"
    if h < 24 * 365 * 8:
        return f"{h // 24 // 365}y{(h // 24) % 365}d"
    return f"{h // 24 // 365}y"
