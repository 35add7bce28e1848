# mypy: disable-error-code="union-attr,index,operator,arg-type,type-var,misc"
"""Pure parts of kubesim: quantities, curves, selectors, ages, pod requests, scenario loading."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kubesim import curves, fleet, quantity, scenario
from kubesim.clock import SimClock, human_age
from kubesim.objects import requests_total
from kubesim.selectors import SelectorError, field_selector, label_selector


@pytest.mark.parametrize(
    ("text", "value"),
    [("100m", Decimal("0.1")), ("0.5", Decimal("0.5")), ("128Mi", Decimal(128 * 2**20)), ("5M", Decimal(5_000_000)),
     ("487558164n", Decimal("0.487558164")), ("15991140Ki", Decimal(15991140 * 1024)), ("1e3", Decimal(1000)), (2, Decimal(2))],
)  # fmt: skip
def test_quantity_parse(text: str, value: Decimal) -> None:
    assert quantity.parse(text) == value


def test_quantity_rejects_garbage() -> None:
    with pytest.raises(ValueError):
        quantity.parse("12 cores")


def test_effective_pod_requests_count_init_containers_and_overhead() -> None:
    import random

    templates = fleet.workload_templates(random.Random(1), 7)
    by_app = {t.app.split("/")[1]: t for t in templates}
    assert requests_total(by_app["api"]) == (510, 512 * 2**20 + 5_000_000)  # "0.5" + "10m", "512Mi" + "5M"
    assert requests_total(by_app["worker"]) == (1000, 2**30)  # init container "1" beats "250m"
    assert requests_total(by_app["sandbox"]) == (450, (256 + 120) * 2**20)  # overhead added
    assert requests_total(by_app["batch"]) == (0, 0)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(5, "5s"), (119, "119s"), (150, "2m30s"), (600, "10m"), (7200, "120m"), (4 * 3600 + 60, "4h1m"),
     (20 * 3600, "20h"), (3 * 86400 + 3600, "3d1h"), (30 * 86400, "30d"), (800 * 86400, "2y70d")],
)  # fmt: skip
def test_human_age_matches_kubectl(seconds: int, text: str) -> None:
    assert human_age(seconds) == text


def test_curves() -> None:
    ramp = curves.build({"ramp": {"to": 0.9, "over": 30}}, 0.3, 1, "cpu")
    assert ramp(0) == 0.3 and ramp(15) == pytest.approx(0.6) and ramp(100) == pytest.approx(0.9)
    fill = curves.build(
        {"fill": {"from": 0.6, "rate_per_minute": 0.1, "rotate_at": 0.9, "rotate_to": 0.6}}, 0, 1, "disk"
    )
    assert (
        fill(60) == pytest.approx(0.7)
        and fill(179) < 0.9
        and fill(181) == pytest.approx(0.6 + 0.1 / 60, abs=1e-9)
    )
    daily = curves.build({"daily": {"mean": 0.5, "amplitude": 0.2, "peak_at": "14h"}}, 0, 1, "cpu")
    assert daily(14 * 3600) == pytest.approx(0.7) and daily(2 * 3600) == pytest.approx(0.3)
    steps = curves.build({"steps": [[0, 0.2], ["1m", 0.8]]}, 0.1, 1, "cpu")
    assert steps(30) == 0.2 and steps(61) == 0.8
    assert curves.build("40%", 0, 1, "cpu")(5) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        curves.build({"wobble": {}}, 0, 1, "cpu")


def test_slot_noise_is_repeatable_and_bounded() -> None:
    a = curves.Slot(key="1|c|n|cpu", noise=0.05)
    a.set(0, 0.5, 1, "cpu")
    b = curves.Slot(key="1|c|n|cpu", noise=0.05)
    b.set(0, 0.5, 1, "cpu")
    series = [a.value(t) for t in range(0, 3000, 15)]
    assert series == [b.value(t) for t in range(0, 3000, 15)]
    assert 0.4 < sum(series) / len(series) < 0.6 and len(set(series)) > 100
    assert all(0 <= v <= 1 for v in series)


def test_traces_load() -> None:
    nab = curves.load_trace("ec2_cpu_utilization_5f5533.csv.gz", "cpu")
    assert len(nab.values) == 4032 and 0.3 < sum(nab.values) / len(nab.values) < 0.5
    bb_cpu = curves.load_trace("bitbrains_rnd_vm1_week1.csv.gz", "cpu")
    bb_mem = curves.load_trace("bitbrains_rnd_vm1_week1.csv.gz", "memory")
    assert len(bb_cpu.values) == len(bb_mem.values) == 2016 and bb_cpu.step == 300
    assert bb_cpu.at(150) == pytest.approx((bb_cpu.values[0] + bb_cpu.values[1]) / 2)


def test_selectors() -> None:
    match = label_selector("app=web,tier!=db,env in (prod,stage),!legacy,zone")
    assert match is not None
    assert match({"app": "web", "env": "prod", "zone": "a"})
    assert not match({"app": "web", "env": "dev", "zone": "a"})
    assert not match({"app": "web", "env": "prod", "zone": "a", "legacy": ""})
    fields = field_selector("spec.nodeName=n1,status.phase!=Failed", {"spec.nodeName", "status.phase"}, "Pod")
    assert fields is not None and fields({"spec.nodeName": "n1", "status.phase": "Running"})
    assert not fields({"spec.nodeName": "n1", "status.phase": "Failed"})
    with pytest.raises(SelectorError):
        field_selector("spec.foo=1", {"spec.nodeName"}, "Pod")


def test_clock_speed_and_steps() -> None:
    clock = SimClock(speed=0, start_epoch=1_000_000)
    assert clock.t() == 0 and clock.epoch() == 1_000_000
    clock.advance(90)
    assert clock.epoch() == 1_000_090
    clock.set_speed(100)
    assert clock.t() >= 90


def test_timeline_at_zero_replaces_the_initial_usage_even_on_a_running_clock() -> None:
    """A scenario served at --speed 1 is built a moment after t=0; an `at: 0` curve must still win."""
    from kubesim.cluster import Cluster

    clock = SimClock(speed=0, start_epoch=1_700_000_000)
    clock.advance(0.4)  # building the cluster took 0.4 simulated seconds
    spec = {
        "node_groups": [{"name": "p", "names": ["n1"], "usage": {"disk": 0.5}}],
        "timeline": [{"at": 0, "node": "n1", "disk": 0.8}],
    }
    c = Cluster("z", spec, clock, 1, "token")
    clock.advance(10)
    c.tick()
    assert c.usage(c.node("n1"), clock.t())["disk"] == pytest.approx(0.8)


def test_shipped_scenarios_load() -> None:
    for name in ("demo", "e2e", "test", "traces", "fleet"):
        spec = scenario.load(name)
        assert spec["clusters"]
    assert len(scenario.load("fleet")["clusters"]) == 50
    with pytest.raises(ValueError):
        scenario.normalise({"clusters": [{"name": "a"}, {"name": "a"}]})


def test_readme_scenario_example_runs() -> None:
    """The full example in kubesim/README.md loads and every timeline entry applies."""
    import re
    from pathlib import Path

    import yaml

    from kubesim.cluster import Cluster
    from kubesim.objects import Pod

    readme = (Path(scenario.__file__).parent / "README.md").read_text()
    block = re.search(r"## Scenario format\n\n```yaml\n(.*?)```", readme, re.S)
    assert block is not None
    spec = scenario.normalise(yaml.safe_load(block.group(1)))
    assert [c["name"] for c in spec["clusters"]][:2] == ["demo", "prod-01"] and len(spec["clusters"]) == 51
    clock = SimClock(speed=0, start_epoch=scenario.start_epoch(spec["start"]))
    demo = Cluster("demo", spec["clusters"][0], clock, spec["seed"], "token")
    for step in range(0, 200, 5):
        clock.advance(5)
        demo.tick()
        if step == 150:
            assert "metrics_absent" in demo.faults
    assert demo.faults == {}
    assert demo.node("demo-cpu-1").unschedulable and demo.node("demo-mem-1").labels["maintenance"] == "true"
    assert {t["key"] for t in demo.node("demo-cpu-1").taints()} >= {
        "drain",
        "node.kubernetes.io/unschedulable",
    }
    assert demo.node("demo-mem-1").conditions["KernelDeadlock"].reason == "KernelHasNoDeadlock"
    assert "demo-new-1" not in demo.stores["nodes"].items
    pods = [p for p in demo.stores["pods"].items.values() if isinstance(p, Pod)]
    assert sum(p.reason == "Evicted" for p in pods) == 2 and sum(p.phase == "Pending" for p in pods) == 3
    assert any(p.restarts for p in pods)
    assert 0.9 <= demo.usage(demo.node("demo-cpu-1"), clock.t())["cpu"] <= 1.0  # 0.97 plus noise


def test_history_is_bounded_and_old_resource_versions_expire() -> None:
    from kubesim.cluster import Cluster, Gone

    clock = SimClock(speed=0, start_epoch=1_700_000_000)
    spec = {"history_max": 10, "node_groups": [{"name": "p", "count": 2}]}
    c = Cluster("h", spec, clock, 1, "token")
    first = c.rv
    for i in range(30):
        c.apply({"node": "h-p-1", "labels": {"i": str(i)}})
    assert len(c.since(c.rv - 5, "nodes")) == 5
    assert c.since(c.rv - 5, "pods") == []
    with pytest.raises(Gone):
        c.since(first, "nodes")
    clock.advance(301)  # older than history_seconds (300): the next change expires everything before it
    c.apply({"node": "h-p-2", "labels": {"x": "y"}})
    with pytest.raises(Gone):
        c.since(c.rv - 2, "nodes")
    assert [e.etype for e in c.since(c.rv - 1, "nodes")] == ["MODIFIED"]


def test_node_changes_neither_move_pod_lists_nor_expire_their_tokens() -> None:
    """resourceVersions are kept per resource (as kube-apiserver's watch cache does): a pod list's
    resourceVersion is its last pod change, and heartbeats pushing node events out of the history
    do not expire pod continue tokens or pod watches."""
    from kubesim.cluster import Cluster, Gone

    clock = SimClock(speed=0, start_epoch=1_700_000_000)
    spec = {"history_max": 10, "node_groups": [{"name": "p", "count": 2, "pods_per_node": 5}]}
    c = Cluster("h", spec, clock, 1, "token")
    _, pods_rv, token, _ = c.page("pods", None, None, 3, None)
    _, nodes_rv, _, _ = c.page("nodes", None, None, 0, None)
    for i in range(30):
        c.apply({"node": "h-p-1", "labels": {"i": str(i)}})
    assert c.page("pods", None, None, 3, None)[1] == pods_rv < c.rv
    assert c.since(pods_rv, "pods") == [] and len(c.page("pods", None, None, 0, token)[0]) == 7
    with pytest.raises(Gone):
        c.since(nodes_rv, "nodes")
    (added,) = c.add_pods("h-p-2", 1)
    assert [e.etype for e in c.since(pods_rv, "pods")] == ["ADDED"]
    assert c.page("pods", None, None, 0, None)[1] == c.stores["pods"].items[f"default/{added}"].rv
    c.compact()
    with pytest.raises(Gone):
        c.page("pods", None, None, 0, token)
    assert c.page("pods", None, None, 0, None)[1] == c.rv  # and a fresh list is watchable again
    assert c.since(c.rv, "pods") == []


def test_seeded_pods_fit_their_node_like_scheduled_ones() -> None:
    from kubesim.cluster import Cluster
    from kubesim.objects import Pod

    clock = SimClock(speed=0, start_epoch=1_700_000_000)
    spec = {
        "node_groups": [
            {"name": "p", "count": 4, "capacity": {"cpu": 2, "memory": "8Gi"}, "pods_per_node": 30}
        ]
    }
    c = Cluster("fit", spec, clock, 3, "token")
    for node in c.nodes():
        pods = c.pods_on(node.name)
        assert len(pods) == 30 and all(isinstance(p, Pod) for p in pods)
        cpu = sum(p.requests()[0] for p in pods)
        mem = sum(p.requests()[1] for p in pods)
        assert cpu <= node.cpu_milli and mem <= node.memory_bytes
        assert cpu > node.cpu_milli // 2  # and they are not all BestEffort


def test_a_trace_replays_at_its_own_timestamps_never_faster() -> None:
    """One scenario second is one second of the recording: a `step` that would compress it is refused, and only
    the clock (a scenario's `speed:`, for watching) may run faster."""
    nab = curves.load_trace("ec2_cpu_utilization_ac20cd.csv.gz", "cpu")
    assert nab.step == 300 and nab.times[1] == 300
    curve = curves.build({"trace": {"file": "ec2_cpu_utilization_ac20cd.csv.gz"}}, 0.0, "s", "cpu")
    assert curve(300 * 5) == pytest.approx(nab.values[5])
    assert curve(30 * 5) == pytest.approx(nab.values[0] * 0.5 + nab.values[1] * 0.5)  # not row 5
    with pytest.raises(ValueError, match="`step` is not accepted"):
        curves.build({"trace": {"file": "ec2_cpu_utilization_ac20cd.csv.gz", "step": 30}}, 0.0, "s", "cpu")
    with pytest.raises(ValueError, match="unknown key"):
        curves.build({"trace": {"file": "ec2_cpu_utilization_ac20cd.csv.gz", "stpe": 30}}, 0.0, "s", "cpu")
    watched = scenario.normalise({"speed": 10, "clusters": [{"name": "a"}]})
    assert watched["speed"] == 10.0 and "speed" not in scenario.load("traces")


def test_a_trace_holds_across_a_gap_and_ends_unless_it_loops() -> None:
    nab = curves.load_trace("ec2_cpu_utilization_ac20cd.csv.gz", "cpu")
    (at, length), *_ = nab.gaps()
    assert length >= 900
    row = nab.times.index(at)
    assert nab.at(at + length / 2) == nab.values[row]  # held, not a ramp the recording never showed
    end = nab.remaining(0)
    assert end == nab.times[-1] + 300
    with pytest.raises(curves.TraceEnded, match="ec2_cpu_utilization_ac20cd.csv.gz"):
        nab.at(end + 1)
    looped = curves.build({"trace": {"file": nab.name, "loop": True}}, 0.0, "s", "cpu")
    assert looped(end + 600) == pytest.approx(nab.values[2])


def test_scenarios_say_when_their_traces_end() -> None:
    ends = dict((what, t) for t, what in scenario.trace_ends(scenario.load("traces")))
    assert min(ends.values()) > 168 * 3600  # a week, the most it may replay
    assert not any("replay-nab-2" in what for what in ends)  # it says loop: true
    short = {"clusters": [{"name": "a", "timeline": [
        {"at": "1h", "node": "n", "cpu": {"trace": {"file": "ec2_cpu_utilization_5f5533.csv.gz", "offset_rows": 4000}}}
    ]}]}  # fmt: skip
    ((t, what),) = scenario.trace_ends(short)
    assert t == 3600 + 32 * 300 and "timeline[n].cpu" in what
