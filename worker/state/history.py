"""Per-node metric history in Redis: scan samples for 6 h and 5-minute mean/max for 7 days, in ≤ 24 KB a node.

What is kept: for each node, eight series in percent (``METRICS``: cpu and memory usage against allocatable as
``kubectl top``; nodefs and imagefs used as the kubelet's ``1 - available/capacity``; nodefs inodes used; pod slots
used; cpu and memory requests against allocatable), at 0.1 percentage point (0 to 1638.3).

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

Writes: ``record`` is one pipelined round trip per scan per cluster — one Lua call per ``BATCH`` nodes (each call
short, since Redis runs one script at a time). The script appends the sample, closes the 5-minute bucket when a
new one starts (appending mean and max - mean, and missing entries for buckets without a scan), trims the scan
tier past 6 h (+10 min slack) and the bucket tier past 7 days (+1 h), and both tiers by size (``FINE_CAP``,
``COARSE_CAP``: the oldest eighth goes) so that even series noisier than the code expects stay within budget,
refreshes the key's TTL (8 days) and the node's score in the index once a bucket (entries not written for
7 days are dropped). A sample at or before the node's last one is ignored (a scan written twice writes once).

Reads: ``series(cluster, node, metric, since)`` and ``cluster_series(cluster, metric, since)`` (one round trip
for the nodes named, two to list them), answered as ``Series(fine, coarse)``; coarse buckets overlap the last
6 h of scan samples, and are dated at their middle.

The client may decode responses (``store.connect`` does): the binary fields are read with redis-py's
``NEVER_DECODE`` on the same connection, and written only by the script.
"""

from __future__ import annotations

import hashlib
import math
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, cast

import redis
from redis.client import NEVER_DECODE

from worker.model import NodeSample
from worker.state import keys

METRICS = ("cpu", "memory", "nodefs", "imagefs", "inodes", "pods", "cpu_requests", "memory_requests")
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
BATCH = 200
VERSION = 1

_STATE = struct.Struct("<BBIIIIII" + "HHHHIH" * len(METRICS))
_FINE_FIELDS = ["s", "t"] + [f"f{m}" for m in range(len(METRICS))]

