"""Predicted exhaustion through the real scan: kubesim's disks fill (or cycle, or rotate, or stop) over simulated
hours, ``run_scan`` reads them over HTTP every 5 minutes into a real Redis, and the predictive rules go through
the same lifecycle as every alert: a fill pages warning then critical before the kubelet's line, a daily cycle or
log rotation does not page, a fill that stops resolves, and a kubelet whose configz says otherwise moves the line.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest
import redis

from worker import clusters, settings
from worker.alerting import forecast
from worker.collect import configz
from worker.model import Notification, NotificationKind
from worker.pipeline import run_scan
from worker.state import store as state_store
from worker.state.predictions import split
from worker.state.store import Stores

pytestmark = pytest.mark.slow

CLUSTER = "sim-1"
STEP = 300.0  # one scan every 5 minutes: one prediction per node each scan


def node(i: int) -> str:
    return f"{CLUSTER}-pool-{i}"


@pytest.fixture()
def sim(kubesim_factory: Callable[..., Any]) -> Any:
    configz.CACHE.forget(CLUSTER)
    return kubesim_factory(clusters=1, nodes=4, pods_per_node=0)


def config(**thresholds: Any) -> settings.Settings:
    return settings.parse({"collect": {"diskStats": True}, "thresholds": thresholds}, env={})


class Run:
    """Scans every STEP seconds of simulated time; what each sent, by node and rule."""

    def __init__(self, sim: Any, client: redis.Redis, cfg: settings.Settings) -> None:
        self.sim, self.stores, self.cfg = sim, Stores(client), cfg
        self.spec = clusters.ClusterSpec(CLUSTER, int(STEP), str(sim.kubeconfigs[CLUSTER]))
        self.now = sim.control.now()  # the scans' clock is kubesim's: NodeMetrics are dated by it
        self.sent: list[tuple[float, str, str, NotificationKind, str]] = []  # (t, node, rule, kind, severity)
        self.messages: list[Notification] = []
        self.last: dict[tuple[str, str], Any] = {}  # the last finding per (node, rule)

    def scans(self, count: int, step: float = STEP) -> None:
        for _ in range(count):
            self.now = self.sim.control.advance(step)
            result = run_scan(self.stores, self.cfg, self.spec, self.now)
            assert result.outcome == "ok", result.error
            for f in result.findings:
                if f.rule.endswith("_fill_predicted"):
                    self.last[(f.node, f.rule)] = f
            for n in result.messages:
                if n.rule.endswith("_fill_predicted"):
                    self.sent.append((self.now, n.node, n.rule, n.kind, n.severity.label))
                    self.messages.append(n)

    def history(self, days: float = 2.0, step: float = 600.0) -> None:
        """Days of history first (what tells a fill from a daily cycle's up-slope), one scan every ``step``."""
        self.scans(int(days * 86400 / step), step=step)

    def of(self, name: str, rule: str = "nodefs_fill_predicted") -> list[tuple[float, NotificationKind, str]]:
        return [(t, k, s) for t, n, r, k, s in self.sent if n == name and r == rule]


def test_a_filling_disk_pages_warning_then_critical_before_the_line_and_cycles_do_not(
    sim: Any, redis_client: redis.Redis
) -> None:
    c = sim.control
    c.set_node(CLUSTER, node(1), disk=0.60)
    # node 2: a daily cycle between 55 and 85 % that never fills
    c.set_node(CLUSTER, node(2), disk={"daily": {"mean": 0.70, "amplitude": 0.15}})
    # node 3: log rotation, rising 6 %/h from 65 % and cut back at 80 % every 2.5 h
    c.set_node(CLUSTER, node(3), disk={"fill": {"from": 0.65, "rate_per_hour": 0.06, "rotate_at": 0.8}})
    # node 4: flat at 70 %
    c.set_node(CLUSTER, node(4), disk=0.70)
    run = Run(sim, redis_client, config())
    run.history()
    # node 1 starts filling 2 %/h: the kubelet evicts at 90 % in 15 h
    c.set_node(CLUSTER, node(1), disk={"fill": {"from": 0.60, "rate_per_hour": 0.02}})
    start = run.now
    run.scans(12 * 14)

    filled = run.of(node(1))
    assert [k for _, k, _ in filled] == [NotificationKind.FIRING, NotificationKind.ESCALATED], filled
    (warned_at, _, warning), (critical_at, _, critical) = filled
    assert (warning, critical) == ("warning", "critical")
    line_at = start + (0.90 - 0.60) / 0.02 * 3600  # when the kubelet would evict
    assert line_at - warned_at > 10 * 3600  # most of a day's notice (24 h horizon)
    assert 2 * 3600 < line_at - critical_at <= 4 * 3600 + 600  # the 4 h horizon, minus a for-duration
    f = run.last[(node(1), "nodefs_fill_predicted")]
    assert f.severity is not None
    assert f.params["signal"] == "nodefs.available<10%"
    assert f.params["limit_source"] == configz.CONFIGZ  # kubesim serves configz
    assert f.params["rate_unit"] == "bytes" and f.params["rate_h"] > 0
    assert 0 < f.params["eta_low_s"] <= f.params["eta_s"] <= f.params["eta_high_s"]
    for quiet in (node(2), node(3), node(4)):
        last = run.last[(quiet, "nodefs_fill_predicted")]
        assert run.of(quiet) == [] and last.severity is None, (quiet, run.of(quiet), last.params["reason"])
    assert run.last[(node(2), "nodefs_fill_predicted")].params["refusal"] == "daily_cycle"
    assert (
        run.last[(node(3), "nodefs_fill_predicted")].params["refusal"] == "not_rising"
    )  # falls keep it down


def test_a_fill_that_stops_resolves_and_says_why(sim: Any, redis_client: redis.Redis) -> None:
    c = sim.control
    c.set_node(CLUSTER, node(1), disk=0.70)
    run = Run(sim, redis_client, config())
    run.history()
    c.set_node(CLUSTER, node(1), disk={"fill": {"from": 0.70, "rate_per_hour": 0.02}})
    # 4 h: the fill must show for a while before it is predicted, then predictFor (1 h) holds it; 3 h left that to
    # the staggering of predictions (some runs had sent nothing yet). At 78 % the ETA to 90 % is ~6 h: a warning
    run.scans(12 * 4)
    assert [k for _, k, _ in run.of(node(1))] == [NotificationKind.FIRING]
    c.set_node(CLUSTER, node(1), disk=0.76)  # the writer stopped (or someone cleaned up a little)
    run.scans(12 * 4)
    kinds = [k for _, k, _ in run.of(node(1))]
    assert kinds == [NotificationKind.FIRING, NotificationKind.RESOLVED], run.of(node(1))
    resolved = run.messages[-1]
    assert resolved.kind is NotificationKind.RESOLVED
    assert resolved.params["resolved_reason"].startswith("cleared: "), (
        resolved.params
    )  # the trend changed: why


def test_the_kubelets_configz_moves_the_line(sim: Any, redis_client: redis.Redis) -> None:
    c = sim.control
    # both fill alike; node 2's kubelet evicts at nodefs.available<25 %, i.e. at 75 % used
    for i in (1, 2):  # a slow fill for days: 0.2 %/h, at ~72 % after two days
        c.set_node(CLUSTER, node(i), disk={"fill": {"from": 0.62, "rate_per_hour": 0.002}})
    c.set_node(CLUSTER, node(2), kubelet_config={"evictionHard": {"nodefs.available": "25%"}})
    run = Run(sim, redis_client, config())
    run.history()
    one, two = (run.last[(node(i), "nodefs_fill_predicted")] for i in (1, 2))
    assert one.threshold == pytest.approx(90.0) and two.threshold == pytest.approx(75.0)
    assert two.params["signal"] == "nodefs.available<25%"
    assert two.severity is not None and one.severity is None  # 75 % is ~17 h away, 90 % ~4 d


def test_forbidden_configz_falls_back_to_the_defaults_and_says_so(
    sim: Any, redis_client: redis.Redis
) -> None:
    c = sim.control
    # a memory leak; the kubelet says it evicts at 2Gi available, but nodes/proxy (configz, Summary) is forbidden
    c.set_node(CLUSTER, node(1), memory={"fill": {"from": 0.65, "rate_per_hour": 0.02}}, noise=0)
    c.set_node(CLUSTER, node(1), kubelet_config={"evictionHard": {"memory.available": "2Gi"}})
    c.set_token_permissions(CLUSTER, deny=["nodes/proxy"])
    run = Run(sim, redis_client, config())
    run.scans(4)
    f = run.last[(node(1), "memory_fill_predicted")]
    assert f.params["signal"] == "memory.available<100Mi"
    assert f.params["limit_source"] == "kubelet defaults (configz forbidden (403): needs nodes/proxy get)"
    c.set_token_permissions(CLUSTER, deny=[])
    configz.CACHE.forget(CLUSTER)  # as an hour later
    for _ in range(4):  # a metric that rises slowly (and pages nothing) is predicted again within 15 minutes
        run.scans(1)
        f = run.last[(node(1), "memory_fill_predicted")]
        if f.params["limit_source"] == configz.CONFIGZ:
            break
    assert (f.params["signal"], f.params["limit_source"]) == ("memory.available<2048Mi", configz.CONFIGZ)


def test_switched_off_or_below_the_floor_predicts_nothing(sim: Any, redis_client: redis.Redis) -> None:
    c = sim.control
    c.set_node(CLUSTER, node(1), disk=0.62)
    c.set_node(CLUSTER, node(2), disk=0.30)
    run = Run(sim, redis_client, config(predictFloor=65))
    run.history()
    for i in (1, 2):
        c.set_node(CLUSTER, node(i), disk={"fill": {"rate_per_hour": 0.03}})
    run.scans(12 * 3)
    assert run.of(node(1)) and not run.of(node(2))  # node 2 is at ~40 %: below the floor
    assert (node(2), "nodefs_fill_predicted") not in run.last  # not even worked out
    off = Run(sim, redis_client, config(predict=False))
    off.scans(3)
    assert [k for _, k, _ in off.of(node(1))] == [NotificationKind.RESOLVED]
    assert off.last[(node(1), "nodefs_fill_predicted")].params["resolved_reason"] == "prediction switched off"


def test_nodes_above_the_floor_are_predicted_once_per_five_minutes_staggered_at_one_more_round_trip_a_batch(
    kubesim_factory: Callable[..., Any], redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(forecast, "READ_BATCH", 2)  # the history of 2 due nodes at a time
    sim = kubesim_factory(clusters=1, nodes=20, pods_per_node=0)
    for i in range(1, 21):  # 10 filling, 5 steady above the floor, 5 below it
        disk = {"fill": {"from": 0.62, "rate_per_hour": 0.15}} if i <= 10 else 0.70 if i <= 15 else 0.30
        sim.control.set_node(CLUSTER, node(i), disk=disk, memory=0.2)
    run = Run(sim, state_store.connect(redis_url), config())  # a connection that counts its round trips
    stores, now = run.stores, run.now
    first = run_scan(stores, run.cfg, run.spec, now)
    assert first.predicted == 15  # every node above the floor, none below it, in 8 batches
    counts, trips = [], []
    for _ in range(15):
        now = sim.control.advance(60)
        result = run_scan(stores, run.cfg, run.spec, now)
        assert result.outcome == "ok", result.error
        counts.append(result.predicted)
        trips.append(result.redis_round_trips)
    # in 15 minutes: a rising node once every 5 minutes, a steady one once (every third bucket), staggered
    assert sum(counts) == 10 * 3 + 5 * 1, counts
    assert max(counts) < 15, counts
    # state read, commit, history write; one more a batch of due nodes (their history) only when something is due
    assert {t - math.ceil(c / 2) for t, c in zip(trips, counts, strict=True)} == {3}, (trips, counts)
    assert max(counts) > 2, counts  # some scan read more than one batch


def test_a_scan_works_out_at_most_max_due_predictions_and_the_rest_follow_in_order(
    kubesim_factory: Callable[..., Any], redis_client: redis.Redis, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cluster whose every node is above the floor and has no prediction memory (its first scan, or Redis lost
    it) would predict every node at once: 5,000 took 65 s of CPU. At most MAX_DUE a scan; the rest said again
    later, the longest unpredicted first, so that every node is reached."""
    monkeypatch.setattr(forecast, "MAX_DUE", 4)
    sim = kubesim_factory(clusters=1, nodes=10, pods_per_node=0)
    for i in range(1, 11):
        sim.control.set_node(
            CLUSTER, node(i), disk={"fill": {"from": 0.62, "rate_per_hour": 0.15}}, memory=0.2
        )
    run = Run(sim, redis_client, config())
    counts, deferred, reached = [], [], []
    for _ in range(3):
        result = run_scan(run.stores, run.cfg, run.spec, run.now)
        assert result.outcome == "ok", result.error
        counts.append(result.predicted)
        deferred.append(result.deferred)
        assert result.record()["predictions_deferred"] == result.deferred
        reached.append(len({split(name)[0] for name in run.stores.predictions.load(CLUSTER)}))
        run.now = sim.control.advance(60)
    # capped: 10 due at first, 6 or more at the second (a node predicted first may have reached its next bucket)
    assert counts[:2] == [4, 4] and max(counts) <= 4, counts
    assert deferred[0] == 6 and deferred[1] >= 2, deferred
    # the never predicted go first: 4, then 8, then all 10 nodes have a prediction
    assert reached == [4, 8, 10], reached
