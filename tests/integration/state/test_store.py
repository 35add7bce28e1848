"""worker/state against a real Redis: atomic commits, cooldown keys with TTLs, due-time claims, scan locks."""

from __future__ import annotations

import threading

import redis

from worker.model import Notification, NotificationKind, Severity, fingerprint
from worker.model.alerts import AlertState
from worker.state import keys
from worker.state.store import Commit, Store

FP = fingerprint("c1", "n1", "cpu_usage")


def note(kind: NotificationKind, nid: str) -> Notification:
    return Notification(
        nid, kind, "c1", "n1", "cpu_usage", Severity.CRITICAL, "cpu 97%", {"value": 97.0}, 1.0, 2.0, FP
    )


def firing_state() -> AlertState:
    return AlertState(FP, "n1", "cpu_usage", "firing", Severity.CRITICAL, 1.0, 1.0, Severity.CRITICAL)


def test_two_commits_of_one_transition_send_once(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    results: list[list[str]] = []

    def commit() -> None:
        c = Commit(60, upsert={FP: firing_state()}, notifications=[note(NotificationKind.FIRING, "x-firing")])
        results.append(store.commit("c1", c))

    threads = [threading.Thread(target=commit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(len(r) for r in results) == [0] * 7 + [1]
    assert store.load_alerts("c1")[FP] == firing_state()
    assert store.notification("c1", "x-firing") == note(NotificationKind.FIRING, "x-firing")
    # every key carries a TTL
    for key in redis_client.keys("nw:*"):
        assert redis_client.ttl(key) > 0, key


def test_repeat_is_held_back_by_the_cooldown_key(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    firing = note(NotificationKind.FIRING, "f")
    store.commit("c1", Commit(60, upsert={FP: firing_state()}, notifications=[firing], cooldown_start=[FP]))
    assert store.cooldowns("c1", [FP]) == {FP}
    assert 0 < redis_client.pttl(keys.cooldown("c1", FP)) <= 60_000
    assert store.commit("c1", Commit(60, notifications=[note(NotificationKind.REPEAT, "r1")])) == []
    redis_client.delete(keys.cooldown("c1", FP))  # the TTL ran out
    assert store.commit("c1", Commit(60, notifications=[note(NotificationKind.REPEAT, "r2")])) == ["r2"]
    assert store.cooldowns("c1", [FP]) == {FP}  # the repeat restarted the cooldown
    resolved = Commit(
        60, delete=[FP], notifications=[note(NotificationKind.RESOLVED, "res")], cooldown_clear=[FP]
    )
    assert store.commit("c1", resolved) == ["res"]
    assert store.load_alerts("c1") == {}
    assert store.cooldowns("c1", [FP]) == set()


def test_claim_due_hands_each_due_slot_to_one_caller(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
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
    assert all(v == 1020.0 for v in store.next_due().values())


def test_new_clusters_are_spread_by_jitter_and_removed_ones_forgotten(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    clusters = {f"c{i}": 60.0 for i in range(200)}
    assert len(store.claim_due(clusters, now=0.0)) < 20  # not everyone at second 0
    due = store.next_due()
    assert len(due) == 200 and max(due.values()) - min(due.values()) > 30
    store.claim_due({"c1": 60.0}, now=1.0)
    assert set(store.next_due()) == {"c1"}


def test_scan_lock_excludes_and_only_the_owner_releases(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    assert store.acquire_scan_lock("c1", "a", 30)
    assert not store.acquire_scan_lock("c1", "b", 30)
    store.release_scan_lock("c1", "b")
    assert store.scan_locked("c1")
    store.release_scan_lock("c1", "a")
    assert store.acquire_scan_lock("c1", "b", 30)


def test_route_sent_at_is_remembered_at_least_a_day(redis_client: redis.Redis) -> None:
    store = Store(redis_client)
    assert store.route_sent_at("c1", "ops", FP) is None
    store.mark_route_sent("c1", "ops", FP, 1234.5, interval_s=3600)
    assert store.route_sent_at("c1", "ops", FP) == 1234.5
    assert store.route_sent_at("c1", "pager", FP) is None  # per receiver
    # kept longer than this route's interval: a route with a longer one still finds it
    assert redis_client.ttl(keys.route_repeat("c1", "ops", FP)) > 3600