# KEYS[1] the node index, KEYS[2..] node hashes. ARGV: t, values (n x M u16 LE, 65535 = none), prefix length of
# the node keys, M, FINE_S, FINE_SLACK_S, BUCKET_S, COARSE_N, COARSE_SLACK_N, FINE_CAP, COARSE_CAP, TTL, version.
# Returns how many nodes were written.
_RECORD = """
local t = tonumber(ARGV[1])
local blob = ARGV[2]
local plen, M = tonumber(ARGV[3]), tonumber(ARGV[4])
local FINE_S, FINE_SLACK = tonumber(ARGV[5]), tonumber(ARGV[6])
local BUCKET, COARSE_N, COARSE_SLACK = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
local FINE_CAP, COARSE_CAP, TTL, VER = tonumber(ARGV[10]), tonumber(ARGV[11]), tonumber(ARGV[12]), tonumber(ARGV[13])
local NONE = 65535
local char, byte, floor, sub, rep = string.char, string.byte, math.floor, string.sub, string.rep

local function abs14(code, v) return char(code, floor(v / 128), v % 128) end

-- append one entry (v = NONE: missing) to stream s whose last present value is prev
local function put(s, prev, v)
  local last = byte(s, -1)
  if v == NONE then
    if last and last >= 0xF0 and last < 0xFD then return sub(s, 1, -2) .. char(last + 1), prev end
    return s .. char(0xF0), prev
  end
  if prev == NONE then return s .. abs14(0xFE, v), v end
  local d = v - prev
  if d == 0 then
    if last and last >= 0xE0 and last < 0xEF then return sub(s, 1, -2) .. char(last + 1), prev end
    return s .. char(0xE0), prev
  end
  if d > 0 and d <= 111 then return s .. char(2 * d), v end
  if d < 0 and d >= -112 then return s .. char(-2 * d - 1), v end
  return s .. abs14(0xFE, v), v
end

local function put_missing(s, n)
  local last = byte(s, -1)
  if last and last >= 0xF0 and last < 0xFD then
    local add = math.min(n, 0xFD - last)
    s = sub(s, 1, -2) .. char(last + add)
    n = n - add
  end
  local full = floor(n / 14)
  s = s .. rep(char(0xFD), full)
  if n - 14 * full > 0 then s = s .. char(0xEF + n - 14 * full) end
  return s
end

-- drop the first k entries of stream s, keeping the value the rest is relative to
local function cut(s, k)
  if k <= 0 then return s end
  local pos, i, prev, n = 1, 0, NONE, #s
  while pos <= n do
    local b = byte(s, pos)
    local cnt, len, run = 1, 1, 0
    if b >= 0xFE then len = 3; if b == 0xFF then cnt = 0 end
    elseif b >= 0xF0 then cnt = b - 0xEF; run = 0xEF
    elseif b >= 0xE0 then cnt = b - 0xDF; run = 0xDF end
    if cnt > 0 and i + cnt > k then
      local head = ''
      if prev ~= NONE then head = abs14(0xFF, prev) end
      if i >= k then return head .. sub(s, pos) end
      return head .. char(run + i + cnt - k) .. sub(s, pos + 1)
    end
    if b >= 0xFE then prev = byte(s, pos + 1) * 128 + byte(s, pos + 2)
    elseif b < 0xE0 then
      if b % 2 == 0 then prev = prev + b / 2 else prev = prev - (b + 1) / 2 end
    end
    i = i + cnt
    pos = pos + len
  end
  if prev ~= NONE then return abs14(0xFF, prev) end
  return ''
end

local function varint(n)
  local out = ''
  while n >= 128 do out = out .. char(n % 128 + 128); n = floor(n / 128) end
  return out .. char(n)
end

-- how many leading scan entries to drop (at least min_k, and all before cutoff), the new first time and the
-- position in the times stream where the rest starts
local function fine_cut(times, t0, cutoff, nf, min_k)
  local pos, tt, k = 1, t0, 0
  while k < nf - 1 and (tt < cutoff or k < min_k) do
    local d, mul = 0, 1
    while true do
      local b = byte(times, pos)
      pos = pos + 1
      d = d + (b % 128) * mul
      if b < 128 then break end
      mul = mul * 128
    end
    tt = tt + d
    k = k + 1
  end
  return k, tt, pos
end

local SFMT = '<BBI4I4I4I4I4I4' .. rep('HHHHI4H', M)
local fine_fields, coarse_fields = {'s', 't'}, {}
for m = 1, M do fine_fields[#fine_fields + 1] = 'f' .. (m - 1) end
for m = 1, M do coarse_fields[m] = 'a' .. (m - 1); coarse_fields[M + m] = 'x' .. (m - 1) end
local bucket = floor(t / BUCKET)
local written = 0

for i = 2, #KEYS do
  local key = KEYS[i]
  local got = redis.call('HMGET', key, unpack(fine_fields))
  local st = nil
  if got[1] then
    st = {struct.unpack(SFMT, got[1])}
    if st[1] ~= VER or st[2] ~= M then redis.call('DEL', key); st = nil end
  end
  local t0, tl, nf, cb0, nc, ob = 0, 0, 0, 0, 0, 0
  local fl, al, xl, cnt, sum, mx = {}, {}, {}, {}, {}, {}
  if st then
    t0, tl, nf, cb0, nc, ob = st[3], st[4], st[5], st[6], st[7], st[8]
    for m = 1, M do
      local b = 8 + (m - 1) * 6
      fl[m], al[m], xl[m], cnt[m], sum[m], mx[m] = st[b + 1], st[b + 2], st[b + 3], st[b + 4], st[b + 5], st[b + 6]
    end
  else
    for m = 1, M do fl[m], al[m], xl[m], cnt[m], sum[m], mx[m] = NONE, NONE, NONE, 0, 0, 0 end
  end
  if nf == 0 or t > tl then
    local off = (i - 2) * M * 2
    local v = {}
    for m = 1, M do
      local lo, hi = byte(blob, off + 2 * m - 1, off + 2 * m)
      v[m] = lo + hi * 256
    end
    local times, f = '', {}
    if st then times = got[2] or '' end
    for m = 1, M do f[m] = (st and got[2 + m]) or '' end
    if nf == 0 then t0 = t else times = times .. varint(t - tl) end
    tl = t
    nf = nf + 1
    local size = #times
    for m = 1, M do
      f[m], fl[m] = put(f[m], fl[m], v[m])
      size = size + #f[m]
    end
    if t0 < t - FINE_S - FINE_SLACK or size > FINE_CAP then
      local min_k = 0
      if size > FINE_CAP then min_k = math.ceil(nf / 8) end
      local k, tt, pos = fine_cut(times, t0, t - FINE_S, nf, min_k)
      times, t0, nf = sub(times, pos), tt, nf - k
      for m = 1, M do f[m] = cut(f[m], k) end
    end
    local out = {'t', times}
    for m = 1, M do out[#out + 1] = 'f' .. (m - 1); out[#out + 1] = f[m] end
    if nf == 1 and ob == 0 then ob = bucket end
    local closed = bucket > ob
    if closed then
      local cs = {}
      if st then cs = redis.call('HMGET', key, unpack(coarse_fields)) end
      for j = 1, 2 * M do cs[j] = cs[j] or '' end
      if nc == 0 then cb0 = ob
      else
        local gap = ob - (cb0 + nc)
        if gap >= COARSE_N then
          for j = 1, 2 * M do cs[j] = '' end
          for m = 1, M do al[m], xl[m] = NONE, NONE end
          cb0, nc = ob, 0
        elseif gap > 0 then
          for j = 1, 2 * M do cs[j] = put_missing(cs[j], gap) end
          nc = nc + gap
        end
      end
      size = 0
      for m = 1, M do
        if cnt[m] > 0 then
          local mean = floor(sum[m] / cnt[m] + 0.5)
          cs[m], al[m] = put(cs[m], al[m], mean)
          cs[M + m], xl[m] = put(cs[M + m], xl[m], mx[m] - mean)
        else
          cs[m], al[m] = put(cs[m], al[m], NONE)
          cs[M + m], xl[m] = put(cs[M + m], xl[m], NONE)
        end
        cnt[m], sum[m], mx[m] = 0, 0, 0
        size = size + #cs[m] + #cs[M + m]
      end
      nc = nc + 1
      if nc > COARSE_N + COARSE_SLACK or size > COARSE_CAP then
        local k = math.max(0, nc - COARSE_N)
        if size > COARSE_CAP then k = math.max(k, math.ceil(nc / 8)) end
        for j = 1, 2 * M do cs[j] = cut(cs[j], k) end
        cb0, nc = cb0 + k, nc - k
      end
      for j = 1, 2 * M do out[#out + 1] = coarse_fields[j]; out[#out + 1] = cs[j] end
      ob = bucket
    end
    for m = 1, M do
      if v[m] ~= NONE then
        cnt[m] = cnt[m] + 1
        sum[m] = sum[m] + v[m]
        if v[m] > mx[m] then mx[m] = v[m] end
      end
    end
    local packed = {VER, M, t0, tl, nf, cb0, nc, ob}
    for m = 1, M do
      local b = 8 + (m - 1) * 6
      packed[b + 1], packed[b + 2], packed[b + 3] = fl[m], al[m], xl[m]
      packed[b + 4], packed[b + 5], packed[b + 6] = cnt[m], sum[m], mx[m]
    end
    out[#out + 1] = 's'
    out[#out + 1] = struct.pack(SFMT, unpack(packed))
    redis.call('HSET', key, unpack(out))
    if nf == 1 or closed then  -- TTL and index once a bucket: HSET keeps the TTL, a 5-minute-old score will do
      redis.call('EXPIRE', key, TTL)
      redis.call('ZADD', KEYS[1], t, sub(key, plen + 1))
    end
    written = written + 1
  end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. (t - COARSE_N * BUCKET))
redis.call('EXPIRE', KEYS[1], TTL)
return written
"""


