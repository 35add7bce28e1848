"""The packed layout of a node's history in Redis, and its decoding: scan samples for 6 h and 5-minute mean/max
for 7 days, in ≤ 24 KB a node. Pure (no Redis): worker/state/history.py reads and writes the keys, the Lua script
in worker/state/history_script.py is the only writer of this layout.

What is kept: for each node, the series of worker/model/history's ``METRICS`` in percent, at 0.1 percentage point
(0 to 1638.3).

Layout (keys.py: ``nw:{c}:h:{node}``, a hash, and ``nw:{c}:hn``, a zset of the nodes with history):

- ``s``: the node's state, packed (``struct``): times of the first and last scan sample, counts, the first
  5-minute bucket kept, the bucket being filled and, per metric, its running count/sum/max and the last value of
  each stream (so an append needs nothing else).
- ``t``: scan times as varint deltas in seconds after the first (one byte for intervals under 128 s).
- ``f0..f7``: the scan samples of each metric; ``a0..a7``: the 5-minute means; ``x0..x7``: max - mean.
  Each stream is delta-coded, one byte an entry mostly: ``0x00-0xDF`` zigzag delta (±11.2 pt), ``0xE0-0xEF`` 1-16
  unchanged entries, ``0xF0-0xFD`` 1-14 missing entries, ``0xFE hi lo`` an absolute value (7 bits each),
  ``0xFF hi lo`` the value before the first entry (written when the front is trimmed; no entry). A slowly
  filling disk costs a byte every few buckets, a noisy cpu one or two a bucket. The run codes are the stream's
  last byte when they end it (an absolute value's own bytes are < 0x80), so an append extends a run in place.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Mapping

from worker.model.history import METRICS, Series

SCALE = 10  # stored in 0.1 percentage points
MAX_STORED = 16383  # 14 bits: 1638.3 %
NONE = 0xFFFF
FINE_S = 6 * 3600
FINE_SLACK_S = 600
BUCKET_S = 300
COARSE_N = 7 * 24 * 3600 // BUCKET_S  # 2016 buckets
COARSE_SLACK_N = 12
# Byte caps (bench/README.md "history"): realistic 60 s scans take ~1.3 KB of scan tier and ~12 KB of buckets for
# the week (16 KB a node in all); the caps hold the worst case under 24 KB (every value jumping anywhere: ~21.5 KB,
# 3.5 h of scans and 1.5 days of buckets kept). 6 h of scans fit at intervals of 15 s or more; 10 s scans keep
# ~4 h and ~5 days.
FINE_CAP = 5 * 1024  # bytes of the scan tier (times + 8 streams)
COARSE_CAP = 14 * 1024  # bytes of the bucket tier (16 streams)
VERSION = 1

_STATE = struct.Struct("<BBIIIIII" + "HHHHIH" * len(METRICS))


def pack(values: Mapping[str, float | None]) -> bytes:
    """One node's values of a scan as the script reads them: a u16 per metric (``NONE``: missing)."""
    out = []
    for metric in METRICS:
        v = values.get(metric)
        if v is None or not math.isfinite(v):
            out.append(NONE)
        else:
            out.append(min(MAX_STORED, max(0, round(v * SCALE))))
    return struct.pack(f"<{len(METRICS)}H", *out)


def decode_series(got: list[bytes | None], m: int, since: float) -> Series:
    """Metric ``m``'s series from the fields ``s``, ``t``, ``f{m}``, ``a{m}``, ``x{m}`` of a node's hash."""
    state, times, fine, means, spreads = (g or b"" for g in got)
    fields = _STATE.unpack(state[: _STATE.size])
    t0, _tl, nf, cb0, nc = fields[2:7]
    when = _times(times, t0, nf)
    fine_values = _decode(fine, nf)
    series_fine = [
        (float(t), v / SCALE) for t, v in zip(when, fine_values, strict=False) if v is not None and t >= since
    ]
    mean_values, spread_values = _decode(means, nc), _decode(spreads, nc)
    coarse = []
    for j, (a, x) in enumerate(zip(mean_values, spread_values, strict=False)):
        middle = (cb0 + j) * BUCKET_S + BUCKET_S / 2
        if a is not None and middle >= since:
            coarse.append((float(middle), a / SCALE, (a + (x or 0)) / SCALE))
    return Series(series_fine, coarse)


def _times(stream: bytes, t0: int, count: int) -> list[int]:
    out = [t0] if count else []
    t, value, shift = t0, 0, 0
    for b in stream:
        value |= (b & 0x7F) << shift
        if b & 0x80:
            shift += 7
            continue
        t += value
        out.append(t)
        value, shift = 0, 0
    return out[:count]


def _decode(stream: bytes, count: int) -> list[int | None]:
    """A stream's entries (None = missing); see the module docstring for the codes."""
    out: list[int | None] = []
    prev: int | None = None
    i, n = 0, len(stream)
    while i < n:
        b = stream[i]
        if b < 0xE0:
            prev = (prev or 0) + (b >> 1 if not b & 1 else -((b + 1) >> 1))
            out.append(prev)
            i += 1
        elif b < 0xF0:
            out.extend([prev] * (b - 0xDF))
            i += 1
        elif b < 0xFE:
            out.extend([None] * (b - 0xEF))
            i += 1
        else:
            prev = stream[i + 1] * 128 + stream[i + 2]
            if b == 0xFE:
                out.append(prev)
            i += 3
    return out[:count]


def last_values(state: bytes) -> tuple[float, dict[str, float]]:
    """(time of the last scan sample, each metric's last value in percent) from a node's ``s`` field alone: what
    /metrics shows without decoding any stream. A metric the node never had is left out; one missing from the
    last scans keeps its last known value (the state holds the last value written, not whether it was missing)."""
    if len(state) < _STATE.size:
        return 0.0, {}
    fields = _STATE.unpack(state[: _STATE.size])
    if fields[0] != VERSION or fields[1] != len(METRICS):
        return 0.0, {}
    out = {}
    for m, metric in enumerate(METRICS):
        last = fields[8 + 6 * m]
        if last != NONE:
            out[metric] = last / SCALE
    return float(fields[3]), out
