"""worker/state/history against the suite's real Redis: a simulated week written with explicit timestamps (no
sleeping), read back exactly; retention, 5-minute downsampling, TTLs, the byte budget, one round trip a scan."""

from __future__ import annotations

import math
import random
from collections import defaultdict

import pytest
import redis

from worker.model import DiskStats, FsStats, NodeSample, Resources, Usage
from worker.model import history as model_history
from worker.model.history import METRICS
from worker.state import history_codec as codec
from worker.state import keys, store
from worker.state.history import History

T0 = 1_700_000_000 - 1_700_000_000 % 300  # on a bucket boundary, to count buckets simply
STEP = 60
WEEK = 7 * 24 * 3600
GAP = (3 * 24 * 3600, 3 * 24 * 3600 + 7200)  # no scan for two hours on day 3
END = T0 + WEEK + 2 * 3600  # a week and two hours of scans


def normal(k: int, t: int, rnd: random.Random) -> dict[str, float | None]:
    """A plausible node: a daily cpu cycle with noise, steady memory, a slowly filling disk, pods stepping."""
    return {
        "cpu": 40 + 20 * math.sin(2 * math.pi * (t % 86400) / 86400) + rnd.gauss(0, 4),
        "memory": 60 + rnd.gauss(0, 0.8),
        "nodefs": 50 + 0.02 * k / 60,
        "imagefs": None,  # a node without a separate image filesystem
        "inodes": 12.0,
        "pods": 30 + (k // 400) % 4 * 0.9,
        "cpu_requests": 55.0,
        "memory_requests": 62.5,
    }


def noisy(rnd: random.Random) -> dict[str, float | None]:
    """The worst case for the encoding: every metric jumps anywhere at every scan."""
    return {m: rnd.uniform(0, 100) for m in METRICS}


def stored(v: float | None) -> int | None:
    return None if v is None else min(codec.MAX_STORED, max(0, round(v * codec.SCALE)))


Week = tuple[redis.Redis, History, dict[str, dict[int, dict[str, int | None]]]]
_WRITTEN: dict[str, dict[int, dict[str, int | None]]] = {}


def _write_week(client: redis.Redis) -> dict[str, dict[int, dict[str, int | None]]]:
    """Write the week; return what was written, as stored (0.1 pt integers)."""
    h = History(client, batch=2)  # 3-4 nodes -> 2 script calls per scan, still one round trip
    rnd = random.Random(14)
    written: dict[str, dict[int, dict[str, int | None]]] = defaultdict(dict)
    k = 0
    for t in range(T0, END, STEP):
        if GAP[0] <= t - T0 < GAP[1]:
            continue
        scan: dict[str, dict[str, float | None]] = {"n1": normal(k, t, rnd), "n2": normal(k, t, rnd)}
        scan["noisy"] = noisy(rnd)
        if t - T0 < 3600:
            scan["gone"] = normal(k, t, rnd)  # deleted after its first hour: never written again
        before = store.round_trips.count
        assert h.record("c1", t, scan) == len(scan)
        if k > 0:
            assert store.round_trips.count - before == 1
        for node, values in scan.items():
            written[node][t] = {m: stored(values[m]) for m in METRICS}
        k += 1
    return written


@pytest.fixture()
def week(redis_session_url: str) -> Week:
    """The simulated week, written once (again if a test flushed the database since)."""
    client = store.connect(redis_session_url)
    if not _WRITTEN or not client.exists(keys.history_nodes("c1")):
        client.flushdb()
        _WRITTEN.clear()
        _WRITTEN.update(_write_week(client))
    return client, History(client), _WRITTEN


def test_scan_samples_are_kept_six_hours_exactly(week: Week) -> None:
    _client, h, written = week
    last = max(written["n1"])
    for metric in METRICS:
        got = h.series("c1", "n1", metric, since=0).fine
        expect = written["n1"]
        if metric == "imagefs":
            assert got == []
            continue
        times = [t for t, _ in got]
        assert times == sorted(times) and times[-1] == last
        assert last - codec.FINE_S - codec.FINE_SLACK_S <= times[0] <= last - codec.FINE_S
        assert times == [t for t in sorted(expect) if t >= times[0]]
        assert all(v == expect[int(t)][metric] / codec.SCALE for t, v in got), metric


def test_five_minute_means_and_maxes_for_seven_days(week: Week) -> None:
    _client, h, written = week
    last = max(written["n1"])
    buckets: dict[int, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for t, values in written["n1"].items():
        for metric, v in values.items():
            if v is not None:
                buckets[t // codec.BUCKET_S][metric].append(v)
    for metric in ("cpu", "memory", "nodefs", "pods"):
        got = h.series("c1", "n1", metric, since=0).coarse
        first = (got[0][0] - codec.BUCKET_S / 2) // codec.BUCKET_S
        # at least 7 days back, at most the trim slack (1 h) more; up to the last closed bucket
        assert last - WEEK - 3600 - codec.BUCKET_S <= first * codec.BUCKET_S <= last - WEEK
        assert got[-1][0] == (last // codec.BUCKET_S - 1) * codec.BUCKET_S + codec.BUCKET_S / 2
        for middle, mean, peak in got:
            vs = buckets[int(middle // codec.BUCKET_S)][metric]
            assert mean == math.floor(sum(vs) / len(vs) + 0.5) / codec.SCALE, (metric, middle)
            assert peak == max(vs) / codec.SCALE
        gap_buckets = {b for b in range((T0 + GAP[0]) // 300, (T0 + GAP[1]) // 300)}
        assert not gap_buckets & {int(m // 300) for m, _, _ in got}  # no scan, no bucket
        assert len(got) == len({int(m // 300) for m, _, _ in got})


def test_since_and_a_whole_cluster_in_one_read(week: Week) -> None:
    client, h, written = week
    last = max(written["n1"])
    one = h.series("c1", "n1", "cpu", since=last - 3600)
    assert len(one.fine) == 61 and all(t >= last - 3600 for t, _ in one.fine)  # since is inclusive
    assert all(m >= last - 3600 for m, _, _ in one.coarse)
    before = store.round_trips.count
    every = h.cluster_series("c1", "memory", since=last - 86400, nodes=["n1", "n2", "noisy", "never"])
    assert store.round_trips.count - before == 1
    assert set(every) == {"n1", "n2", "noisy"}
    assert every["n2"] == h.series("c1", "n2", "memory", since=last - 86400)
    assert sorted(h.nodes("c1")) == ["n1", "n2", "noisy"]  # "gone" left the index after 7 days unwritten


def test_ttls_let_deleted_nodes_vanish(week: Week) -> None:
    client, _h, _written = week
    alive, gone = keys.history("c1", "n1"), keys.history("c1", "gone")
    # "gone" was not written (nor its TTL refreshed) after its first hour
    assert 0 < client.pttl(gone) < client.pttl(alive) <= keys.HISTORY_TTL * 1000
    assert 0 < client.ttl(keys.history_nodes("c1")) <= keys.HISTORY_TTL


def test_a_node_stays_within_24_kb_even_when_every_value_jumps(week: Week) -> None:
    client, h, written = week
    for node in ("n1", "n2", "noisy"):
        used = client.memory_usage(keys.history("c1", node), samples=0)
        assert used is not None and used <= 24 * 1024, (node, used)
    # the realistic nodes keep the whole week; the worst case keeps what fits (the oldest buckets went first)
    noisy = h.series("c1", "noisy", "cpu", since=0)
    assert len(noisy.fine) >= 60 and len(noisy.coarse) >= 240  # an hour of scans, most of a day of buckets
    last = max(written["noisy"])
    for _middle, mean, peak in noisy.coarse[-5:]:
        assert 0 <= mean <= peak <= 100
    assert noisy.fine[-1] == (last, written["noisy"][last]["cpu"] / codec.SCALE)


def test_every_metric_of_one_node_in_one_read(week: Week) -> None:
    """The dashboard's node page: the eight series of one node in one round trip, each as ``series`` reads it."""
    _client, h, written = week
    since = max(written["n1"]) - 6 * 3600
    before = store.round_trips.count
    got = h.node_series("c1", "n1", since)
    assert store.round_trips.count - before == 1
    assert got == {metric: h.series("c1", "n1", metric, since) for metric in METRICS}
    assert h.node_series("c1", "never") == {metric: h.series("c1", "never", metric) for metric in METRICS}


def test_a_scan_written_twice_or_late_is_ignored(redis_client: redis.Redis) -> None:
    h = History(redis_client)
    assert h.record("c2", 1000, {"n": {"cpu": 10.0}}) == 1
    assert h.record("c2", 1000, {"n": {"cpu": 99.0}}) == 0
    assert h.record("c2", 940, {"n": {"cpu": 99.0}}) == 0
    assert h.record("c2", 1060, {"n": {"cpu": 11.04, "memory": float("nan")}}) == 1
    assert h.series("c2", "n", "cpu").fine == [(1000.0, 10.0), (1060.0, 11.0)]
    assert h.series("c2", "n", "memory").fine == []
    with pytest.raises(ValueError, match="unknown history metrics"):
        h.record("c2", 1120, {"n": {"cpu%": 1.0}})


def test_values_beyond_the_range_are_clamped_and_big_jumps_kept(redis_client: redis.Redis) -> None:
    h = History(redis_client)
    series = [-5.0, 0.0, 1500.0, 2000.0, 50.0, 50.0, 50.0, 61.2, 38.8, 38.8]
    for i, v in enumerate(series):
        h.record("c3", 10_000 + 60 * i, {"n": {"pods": v}})
    got = [v for _, v in h.series("c3", "n", "pods").fine]
    assert got == [0.0, 0.0, 1500.0, 1638.3, 50.0, 50.0, 50.0, 61.2, 38.8, 38.8]


def test_scripts_flushed_from_redis_are_loaded_again(redis_client: redis.Redis) -> None:
    h = History(redis_client)
    h.record("c4", 5000, {"n": {"cpu": 1.0}})
    redis_client.script_flush()
    assert h.record("c4", 5060, {"n": {"cpu": 2.0}}) == 1
    assert [v for _, v in h.series("c4", "n", "cpu").fine] == [1.0, 2.0]


def test_forget_a_cluster_or_some_nodes(redis_client: redis.Redis) -> None:
    h = History(redis_client)
    h.record("c5", 5000, {"a": {"cpu": 1.0}, "b": {"cpu": 2.0}, "c": {"cpu": 3.0}})
    h.forget("c5", ["a"])
    assert sorted(h.nodes("c5")) == ["b", "c"] and not redis_client.exists(keys.history("c5", "a"))
    h.forget("c5")
    assert redis_client.keys("nw:{c5}*") == []


def test_values_of_a_scanned_node() -> None:
    node = NodeSample(
        cluster="c",
        name="n",
        allocatable=Resources(cpu_m=4000, memory=16 * 1024**3, pods=110),
        requests=Resources(cpu_m=1000, memory=4 * 1024**3),
        pod_count=11,
        usage=Usage(cpu_m=2000, memory=8 * 1024**3),
        disk=DiskStats(FsStats(100, 30, 70, inodes=1000, inodes_free=900), None),
    )
    assert model_history.values(node) == {
        "cpu": 50.0,
        "memory": 50.0,
        "nodefs": pytest.approx(30.0),
        "imagefs": None,
        "inodes": pytest.approx(10.0),
        "pods": 10.0,
        "cpu_requests": 25.0,
        "memory_requests": 25.0,
    }
    assert set(model_history.values(NodeSample("c", "bare")).values()) == {None}
