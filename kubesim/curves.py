"""Usage curves: pure functions of scenario time for a node's CPU, memory and disk fractions."""

from __future__ import annotations

import bisect
import csv
import gzip
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TRACES_DIR = Path(__file__).parent / "traces"


def unit_hash(*parts: object) -> float:
    """A repeatable uniform number in [0, 1) from its inputs (same seed, same series, in any process)."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def gauss_hash(*parts: object) -> float:
    u1 = max(unit_hash(*parts, "a"), 1e-12)
    u2 = unit_hash(*parts, "b")
    return math.sqrt(-2.0 * math.log(u1)) * math.cos(2 * math.pi * u2)


def seconds(value: Any) -> float:
    """Durations in scenarios: numbers are seconds; strings may say "90s", "5m", "2h", "1d"."""
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip()
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
    for suffix in ("ms", "s", "m", "h", "d"):
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * units[suffix]
    return float(text)


def fraction(value: Any) -> float:
    """Usage levels: 0.4, or "40%"."""
    if isinstance(value, str) and value.strip().endswith("%"):
        return float(value.strip()[:-1]) / 100
    return float(value)


Curve = Callable[[float], float]  # seconds since the segment started -> fraction


class TraceEnded(ValueError):
    """A trace replayed past its last row without ``loop: true``: an error, never a silent wrap-around."""


@dataclass
class Trace:
    """One recorded series at its own pace: ``values`` (fractions) at ``times`` (seconds since the first row).

    ``step`` is the median spacing of the rows: a row holds for one step, neighbouring rows are interpolated, and
    across a longer gap (a missing sample in the recording) the last value is held rather than drawn as a ramp
    the recording never showed. Past the last row's step the trace has ended: ``TraceEnded``, unless ``loop``.
    """

    values: list[float]
    times: list[float]
    step: float
    name: str = ""
    loop: bool = False

    @property
    def span(self) -> float:
        """Seconds the whole recording covers (the last row holds for one step)."""
        return self.times[-1] + self.step

    def remaining(self, offset_rows: int = 0) -> float:
        """Seconds of recording from row ``offset_rows`` to the end."""
        return self.span - self.times[offset_rows]

    def gaps(self) -> list[tuple[float, float]]:
        """(at, length) of every gap longer than 1.5 steps: there the value is held."""
        pairs = zip(self.times, self.times[1:], strict=False)
        return [(a, b - a) for a, b in pairs if b - a > 1.5 * self.step]

    def at(self, elapsed: float, offset_rows: int = 0) -> float:
        t = max(0.0, self.times[offset_rows] + elapsed)  # before the segment began: its first row
        if t >= self.span:
            if not self.loop:
                raise TraceEnded(
                    f"trace {self.name or '?'} ended: {elapsed:.0f} s from row {offset_rows} is past its last row "
                    f"({self.remaining(offset_rows):.0f} s of recording); replay less or say loop: true"
                )
            t %= self.span
        i = max(0, bisect.bisect_right(self.times, t) - 1)
        if i + 1 < len(self.times):
            gap = self.times[i + 1] - self.times[i]
            if gap <= 1.5 * self.step:
                frac = (t - self.times[i]) / gap
                return self.values[i] * (1 - frac) + self.values[i + 1] * frac
        return self.values[i]  # the last row, or a gap in the recording: held


_TRACE_CACHE: dict[tuple[str, str], Trace] = {}


def _nab_time(text: str) -> float:
    return datetime.strptime(text.strip(), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def load_trace(file: str, column: str) -> Trace:
    """Read a NAB (`timestamp,value`, percent) or Bitbrains (`;\\t`-separated, epoch seconds) CSV, optionally
    gzipped, with each row's own timestamp. Rows out of order or repeated are dropped (the earlier one kept)."""
    key = (file, column)
    if key in _TRACE_CACHE:
        return _TRACE_CACHE[key]
    path = Path(file) if Path(file).is_absolute() else TRACES_DIR / file
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        text = handle.read()
    lines = [line for line in text.splitlines() if line.strip()]
    header = lines[0]
    rows: list[tuple[float, float]] = []
    if ";" in header:  # Bitbrains: CPU usage [%], memory usage / provisioned; "Timestamp [ms]" holds seconds
        names = [h.strip() for h in header.split(";")]
        cpu_i = names.index("CPU usage [%]")
        mem_cap_i = names.index("Memory capacity provisioned [KB]")
        mem_use_i = names.index("Memory usage [KB]")
        last_mem = 0.5
        for row in lines[1:]:
            cells = [c.strip() for c in row.split(";")]
            if column == "cpu":
                value = float(cells[cpu_i]) / 100
            else:
                cap = float(cells[mem_cap_i])
                if cap > 0:  # capacity 0 means "not recorded": hold the last value
                    last_mem = float(cells[mem_use_i]) / cap
                value = last_mem
            rows.append((float(cells[0]), value))
    else:  # NAB: `2014-02-14 14:27:00,51.8` (UTC, percent)
        rows = [(_nab_time(cells[0]), float(cells[1]) / 100) for cells in csv.reader(lines[1:])]
    kept: list[tuple[float, float]] = []
    for stamp, value in rows:
        if not kept or stamp > kept[-1][0]:
            kept.append((stamp, value))
    if len(kept) < 2:
        raise ValueError(f"trace {file}: fewer than two rows with increasing timestamps")
    first = kept[0][0]
    times = [stamp - first for stamp, _ in kept]
    spacing = sorted(b - a for a, b in zip(times, times[1:], strict=False))
    trace = Trace([min(1.5, max(0.0, v)) for _, v in kept], times, spacing[len(spacing) // 2], name=file)
    _TRACE_CACHE[key] = trace
    return trace


def _logs(spec: Any) -> Curve:
    """Logs written at ``rate_per_hour`` and rotated away every ``every``: a sawtooth on top of a fill."""
    if not spec:
        return lambda _dt: 0.0
    rate = fraction(spec["rate_per_hour"]) / 3600
    every = seconds(spec.get("every", "1h"))
    phase = seconds(spec.get("phase", 0))
    return lambda dt: rate * ((dt + phase) % every)


def _bursts(spec: Any, seed: object) -> Curve:
    """Sudden writes: in each ``every`` period, with ``probability``, one jump of ``size`` x (0.5..1.5) at a
    random moment; the jumps add up (a bursty fill). Their running sum is cached, so a long replay stays cheap."""
    if not spec:
        return lambda _dt: 0.0
    every = seconds(spec.get("every", "1h"))
    size = fraction(spec.get("size", 0.02))
    probability = float(spec.get("probability", 0.5))
    totals: list[float] = [0.0]  # totals[k]: the jumps of periods before k
    jumps: list[tuple[float, float]] = []  # period k -> (moment within it, height)

    def jump(k: int) -> tuple[float, float]:
        while len(jumps) <= k:
            i = len(jumps)
            hit = unit_hash(seed, "burst", i) < probability
            height = size * (0.5 + unit_hash(seed, "burst-size", i)) if hit else 0.0
            jumps.append((unit_hash(seed, "burst-at", i) * every, height))
            totals.append(totals[-1] + height)
        return jumps[k]

    def bursts(dt: float) -> float:
        if dt < 0:
            return 0.0
        k = int(dt // every)
        at, height = jump(k)
        return totals[k] + (height if dt - k * every >= at else 0.0)

    return bursts


def build(spec: Any, start_value: float, seed: object, metric: str) -> Curve:
    """Turn a scenario curve spec into a function of seconds-since-start.

    `start_value` is the level just before the segment begins, so ramps and fills continue smoothly.
    """
    if isinstance(spec, int | float | str):
        level = fraction(spec)
        return lambda _dt: level
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ValueError(f"a {metric} curve is a number or a one-key mapping, got {spec!r}")
    ((kind, args),) = spec.items()
    args = args if isinstance(args, dict) else {"value": args}
    if kind in ("constant", "set", "step"):
        level = fraction(args.get("value", args.get("to", start_value)))
        return lambda _dt: level
    if kind in ("ramp", "leak"):
        frm = fraction(args.get("from", start_value))
        to = fraction(args["to"])
        over = max(seconds(args.get("over", 60)), 1e-9)
        return lambda dt: frm + (to - frm) * min(1.0, max(0.0, dt / over))
    if kind in ("sine", "daily"):
        mean = fraction(args.get("mean", start_value))
        amp = fraction(args.get("amplitude", 0.1))
        period = seconds(args.get("period", 86400))
        peak = seconds(args.get("peak_at", period / 4))
        return lambda dt: mean + amp * math.sin(2 * math.pi * (dt - peak) / period + math.pi / 2)
    if kind == "fill":
        frm = fraction(args.get("from", start_value))
        if "rate_per_hour" in args:
            rate = fraction(args["rate_per_hour"]) / 3600
        elif "rate_per_minute" in args:
            rate = fraction(args["rate_per_minute"]) / 60
        else:
            rate = fraction(args.get("rate_per_second", 0.001))
        # no cap of its own by default: the slot clamps what is shown, and after the kubelet freed space (a drop)
        # the fill goes on from the lower level rather than stopping at a capped curve
        cap = fraction(args["max"]) if "max" in args else math.inf
        rotate_at = args.get("rotate_at")
        rotate_to = fraction(args.get("rotate_to", frm))
        stop = seconds(args["stop_after"]) if "stop_after" in args else math.inf
        logs = _logs(args.get("logs"))
        bursts = _bursts(args.get("bursts"), seed)

        def fill(dt: float) -> float:
            value = frm + rate * min(dt, stop)
            if rotate_at is not None and value >= fraction(rotate_at) and fraction(rotate_at) > rotate_to:
                span = fraction(rotate_at) - rotate_to
                value = rotate_to + (value - fraction(rotate_at)) % span
            return min(cap, value + logs(dt) + bursts(min(dt, stop)))

        return fill
    if kind == "steps":
        points = sorted((seconds(p[0]), fraction(p[1])) for p in args["value"])
        times = [p[0] for p in points]

        def steps(dt: float) -> float:
            i = bisect.bisect_right(times, dt) - 1
            return start_value if i < 0 else points[i][1]

        return steps
    if kind == "trace":
        return _trace_curve(args, metric)
    raise ValueError(f"unknown curve kind {kind!r} for {metric}")


TRACE_KEYS = frozenset({"file", "column", "scale", "offset_rows", "add", "loop"})


def trace_of(args: dict[str, Any], metric: str) -> tuple[Trace, int]:
    """The trace a ``trace:`` spec replays, and its starting row; the spec's keys checked.

    A trace runs at its own timestamps: there is no ``step`` to replay it faster (that would stretch every spike
    and gap of the recording by the same factor and the figures measured on it with them). To watch it faster,
    run the simulated clock faster (kubesim ``--speed``, or a scenario's top-level ``speed:``).
    """
    if "step" in args:
        raise ValueError(
            f"trace {args.get('file')!r}: `step` is not accepted, a trace replays at its own timestamps; "
            "to watch it faster, give the clock a speed (kubesim --speed, or `speed:` at the scenario's top)"
        )
    unknown = set(args) - TRACE_KEYS
    if unknown:
        raise ValueError(f"trace {args.get('file')!r}: unknown key(s) {sorted(unknown)}")
    trace = load_trace(str(args["file"]), str(args.get("column", metric)))
    offset = int(args.get("offset_rows", 0))
    if not 0 <= offset < len(trace.values):
        raise ValueError(f"trace {trace.name}: offset_rows {offset} is outside its {len(trace.values)} rows")
    return replace(trace, loop=bool(args.get("loop", False))), offset


def _trace_curve(args: dict[str, Any], metric: str) -> Curve:
    replay, offset = trace_of(args, metric)
    scale = float(args.get("scale", 1.0))
    add = fraction(args.get("add", 0.0))  # a base level under the trace (a VM's memory on a busier node)
    return lambda dt: add + replay.at(dt, offset) * scale


@dataclass
class Segment:
    start: float
    curve: Curve


@dataclass
class Slot:
    """One metric of one node: curve segments over time, plus noise and spikes on top."""

    key: str  # "seed|cluster|node|metric": the noise stream's identity
    segments: list[Segment] = field(default_factory=list)
    noise: float = 0.0
    noise_step: float = 15.0
    spikes: dict[str, float] | None = None
    minimum: float = 0.0
    maximum: float = 1.0
    # what the kubelet took away (image GC, an eviction): (moment, running total), on top of any curve
    drop_at: list[float] = field(default_factory=list)
    drop_total: list[float] = field(default_factory=list)

    def drop(self, t: float, amount: float) -> None:
        """From ``t`` on the level is ``amount`` lower (the kubelet freed it); the curve goes on from there."""
        self.drop_at.append(t)
        self.drop_total.append((self.drop_total[-1] if self.drop_total else 0.0) + amount)

    def dropped(self, t: float) -> float:
        i = bisect.bisect_right(self.drop_at, t)
        return self.drop_total[i - 1] if i else 0.0

    def base(self, t: float) -> float:
        starts = [s.start for s in self.segments]
        if not starts:
            return 0.0
        i = max(0, bisect.bisect_right(starts, t) - 1)
        seg = self.segments[i]
        return seg.curve(t - seg.start)

    def set(self, start: float, spec: Any, seed: object, metric: str) -> None:
        curve = build(spec, self.base(start), self.key, metric)  # the slot's own key: nodes differ
        self.segments = [s for s in self.segments if s.start < start] + [Segment(start, curve)]
        self.segments.sort(key=lambda s: s.start)

    def insert(self, start: float, spec: Any, seed: object, metric: str) -> None:
        """Add a planned segment without dropping later ones (timeline loading)."""
        curve = build(spec, self.base(start), self.key, metric)
        self.segments.append(Segment(start, curve))
        self.segments.sort(key=lambda s: s.start)

    def value(self, t: float) -> float:
        v = self.base(t)
        if self.drop_at:
            v -= self.dropped(t)
        if self.noise:
            v += self.noise * gauss_hash(self.key, int(t // self.noise_step))
        if self.spikes:
            every = self.spikes.get("every", 600.0)
            duration = self.spikes.get("duration", 30.0)
            k = int(t // every)
            start = k * every + unit_hash(self.key, "spike", k) * max(0.0, every - duration)
            if start <= t < start + duration and unit_hash(self.key, "p", k) < self.spikes.get(
                "probability", 1.0
            ):
                v += self.spikes.get("height", 0.3)
        return min(self.maximum, max(self.minimum, v))
