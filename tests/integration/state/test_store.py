"""worker/state against a real Redis: atomic commits, cooldown keys with TTLs, due-time claims, scan locks, one
scan's reads in one round trip and its writes in one script."""

from __future__ import annotations

import threading
import time

import redis

from worker.model import Notification, NotificationKind, Severity, fingerprint
from worker.model.alerts import AlertState, Silence
from worker.state import alerts, inventory, keys
from worker.state import store as state_store
from worker.state.alerts import Transitions
from worker.state.store import Stores

FP = fingerprint("c1", "n1", "cpu_usage")


def note(kind: NotificationKind, nid: str) -> Notification:
    return Notification(
        nid, kind, "c1", "n1", "cpu_usage", Severity.CRITICAL, "cpu 97%", {"value": 97.0}, 1.0, 2.0, FP
    )


def firing_state() -> AlertState:
    return AlertState(FP, "n1", "cpu_usage", "firing", Severity.CRITICAL, 1.0, 1.0, Severity.CRITICAL)


def test_two_commits_of_one_transition_send_once(redis_client: redis.Redis) -> None:
    store = Stores(redis_client)
    results: list[list[str]] = []

    def commit() -> None:
        t = Transitions(
            60, upsert={FP: firing_state()}, notifications=[note(NotificationKind.FIRING, "x-firing")]
        )
        results.append([n.id for n in store.commit_scan("c1", t)])

    threads = [threading.Thread(target=commit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0] * 7 + [1]
    assert store.alerts.load("c1")[FP] == firing_state()
    assert store.notifications.get("c1", "x-firing") == note(NotificationKind.FIRING, "x-firing")
    # every key carries a TTL
    for key in redis_client.keys("nw:*"):
        assert redis_client.ttl(key) > 0, key


def test_repeat_is_held_back_by_the_cooldown_key(redis_client: redis.Redis) -> None:
    store = Stores(redis_client)

    def commit(t: Transitions) -> list[str]:
        return [n.id for n in store.commit_scan("c1", t)]

    firing = note(NotificationKind.FIRING, "f")
    commit(Transitions(60, upsert={FP: firing_state()}, notifications=[firing], cooldown_start=[FP]))
    assert store.alerts.cooldowns("c1", [FP]) == {FP}
    assert 0 < redis_client.pttl(keys.cooldown("c1", FP)) <= 60_000
    assert commit(Transitions(60, notifications=[note(NotificationKind.REPEAT, "r1")])) == []
    redis_client.delete(keys.cooldown("c1", FP))  # the TTL ran out
    assert commit(Transitions(60, notifications=[note(NotificationKind.REPEAT, "r2")])) == ["r2"]
    assert store.alerts.cooldowns("c1", [FP]) == {FP}  # the repeat restarted the cooldown
    resolved = Transitions(
        60, delete=[FP], notifications=[note(NotificationKind.RESOLVED, "res")], cooldown_clear=[FP]
    )
    assert commit(resolved) == ["res"]
    assert store.alerts.load("c1") == {}
    assert store.alerts.cooldowns("c1", [FP]) == set()


def test_a_cooldown_of_zero_lets_every_repeat_through(redis_client: redis.Redis) -> None:
    store = Stores(redis_client)
    store.commit_scan(
        "c1", Transitions(0, upsert={FP: firing_state()}, cooldown_start=[FP])
    )  # alertCooldown: 0
    time.sleep(0.01)
    assert [
        n.id
        for n in store.commit_scan("c1", Transitions(0, notifications=[note(NotificationKind.REPEAT, "r")]))
    ] == ["r"]


def due_times(r: redis.Redis) -> dict[str, float]:
    """The schedule: each cluster's next due time."""
    return {m: s for m, s in r.zrange(keys.SCHEDULE, 0, -1, withscores=True)}


def test_claim_due_hands_each_due_slot_to_one_caller(redis_client: redis.Redis) -> None:
    store = Stores(redis_client).schedule
    clusters = {f"c{i}": 10.0 for i in range(50)}
    first = store.claim_due(clusters, now=1000.0, jitter=False)
    assert {d.cluster for d in first} == set(clusters)
    assert store.claim_due(clusters, now=1005.0) == []  # not due again before the interval
    claimed: list[str] = []
    lock = threading.Lock()

    def claim() -> None:
        got = store.claim_due(clusters, now=1010.0)
        with lock:
            claimed.extend(d.cluster for d in got)

    threads = [threading.Thread(target=claim) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(claimed) == sorted(clusters)  # each exactly once
    assert all(v == 1020.0 for v in due_times(redis_client).values())


def test_new_clusters_are_spread_by_jitter_and_removed_ones_forgotten(redis_client: redis.Redis) -> None:
    store = Stores(redis_client).schedule
    clusters = {f"c{i}": 60.0 for i in range(200)}
    assert len(store.claim_due(clusters, now=0.0)) < 20  # not everyone at second 0
    due = due_times(redis_client)
    assert len(due) == 200 and max(due.values()) - min(due.values()) > 30
    store.claim_due({"c1": 60.0}, now=1.0)
    assert set(due_times(redis_client)) == {"c1"}


def test_scan_lock_excludes_and_only_the_owner_releases(redis_client: redis.Redis) -> None:
    store = Stores(redis_client).schedule
    assert store.acquire_lock("c1", "a", 30)
    assert not store.acquire_lock("c1", "b", 30)
    store.release_lock("c1", "b")
    assert store.locked("c1")
    store.release_lock("c1", "a")
    assert store.acquire_lock("c1", "b", 30)


def test_route_sent_at_is_remembered_at_least_a_day(redis_client: redis.Redis) -> None:
    store = Stores(redis_client).notifications
    assert store.route_sent_at("c1", [("ops", FP)]) == {}
    firing, resolved = note(NotificationKind.FIRING, "f"), note(NotificationKind.RESOLVED, "r")
    store.record_delivered("ops", [firing, resolved], 1234.5, route_sent=[firing], repeat_s=3600)
    assert store.route_sent_at("c1", [("ops", FP), ("pager", FP)]) == {("ops", FP): 1234.5}  # per receiver
    assert store.was_delivered("c1", "f", "ops") and store.was_delivered("c1", "r", "ops")
    assert store.stats() == {"delivered:ops": 2}
    # kept longer than this route's interval: a route with a longer one still finds it
    assert redis_client.ttl(keys.route_repeat("c1", "ops", FP)) > 3600


def test_one_scan_reads_in_one_round_trip_and_writes_in_one_script(
    redis_client: redis.Redis, redis_url: str
) -> None:
    """Alerts, flap records, group buffer, inventory, failure count and silences read together; transitions,
    notifications, why-entries, storm markers, group buffer, inventory and failure count written together."""
    stores = Stores(state_store.connect(redis_url))
    stores.silences.add(Silence("s1", ends=2000.0, node="n9"))
    before = state_store.round_trips.count
    state = stores.load_scan_state("c1", 1000.0)
    assert state_store.round_trips.count - before == 1
    assert (state.alerts, state.inventory, state.failures, [s.id for s in state.silences]) == (
        {},
        {},
        0,
        ["s1"],
    )
    waiting = note(NotificationKind.FIRING, "w")
    t = Transitions(
        60,
        upsert={FP: firing_state()},
        notifications=[note(NotificationKind.FIRING, "x")],
        storms_started=["cpu_usage"],
        storm_s=30,
        storm_until=1030.0,
        group_wait=[waiting],
        why=[(FP, "grouped")],
    )
    changes = inventory.Diff(set={"~scan": "1000.0", "n1": '[{}, [], false, "True", null]'})
    before = state_store.round_trips.count
    assert [n.id for n in stores.commit_scan("c1", t, inventory=changes)] == ["x"]
    assert state_store.round_trips.count - before == 1
    state = stores.load_scan_state("c1", 1000.0)
    assert set(state.alerts) == {FP} and set(state.inventory) == {"~scan", "n1"}
    assert stores.alerts.storms_on("c1", ["cpu_usage", "memory_usage"], 1000.0) == {"cpu_usage"}
    # over on the scans' clock, whatever the TTL
    assert stores.alerts.storms_on("c1", ["cpu_usage"], 1030.0) == set()
    assert [w["reason"] for w in stores.notifications.why("c1")] == ["grouped"]
    # the next scan flushes the buffer (its storm no longer on) and fails: the count goes up, the inventory stays
    buffered, taken = alerts.buffered(state.group_buffer, skip_rules=())
    assert buffered == {"cpu_usage": [waiting]}
    stores.commit_scan("c1", Transitions(60, group_taken=taken), scan_failed=True)
    state = stores.load_scan_state("c1", 1000.0)
    assert (state.group_buffer, state.failures, set(state.inventory)) == ({}, 1, {"~scan", "n1"})
    assert stores.cluster_summary("c1")["failures"] == 1 and stores.cluster_summary("c1")["firing"] == 1


def test_forget_leaves_only_keys_that_expire(redis_client: redis.Redis) -> None:
    stores = Stores(redis_client)
    changes = inventory.Diff(set={"~scan": "1000.0"})
    stores.commit_scan(
        "c1", Transitions(60, group_wait=[note(NotificationKind.FIRING, "w")]), inventory=changes
    )
    stores.schedule.record_scan("c1", {"outcome": "ok"})
    stores.commit_scan("c1", Transitions(60), forget=True)
    left = set(redis_client.scan_iter("nw:{c1}:*"))
    assert left == {keys.why("c1")}  # the why-stream says so for PAYLOAD_TTL
    assert stores.notifications.why("c1")[0]["reason"] == "cluster removed"
    assert 0 < redis_client.ttl(keys.why("c1")) <= keys.PAYLOAD_TTL