@dataclass(frozen=True)
class Series:
    """One node's history of one metric, oldest first: (t, percent) scan samples and (bucket middle, mean, max)."""

    fine: list[tuple[float, float]]
    coarse: list[tuple[float, float, float]]


def values(node: NodeSample) -> dict[str, float | None]:
    """The history metrics of one scanned node (None where the scan could not tell)."""
    nodefs = node.disk.nodefs if node.disk else None
    imagefs = node.disk.imagefs if node.disk else None
    alloc, req = node.allocatable, node.requests
    return {
        "cpu": node.cpu_pct,
        "memory": node.memory_pct,
        "nodefs": nodefs.used_pct if nodefs and nodefs.capacity else None,
        "imagefs": imagefs.used_pct if imagefs and imagefs.capacity else None,
        "inodes": nodefs.inodes_used_pct if nodefs else None,
        "pods": node.pods_pct,
        "cpu_requests": node.pct(req.cpu_m, alloc.cpu_m),
        "memory_requests": node.pct(req.memory, alloc.memory),
    }


class History:
    """The history store of all clusters over one Redis connection."""

    def __init__(self, client: redis.Redis, batch: int = BATCH) -> None:
        self._r = client
        self.batch = batch
        self._sha: str | None = None

    def record(self, cluster: str, t: float, samples: Mapping[str, Mapping[str, float | None]]) -> int:
        """Append one scan's values ({node: {metric: percent or None}}) at time ``t`` (epoch s); one round trip.
        Returns the number of nodes written (a node already holding a sample at or after ``t`` is skipped)."""
        if not samples:
            return 0
        unknown = {m for values in samples.values() for m in values} - set(METRICS)
        if unknown:
            raise ValueError(f"unknown history metrics: {sorted(unknown)}")
        prefix_len = len(keys.history(cluster, ""))
        nodes = list(samples)
        calls: list[tuple[list[str], list[Any]]] = []
        for i in range(0, len(nodes), self.batch):
            chunk = nodes[i : i + self.batch]
            blob = b"".join(_pack(samples[node]) for node in chunk)
            args = [int(t), blob, prefix_len, len(METRICS), FINE_S, FINE_SLACK_S, BUCKET_S, COARSE_N]
            args += [COARSE_SLACK_N, FINE_CAP, COARSE_CAP, keys.HISTORY_TTL, VERSION]
            calls.append(([keys.history_nodes(cluster)] + [keys.history(cluster, n) for n in chunk], args))
        return sum(self._run(calls))

    def _run(self, calls: list[tuple[list[str], list[Any]]]) -> list[int]:
        if self._sha is None:
            self._sha = _sha1(_RECORD)
        pipe = self._r.pipeline(transaction=False)
        for k, a in calls:
            pipe.evalsha(self._sha, len(k), *k, *a)
        results = pipe.execute(raise_on_error=False)
        missing = [i for i, res in enumerate(results) if isinstance(res, redis.exceptions.NoScriptError)]
        if missing:  # a Redis restarted (or flushed its scripts): load it once and write those batches again
            self._r.script_load(_RECORD)
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
                out[name] = _decode_series(got, m, since)
        return out

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


def _pack(values: Mapping[str, float | None]) -> bytes:
    out = []
    for metric in METRICS:
        v = values.get(metric)
        if v is None or not math.isfinite(v):
            out.append(NONE)
        else:
            out.append(min(MAX_STORED, max(0, round(v * SCALE))))
    return struct.pack(f"<{len(METRICS)}H", *out)


def _sha1(text: str) -> str:
    return hashlib.sha1(text.encode(), usedforsecurity=False).hexdigest()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _decode_series(got: list[bytes | None], m: int, since: float) -> Series:
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
