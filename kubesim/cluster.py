"""One simulated cluster: its objects, resourceVersions and watch history, timeline, faults and permissions."""

from __future__ import annotations

import base64
import binascii
import bisect
import heapq
import json
import random
import threading
from dataclasses import dataclass
from typing import Any

from kubesim import fleet, housekeeping, kubelet, quantity
from kubesim.accounts import Accounts
from kubesim.clock import SimClock, rfc3339
from kubesim.curves import Slot, fraction, seconds, unit_hash
from kubesim.objects import KUBELET_CONDITIONS, Event, Node, Obj, Pod, Secret, dumps_text, requests_total

# seeded pods request at most this share of a node's allocatable cpu and memory
SEED_FILL = 0.75

METRICS = ("cpu", "memory", "disk", "imagefs")
# curves a scenario may also set; a node has an inodes slot only when one is given (else inodes follow disk)
CURVES = (*METRICS, "inodes")
RESOURCES = ("nodes", "pods", "events", "secrets")
FAULT_KINDS = ("http500", "slow", "hang", "metrics_absent", "metrics_stale", "unauthorized", "timeout")
_PRESSURE = ("MemoryPressure", "DiskPressure", "PIDPressure")


class Gone(Exception):
    """A resourceVersion or continue token older than the kept history (HTTP 410)."""


class NotFound(Exception):
    pass


class Invalid(Exception):
    pass


@dataclass
class HistoryEntry:
    rv: int
    resource: str
    etype: str
    data: bytes
    namespace: str
    labels: dict[str, str]
    fields: dict[str, str]
    t: float


class Store:
    """Objects of one resource, with their keys kept sorted for paging.

    `rv` is the resourceVersion of the store's last change and `compacted_rv` the newest of its changes that the
    history no longer holds: a list of this resource is served at `rv`, and a watch or continue token of this
    resource older than `compacted_rv` is 410 Gone. Kept per resource, as kube-apiserver's watch cache is, so that
    node heartbeats neither move the resourceVersion of a pod list nor expire a pod list's continue tokens.
    """

    def __init__(self, rv: int) -> None:
        self.items: dict[str, Obj] = {}
        self._sorted: list[str] | None = None
        self.rv = rv
        self.compacted_rv = rv

    def put(self, obj: Obj) -> None:
        if obj.key not in self.items and self._sorted is not None:
            bisect.insort(self._sorted, obj.key)  # one memmove, not a re-sort of 150,000 keys per new pod
        self.items[obj.key] = obj

    def pop(self, key: str) -> Obj | None:
        obj = self.items.pop(key, None)
        if obj is not None and self._sorted is not None:
            del self._sorted[bisect.bisect_left(self._sorted, key)]
        return obj

    def keys(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.items)
        return self._sorted


def encode_continue(rv: int, start: str) -> str:
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": start + "\x00"}, separators=(",", ":"))
    return base64.b64encode(raw.encode()).decode()


def decode_continue(token: str) -> tuple[int, str]:
    try:
        data = json.loads(base64.b64decode(token + "=" * (-len(token) % 4)))
        return int(data["rv"]), str(data["start"]).rstrip("\x00")
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise Invalid(
            "continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)"
        ) from exc


class Cluster:
    """All state of one simulated cluster. Every mutation happens under `lock` and bumps `rv`."""

    def __init__(self, name: str, spec: dict[str, Any], clock: SimClock, seed: int, token: str) -> None:
        self.name = name
        self.spec = spec
        self.clock = clock
        self.seed = seed
        self.token = token
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.rng = random.Random(f"{seed}|{name}")
        self.rv = 1000
        self.stores: dict[str, Store] = {r: Store(self.rv) for r in RESOURCES}
        self.pods_by_node: dict[str, dict[str, Pod]] = {}
        # a list with a moving start rather than a deque, so that watchers can bisect by resourceVersion
        self.history: list[HistoryEntry] = []
        self._history_rvs: list[int] = []
        self._history_start = 0
        self.history_seconds = seconds(spec.get("history_seconds", 300))
        self.history_max = int(spec.get("history_max", 50_000))
        self.faults: dict[str, dict[str, Any]] = {}
        self.unhang = threading.Event()
        self.deny: list[str] = list(spec.get("deny", []))
        # ServiceAccounts, RBAC and the tokens they hold (what `nodewatch cluster kubeconfig-for` creates)
        self.accounts = Accounts(self.rng, clock.epoch)
        self.provider = str(spec.get("provider", "gke"))
        kubelet = spec.get("kubelet") or {}
        self.status_interval = seconds(kubelet.get("status_update_seconds", 60))
        self.auto_pressure = bool(kubelet.get("auto_pressure", True))
        self.memory_pressure_at = fraction(kubelet.get("memory_pressure_at", 0.98))
        self.disk_pressure_at = fraction(kubelet.get("disk_pressure_at", 0.90))
        self.pressure_every = seconds(kubelet.get("pressure_check_seconds", 10))
        self._next_pressure_check = 0.0
        self.kubelet = housekeeping.Kubelet.from_spec(kubelet)  # image GC and eviction, when modelled
        self.groups: dict[str, dict[str, Any]] = {}
        self.pinned: dict[
            str, set[str]
        ] = {}  # node -> condition types set by hand (auto-pressure leaves them)
        self.pressure: dict[str, dict[str, str]] = {}  # node -> kubelet's own view of the pressure conditions
        self._heap: list[tuple[float, str]] = []
        self._timeline: list[tuple[float, int, dict[str, Any]]] = []
        self._timeline_next = 0
        self._templates = fleet.workload_templates(self.rng, int(spec.get("workloads", 24)))
        self._ds = fleet.daemonset_template(self.rng)
        self._template_requests = {t.owner_uid: requests_total(t) for t in [*self._templates, self._ds]}
        self._node_seq = 0
        self._pod_seq = 0
        self._build()

    # ---------------------------------------------------------------- building

    def _build(self) -> None:
        t0 = self.clock.t()
        now = self.clock.epoch()
        age = seconds(self.spec.get("age", "30d"))
        for group in self.spec.get("node_groups", []):
            self.groups[group["name"]] = group
            names = list(group.get("names", []))
            count = int(group.get("count", len(names) or 1))
            for i in range(count):
                name = names[i] if i < len(names) else f"{self.name}-{group['name']}-{i + 1}"
                created = now - age + 60 * self._node_seq
                # a seeded node's usage holds from the scenario's start, so a timeline entry `at: 0` replaces it
                # even when the clock has run a little while the cluster was being built
                self._add_node(name, group, t0, created, record=False, usage_from=0.0)
        for item in self.spec.get("timeline", []) or []:
            self._plan(item)
        pending = self.spec.get("pending_pods")
        if pending:
            self.add_pending_pods(int(pending), None)

    def _slots(self, node_name: str, usage: dict[str, Any], t: float) -> dict[str, Slot]:
        defaults = {"cpu": 0.2, "memory": 0.3, "disk": 0.4, "imagefs": 0.25}
        noise = usage.get("noise", 0.0)
        slots: dict[str, Slot] = {}
        for metric in METRICS:
            slot = Slot(key=f"{self.seed}|{self.name}|{node_name}|{metric}")
            spec = usage.get(metric, defaults[metric])
            slot.set(t, spec, self.seed, metric)
            if isinstance(noise, dict):
                slot.noise = float(noise.get(metric, 0.0))
            elif metric in ("cpu", "memory"):
                slot.noise = float(noise)
            spikes = usage.get("spikes")
            if spikes and metric in (spikes.get("metrics") or ["cpu"]):
                slot.spikes = {k: seconds(v) if k in ("every", "duration") else float(v)
                               for k, v in spikes.items() if k != "metrics"}  # fmt: skip
            if metric == "cpu":
                slot.maximum = 1.0
            slots[metric] = slot
        if "inodes" in usage:
            slots["inodes"] = Slot(key=f"{self.seed}|{self.name}|{node_name}|inodes")
            slots["inodes"].set(t, usage["inodes"], self.seed, "inodes")
        return slots

    def _slot(self, node: Node, metric: str) -> Slot:
        if metric not in node.slots:  # inodes set by a timeline entry: they followed disk until now
            node.slots[metric] = Slot(key=f"{self.seed}|{self.name}|{node.name}|{metric}")
        return node.slots[metric]

    def _add_node(
        self,
        name: str,
        group: dict[str, Any],
        t: float,
        created: float,
        record: bool = True,
        usage_from: float | None = None,
    ) -> Node:
        if name in self.stores["nodes"].items:
            raise Invalid(f'nodes "{name}" already exists')
        index = self._node_seq
        self._node_seq += 1
        slots = self._slots(name, group.get("usage") or {}, t if usage_from is None else usage_from)
        node = fleet.make_node(
            self.rng, self.name, name, group["name"], index, group, self.provider, created, slots
        )
        for ctype in KUBELET_CONDITIONS:
            node.set_condition(ctype, "False" if ctype != "Ready" else "True", created + 15)
        node.conditions["Ready"].transition = created + 30
        if self.provider in ("gke", "aks"):
            node.set_condition("NetworkUnavailable", "False", created + 20)
        now = self.clock.epoch()
        for cond in node.conditions.values():
            if cond.type in KUBELET_CONDITIONS:
                cond.heartbeat = now - unit_hash(self.seed, name, "hb") * min(self.status_interval, 60)
        self.pressure[name] = {c: "False" for c in _PRESSURE}
        if self.kubelet is not None:
            self.kubelet.adopt(node, t)
        self._bump(node, "ADDED", record)
        due = t + unit_hash(self.seed, name, "hb-phase") * self.status_interval
        heapq.heappush(self._heap, (due, name))
        per_node = int(group.get("pods_per_node", self.spec.get("pods_per_node", 0)))
        if per_node:
            self._seed_pods(node, per_node, record)
        return node

    def _seed_pods(self, node: Node, count: int, record: bool) -> None:
        """Pods as the scheduler would have placed them: their requests fit the node's allocatable, leaving the
        headroom a healthy cluster keeps (a seeded node is never packed full: that is a scenario's job)."""
        now = self.clock.epoch()
        free_cpu, free_mem = node.cpu_milli * SEED_FILL, node.memory_bytes * SEED_FILL
        n = len(self._templates)
        requests = self._template_requests
        for i in range(count):
            tpl = self._ds
            if i:
                for k in range(n):
                    tpl = self._templates[(self._pod_seq + i + k) % n]
                    cpu, mem = requests[tpl.owner_uid]
                    if cpu <= free_cpu and mem <= free_mem:
                        break
            cpu, mem = requests[tpl.owner_uid]
            if cpu > free_cpu or mem > free_mem:
                break  # not even a BestEffort workload left to place (all shapes were tried)
            free_cpu, free_mem = free_cpu - cpu, free_mem - mem
            created = max(node.created_at, now - 86400 * 7 * self.rng.random())
            pod = self._new_pod(tpl, node, created, i, "Running")
            self._pod_seq += 1
            self._bump(pod, "ADDED", record)

    def _new_pod(self, tpl: Any, node: Node | None, created: float, seq: int, phase: str) -> Pod:
        pods = self.stores["pods"].items
        while True:  # random name suffixes collide at 100k+ pods per workload, as they could for real
            pod = fleet.make_pod(self.rng, tpl, node, created, seq, phase)
            if pod.key not in pods:
                return pod

    def warm(self, chunk: int = 2000) -> None:
        """Pre-render every node's and pod's JSON and every pod's Table row, so that the first full list does
        not pay for rendering (~35 µs a pod). In chunks under the lock, so requests are served meanwhile; an
        object that changes meanwhile is simply rendered again when next asked for."""
        for resource in ("nodes", "pods"):
            with self.lock:
                keys = list(self.stores[resource].items)
            for i in range(0, len(keys), chunk):
                with self.lock:
                    for key in keys[i : i + chunk]:
                        obj = self.stores[resource].items.get(key)
                        if isinstance(obj, Pod):
                            obj.prerender()
                        elif obj is not None:
                            obj.json()

    # ---------------------------------------------------------------- bookkeeping

    def _bump(self, obj: Obj, etype: str, record: bool = True) -> None:
        self.rv += 1
        obj.rv = self.rv
        obj.invalidate()
        store = self.stores[_resource_of(obj)]
        store.rv = self.rv
        if etype == "DELETED":
            store.pop(obj.key)
        else:
            store.put(obj)
        if isinstance(obj, Pod):
            on_node = self.pods_by_node.setdefault(obj.node, {})
            if etype == "DELETED":
                on_node.pop(obj.key, None)
            else:
                on_node[obj.key] = obj
        if not record:  # seeded at start: no history to watch from before this
            store.compacted_rv = self.rv
            return
        t = self.clock.t()
        self.history.append(
            HistoryEntry(
                self.rv,
                _resource_of(obj),
                etype,
                obj.json(),
                obj.namespace,
                dict(obj.labels),
                obj.fields(),
                t,
            )
        )
        self._history_rvs.append(self.rv)
        start = self._history_start
        while start < len(self.history) and (
            len(self.history) - start > self.history_max or self.history[start].t < t - self.history_seconds
        ):
            trimmed = self.history[start]
            self.stores[trimmed.resource].compacted_rv = trimmed.rv
            start += 1
        if start > 4096 and start * 2 > len(self.history):
            del self.history[:start]
            del self._history_rvs[:start]
            start = 0
        self._history_start = start
        self.changed.notify_all()

    def compact(self) -> int:
        """Forget all history, as etcd compaction does: older resourceVersions and continue tokens expire."""
        with self.lock:
            self.history.clear()
            self._history_rvs.clear()
            self._history_start = 0
            self.rv += 1
            for store in self.stores.values():
                # nothing changed, but every list now answers at the new resourceVersion, which is watchable
                store.rv = store.compacted_rv = self.rv
            self.changed.notify_all()
            return self.rv

    def since(self, rv: int, resource: str) -> list[HistoryEntry]:
        """History entries after `rv`; raises Gone when `rv` is older than what is kept."""
        compacted = self.stores[resource].compacted_rv
        if rv < compacted:
            raise Gone(f"too old resource version: {rv} ({compacted})")
        i = bisect.bisect_right(self._history_rvs, rv, lo=self._history_start)
        return [e for e in self.history[i:] if e.resource == resource]

    def node(self, name: str) -> Node:
        node = self.stores["nodes"].items.get(name)
        if node is None:
            raise NotFound(f'nodes "{name}" not found')
        assert isinstance(node, Node)
        return node

    def nodes(self) -> list[Node]:
        return [n for n in self.stores["nodes"].items.values() if isinstance(n, Node)]

    def pods_on(self, node: str) -> list[Pod]:
        return list(self.pods_by_node.get(node, {}).values())

    # ---------------------------------------------------------------- listing

    def resume(self, resource: str, cont: str) -> tuple[int, str]:
        """(resourceVersion, last key) of a continue token; Gone when the resource's history no longer reaches it."""
        token_rv, after = decode_continue(cont)
        if token_rv < self.stores[resource].compacted_rv:
            raise Gone(
                "The provided continue parameter is too old to display a consistent list result. "
                "You can start a new list without the continue parameter, or use the continue token "
                "in this response to retrieve the remainder of the results. Continuing with the "
                "provided token results in an inconsistent list - objects that were created, modified, "
                "or deleted between the time the first chunk was returned and now may show up in the list."
            )
        return token_rv, after

    def page(
        self,
        resource: str,
        namespace: str | None,
        match: Any,
        limit: int,
        cont: str | None,
        on_node: str | None = None,
    ) -> tuple[list[Obj], int, str, int | None]:
        """Objects of one page in key order: (items, resourceVersion, continue, remainingItemCount).

        `on_node` narrows pods to one node's index first (the selector is still applied).
        """
        store = self.stores[resource]
        keys = sorted(self.pods_by_node.get(on_node, {})) if on_node is not None else store.keys()
        list_rv = store.rv
        start = 0
        if cont:
            list_rv, after = self.resume(resource, cont)
            start = bisect.bisect_right(keys, after)
        if namespace:
            lo = bisect.bisect_left(keys, namespace + "/", start)
            hi = bisect.bisect_left(keys, namespace + "0")  # "0" sorts right after "/"
            start, end = max(start, lo), hi
        else:
            end = len(keys)
        items: list[Obj] = []
        get = store.items.__getitem__
        i = start
        while i < end:
            obj = get(keys[i])
            i += 1
            if match is None or match(obj):
                items.append(obj)
                if limit and len(items) >= limit:
                    break
        token = ""
        remaining: int | None = None
        if limit and len(items) >= limit and i < end:
            token = encode_continue(list_rv, items[-1].key)
            if match is None:
                remaining = end - i
        return items, list_rv, token, remaining

    # ---------------------------------------------------------------- the clock moves

    def tick(self) -> None:
        """Apply what became due: timeline actions, kubelet status posts, pressure conditions."""
        with self.lock:
            t = self.clock.t()
            while self._timeline_next < len(self._timeline) and self._timeline[self._timeline_next][0] <= t:
                at, _, item = self._timeline[self._timeline_next]
                self._timeline_next += 1
                self.apply(item, at)
            now = self.clock.epoch()
            while self._heap and self._heap[0][0] <= t:
                due, name = heapq.heappop(self._heap)
                node = self.stores["nodes"].items.get(name)
                if not isinstance(node, Node):
                    continue
                heapq.heappush(self._heap, (max(due + self.status_interval, t), name))
                if node.ready == "Unknown":
                    continue
                for cond in node.conditions.values():
                    if cond.type in KUBELET_CONDITIONS:
                        cond.heartbeat = now
                self._bump(node, "MODIFIED")
            if self.kubelet is not None:
                self.kubelet.run(self, t)
            if self.auto_pressure and t >= self._next_pressure_check:
                self._next_pressure_check = t + self.pressure_every
                for node in self.nodes():
                    self._check_pressure(node, t, now)

    def _check_pressure(self, node: Node, t: float, now: float) -> None:
        pinned = self.pinned.get(node.name, set())
        if self.kubelet is not None:  # the eviction manager's own view: set on eviction, held for a while
            wanted = self.kubelet.pressure(node.name, t)
        else:
            wanted = {
                "MemoryPressure": node.slots["memory"].value(t) >= self.memory_pressure_at,
                "DiskPressure": node.slots["disk"].value(t) >= self.disk_pressure_at,
            }
        changed = False
        for ctype, on in wanted.items():
            if ctype in pinned:
                continue
            status = "True" if on else "False"
            if self.pressure[node.name][ctype] != status:
                self.pressure[node.name][ctype] = status
                if node.ready != "Unknown":
                    changed |= node.set_condition(ctype, status, now)
        if changed:
            self._bump(node, "MODIFIED")

    # ---------------------------------------------------------------- timeline

    def _plan(self, item: dict[str, Any]) -> None:
        at = seconds(item.get("at", 0))
        every = item.get("every")
        times = [at]
        if every is not None:
            until = seconds(item.get("until", at + seconds(every) * (int(item.get("times", 1)) - 1)))
            times = []
            x = at
            while x <= until + 1e-9 and len(times) < 10_000:
                times.append(x)
                x += seconds(every)
        action = {k: v for k, v in item.items() if k not in ("at", "every", "until", "times")}
        curves = {k: action.pop(k) for k in list(action) if k in CURVES}
        for x in times:
            if curves:
                for name in self._targets(action):
                    node = self.node(name)
                    for metric, spec in curves.items():
                        self._slot(node, metric).insert(x, spec, self.seed, metric)
            if action.keys() - {"node", "nodes", "group"}:
                self._timeline.append((x, len(self._timeline), action))
        self._timeline.sort(key=lambda e: (e[0], e[1]))

    def _targets(self, action: dict[str, Any]) -> list[str]:
        if "node" in action:
            return [str(action["node"])]
        if "nodes" in action:
            return [str(n) for n in action["nodes"]]
        if "group" in action:
            return [n.name for n in self.nodes() if n.group == action["group"]]
        return []

    def apply(self, action: dict[str, Any], t: float | None = None) -> dict[str, Any]:
        """One change, as a timeline entry or a control call describes it. Returns a short summary."""
        with self.lock:
            t = self.clock.t() if t is None else t
            now = self.clock.start_epoch + t
            done: dict[str, Any] = {}
            for name in self._targets(action):
                if name in self.stores["nodes"].items:
                    self._apply_node(self.node(name), action, t, now)
                    done.setdefault("nodes", []).append(name)
                elif action.get("remove"):
                    continue
                else:
                    raise NotFound(f'nodes "{name}" not found')
            if "add_node" in action:
                spec = dict(action["add_node"])
                group = dict(
                    self.groups.get(spec.get("group", ""), next(iter(self.groups.values()), {"name": "pool"}))
                )
                group.update({k: v for k, v in spec.items() if k not in ("name", "group")})
                group.setdefault("name", spec.get("group", "pool"))
                done["added"] = self._add_node(str(spec["name"]), group, t, now).name
            if "pending" in action:
                p = action["pending"]
                p = p if isinstance(p, dict) else {"count": p}
                done["pending"] = self.add_pending_pods(int(p.get("count", 1)), p.get("message"))
            if "fault" in action:
                f = dict(action["fault"])
                self.set_fault(str(f.pop("kind")), **f)
            if action.get("clear_faults"):
                self.clear_faults()
            return done

    def _apply_node(self, node: Node, action: dict[str, Any], t: float, now: float) -> None:
        for metric in CURVES:
            if action.get(metric) is not None:
                self._slot(node, metric).set(t, action[metric], self.seed, metric)
        if "noise" in action:
            for metric in ("cpu", "memory"):
                node.slots[metric].noise = float(action["noise"])
        if isinstance(action.get("kubelet_config"), dict):  # what its configz answers from now on
            node.kubelet_config = kubelet.merge(node.kubelet_config, action["kubelet_config"])
        if action.get("remove"):
            for pod in self.pods_on(node.name):
                self._bump(pod, "DELETED")
            self._bump(node, "DELETED")
            self.pinned.pop(node.name, None)
            return
        changed = False
        ready = action.get("ready")
        if ready is not None:
            ready = str(ready) if not isinstance(ready, bool) else ("True" if ready else "False")
            if ready == "toggle":
                ready = "False" if node.ready == "True" else "True"
            changed |= self._set_ready(node, ready, now)
        for ctype, value in (action.get("conditions") or {}).items():
            changed |= self._set_condition(node, ctype, value, now, t)
        if "unschedulable" in action or "cordon" in action or "uncordon" in action:
            flag = bool(action.get("unschedulable", action.get("cordon", not action.get("uncordon", False))))
            if flag != node.unschedulable:
                node.unschedulable = flag
                changed = True
        if action.get("labels"):
            for key, value in action["labels"].items():
                if value is None:
                    node.labels.pop(key, None)
                else:
                    node.labels[key] = str(value)
            changed = True
        taints = action.get("taints")
        if taints is not None:
            if isinstance(taints, list):
                node.user_taints = [_taint(x) for x in taints]
            else:
                remove = set(taints.get("remove", []))
                node.user_taints = [x for x in node.user_taints if x["key"] not in remove]
                node.user_taints += [_taint(x) for x in taints.get("add", [])]
            changed = True
        if changed:
            self._bump(node, "MODIFIED")
        pods = action.get("pods")
        if pods:
            if "add" in pods:
                self.add_pods(node.name, int(pods["add"]), str(pods.get("cpu", "500m")), str(pods.get("memory", "1Gi")),
                              str(pods.get("phase", "Running")), str(pods.get("namespace", "default")))  # fmt: skip
            for pod in self.pods_on(node.name)[: int(pods.get("delete", 0))]:
                self._bump(pod, "DELETED")
            for pod in self.pods_on(node.name)[: int(pods.get("restart", 0))]:
                pod.restarts += 1
                self._bump(pod, "MODIFIED")
        if action.get("evict"):
            ev = action["evict"]
            ev = ev if isinstance(ev, dict) else {"count": ev}
            self.evict(node.name, int(ev.get("count", 1)), str(ev.get("resource", "memory")))

    def _set_ready(self, node: Node, ready: str, now: float) -> bool:
        if ready not in ("True", "False", "Unknown"):
            raise Invalid(f"ready must be True, False or Unknown, not {ready!r}")
        if ready == node.ready:
            return False
        was = node.ready
        node.ready = ready
        if ready == "Unknown":
            # the node lifecycle controller writes this; the kubelet's last heartbeat stays as it was
            for ctype in KUBELET_CONDITIONS:
                cond = node.conditions[ctype]
                cond.status, cond.reason, cond.message = (
                    "Unknown",
                    "NodeStatusUnknown",
                    "Kubelet stopped posting node status.",
                )
                cond.transition = now
            node.auto_taint_times["node.kubernetes.io/unreachable"] = now
            return True
        if ready == "False":
            node.auto_taint_times["node.kubernetes.io/not-ready"] = now
        node.set_condition("Ready", ready, now)
        for ctype in KUBELET_CONDITIONS:
            node.conditions[ctype].heartbeat = now
        if was == "Unknown":
            for ctype in _PRESSURE:
                node.set_condition(ctype, self.pressure[node.name][ctype], now)
        return True

    def _set_condition(self, node: Node, ctype: str, value: Any, now: float, t: float) -> bool:
        pinned = self.pinned.setdefault(node.name, set())
        if value == "auto":
            pinned.discard(ctype)
            self._next_pressure_check = t
            return False
        if ctype == "Ready":
            return self._set_ready(node, str(value["status"] if isinstance(value, dict) else value), now)
        spec = value if isinstance(value, dict) else {"status": value}
        status = spec["status"]
        status = ("True" if status else "False") if isinstance(status, bool) else str(status)
        pinned.add(ctype)
        if ctype in _PRESSURE:
            self.pressure[node.name][ctype] = status
            if node.ready == "Unknown":
                return False
        return node.set_condition(
            ctype, status, now, str(spec.get("reason", "")), str(spec.get("message", ""))
        )

    # ---------------------------------------------------------------- pods and events

    def add_pods(
        self, node_name: str, count: int, cpu: str = "500m", memory: str = "1Gi", phase: str = "Running",
        namespace: str = "default", app: str = "load",
    ) -> list[str]:  # fmt: skip
        with self.lock:
            node = self.node(node_name)
            tpl = fleet.custom_template(self.rng, app, namespace, cpu, memory)
            now = self.clock.epoch()
            names = []
            for i in range(count):
                pod = self._new_pod(tpl, node, now, len(self.pods_on(node_name)) + i, phase)
                self._bump(pod, "ADDED")
                names.append(pod.name)
            return names

    def add_pending_pods(
        self, count: int, message: str | None, cpu: str = "2", memory: str = "4Gi"
    ) -> list[str]:
        with self.lock:
            nodes = self.nodes()
            n = len(nodes)
            if not message:
                tainted = sum(1 for x in nodes if x.ready != "True" or x.unschedulable)
                parts = []
                if n - tainted:
                    parts.append(f"{n - tainted} Insufficient cpu")
                if tainted:
                    parts.append(
                        f"{tainted} node(s) had untolerated taint {{node.kubernetes.io/unreachable: }}"
                    )
                message = (
                    f"0/{n} nodes are available: {', '.join(parts) or 'no nodes available to schedule pods'}. "
                    f"preemption: 0/{n} nodes are available: {n - tainted} No preemption victims found for "
                    f"incoming pod, {tainted} Preemption is not helpful for scheduling."
                )
            tpl = fleet.custom_template(self.rng, "pending", "default", cpu, memory)
            now = self.clock.epoch()
            names = []
            for _ in range(count):
                pod = self._new_pod(tpl, None, now, 0, "Pending")
                pod.message = message
                self._bump(pod, "ADDED")
                self.event(pod, "FailedScheduling", message, "Warning", "default-scheduler")
                names.append(pod.name)
            return names

    def evict(self, node_name: str, count: int, resource: str = "memory") -> list[str]:
        with self.lock:
            victims = [
                p for p in self.pods_on(node_name) if p.phase == "Running" and p.tpl.owner_kind != "DaemonSet"
            ]
            names = []
            for pod in victims[:count]:
                threshold = "100Mi" if resource == "memory" else "10%"
                message = (
                    f"The node was low on resource: {resource}. Threshold quantity: {threshold}, available: "
                    f"{self.rng.randint(40000, 99000)}Ki. Container {pod.tpl.containers[0]['name']} was using "
                    f"{self.rng.randint(900, 3000)}Mi, request is "
                    f"{pod.tpl.containers[0].get('resources', {}).get('requests', {}).get('memory', '0')}, "
                    "has larger consumption of its request."
                )
                pod.phase, pod.reason, pod.message = "Failed", "Evicted", message
                self._bump(pod, "MODIFIED")
                self.event(pod, "Evicted", message, "Warning", "kubelet", host=node_name)
                names.append(pod.name)
            return names

    def event(self, pod: Pod, reason: str, message: str, etype: str, component: str, host: str = "") -> Event:
        now = self.clock.epoch()
        ev = Event(
            namespace=pod.namespace,
            name=f"{pod.name}.{self.rng.getrandbits(64):016x}",
            uid=fleet.new_uid(self.rng),
            involved={
                "kind": "Pod",
                "namespace": pod.namespace,
                "name": pod.name,
                "uid": pod.uid,
                "apiVersion": "v1",
                "resourceVersion": str(pod.rv),
            },  # fmt: skip
            reason=reason,
            message=message,
            type=etype,
            component=component,
            first=now,
            last=now,
            host=host,
        )
        self._bump(ev, "ADDED")
        events = self.stores["events"].items
        while len(events) > 5000:  # events have a TTL in real clusters; keep memory bounded the same way
            oldest = min(events.values(), key=lambda e: e.rv)
            self._bump(oldest, "DELETED")
        return ev

    # ---------------------------------------------------------------- faults and permissions

    def set_fault(self, kind: str, **kw: Any) -> None:
        if kind not in FAULT_KINDS:
            raise Invalid(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
        with self.lock:
            self.faults[kind] = {**kw, "since": self.clock.t()}
            if kind in ("hang", "timeout"):
                self.unhang.clear()

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()
            self.unhang.set()

    def allowed(self, verb: str, group: str, resource: str, subresource: str = "") -> bool:
        names = {group} if group else set()
        full = f"{resource}.{group}" if group else resource
        names |= {full, f"{full}/{subresource}" if subresource else full}
        names |= {f"{verb}:{n}" for n in list(names)}
        return not any(d in names for d in self.deny)

    # ---------------------------------------------------------------- usage, metrics and summary

    def scrape_t(self, node: Node, t: float) -> float:
        """The metrics-server scrape time for a node: every 15 s, a fixed phase per node; frozen when stale."""
        stale = self.faults.get("metrics_stale")
        if stale is not None:
            t = min(t, stale["since"])
        offset = unit_hash(self.seed, node.name, "scrape") * 15
        return float((t - offset) // 15 * 15 + offset)

    def node_metrics(self, node: Node, t: float) -> dict[str, Any]:
        ts = self.scrape_t(node, t)
        cpu = node.slots["cpu"].value(ts)
        mem = node.slots["memory"].value(ts)
        return {
            "kind": "NodeMetrics",
            "apiVersion": "metrics.k8s.io/v1beta1",
            "metadata": {
                "name": node.name,
                "creationTimestamp": rfc3339(self.clock.start_epoch + t),
                "labels": node.labels,
            },
            "timestamp": rfc3339(self.clock.start_epoch + ts),
            "window": "30s",
            "usage": {
                "cpu": f"{int(cpu * node.cpu_milli * 1_000_000)}n",
                "memory": f"{int(mem * node.memory_bytes) // 1024}Ki",
            },
        }

    def pods_metrics(self, pods: list[tuple[Pod, Node]], t: float) -> list[bytes]:
        """PodMetrics of (pod, its node) pairs, as JSON. Written as text from pieces worked out once per call (each
        node's scrape time and load, each workload's containers and labels) rather than as a dict per pod passed
        to the encoder: 150,000 pods took ~1.9 s that way, ~0.3 s so (byte for byte the same JSON)."""
        created = rfc3339(self.clock.start_epoch + t)
        scrapes: dict[str, tuple[str, float, float]] = {}
        shapes: dict[int, tuple[str, list[tuple[str, int, int]]]] = {}
        docs = []
        for pod, node in pods:
            scrape = scrapes.get(node.name)
            if scrape is None:
                ts = self.scrape_t(node, t)
                scrape = (
                    rfc3339(self.clock.start_epoch + ts),
                    node.slots["cpu"].value(ts),
                    node.slots["memory"].value(ts),
                )
                scrapes[node.name] = scrape
            stamp, cpu_frac, mem_frac = scrape
            shape = shapes.get(id(pod.tpl))
            if shape is None:
                containers = []
                for c in pod.tpl.containers:
                    req = c.get("resources", {}).get("requests", {})
                    prefix = '{"name":' + dumps_text(c["name"]) + ',"usage":{"cpu":"'
                    containers.append(
                        (
                            prefix,
                            quantity.millicores(req.get("cpu", "50m")),
                            quantity.to_bytes(req.get("memory", "64Mi")),
                        )
                    )
                shape = dumps_text(pod.labels), containers
                shapes[id(pod.tpl)] = shape
            labels, containers = shape
            factor = pod.usage_factor
            usage = ",".join(
                f'{prefix}{int(cpu_m * 1_000_000 * cpu_frac * factor)}n",'
                f'"memory":"{int(mem_b * (0.3 + mem_frac) * factor) // 1024}Ki"}}}}'
                for prefix, cpu_m, mem_b in containers
            )
            docs.append(
                (
                    '{"kind":"PodMetrics","apiVersion":"metrics.k8s.io/v1beta1","metadata":{"name":'
                    f'{dumps_text(pod.name)},"namespace":{dumps_text(pod.namespace)},"creationTimestamp":"{created}",'
                    f'"labels":{labels}}},"timestamp":"{stamp}","window":"30s","containers":[{usage}]}}'
                ).encode()
            )
        return docs

    def summary(self, node: Node, t: float) -> dict[str, Any]:
        """kubelet /stats/summary for a node, shaped like a 1.31 kubelet's."""
        ts = rfc3339(self.clock.start_epoch + t)
        cores = node.cpu_milli / 1000
        cpu = node.slots["cpu"].value(t)
        mem = node.slots["memory"].value(t)
        disk = node.slots["disk"].value(t)
        imagefs = node.slots["imagefs"].value(t)
        total_mem = int(node.capacity["memory"][:-2]) * 1024
        working = int(mem * node.memory_bytes)
        usage_bytes = min(total_mem, int(working * 1.25))
        uptime = t + 30 * 86400
        cap = node.disk_bytes
        used = int(cap * disk)
        inodes = cap // 16384
        inodes_slot = node.slots.get("inodes")
        inodes_frac = inodes_slot.value(t) if inodes_slot else 0.02 + 0.3 * disk
        inodes_used = int(inodes * inodes_frac)
        img_used = int(cap * imagefs)
        pods = self.pods_on(node.name)

        def fs(used_b: int, used_inodes: int) -> dict[str, Any]:
            return {
                "time": ts,
                "availableBytes": max(0, cap - used_b),
                "capacityBytes": cap,
                "usedBytes": used_b,
                "inodesFree": inodes - used_inodes,
                "inodes": inodes,
                "inodesUsed": used_inodes,
            }

        return {
            "node": {
                "nodeName": node.name,
                "systemContainers": [
                    {
                        "name": name,
                        "startTime": rfc3339(node.created_at),
                        "cpu": {
                            "time": ts,
                            "usageNanoCores": int(share * 1e9),
                            "usageCoreNanoSeconds": int(share * 1e9 * uptime),
                        },
                        "memory": {
                            "time": ts,
                            "usageBytes": mem_b,
                            "workingSetBytes": mem_b,
                            "rssBytes": mem_b // 2,
                            "pageFaults": 1000,
                            "majorPageFaults": 0,
                        },
                    }  # fmt: skip
                    for name, share, mem_b in (("kubelet", 0.04, 90 << 20), ("runtime", 0.02, 120 << 20))
                ],
                "startTime": rfc3339(node.created_at),
                "cpu": {
                    "time": ts,
                    "usageNanoCores": int(cpu * cores * 1e9),
                    "usageCoreNanoSeconds": int(cpu * cores * 1e9 * uptime),
                },
                "memory": {
                    "time": ts,
                    "availableBytes": max(0, total_mem - working),
                    "usageBytes": usage_bytes,
                    "workingSetBytes": working,
                    "rssBytes": int(working * 0.8),
                    "pageFaults": int(uptime * 10),
                    "majorPageFaults": int(uptime / 1000),
                },
                "network": {
                    "time": ts,
                    "name": "eth0",
                    "rxBytes": int(uptime * 120_000),
                    "rxErrors": 0,
                    "txBytes": int(uptime * 80_000),
                    "txErrors": 0,
                    "interfaces": [
                        {
                            "name": "eth0",
                            "rxBytes": int(uptime * 120_000),
                            "rxErrors": 0,
                            "txBytes": int(uptime * 80_000),
                            "txErrors": 0,
                        }
                    ],  # fmt: skip
                },
                "fs": fs(used, inodes_used),
                "runtime": {
                    "imageFs": fs(img_used, inodes_used // 4),
                    "containerFs": fs(img_used, inodes_used // 4),
                },
                "rlimit": {"time": ts, "maxpid": 4194304, "curproc": 250 + 12 * len(pods)},
                "swap": {"time": ts, "swapAvailableBytes": 0, "swapUsageBytes": 0},
            },
            "pods": [
                {
                    "podRef": {"name": p.name, "namespace": p.namespace, "uid": p.uid},
                    "startTime": rfc3339(p.created_at),
                    "containers": [
                        {"name": c["name"], "startTime": rfc3339(p.created_at)} for c in p.tpl.containers
                    ],
                    "cpu": {"time": ts, "usageNanoCores": int(cpu * 50_000_000 * p.usage_factor)},
                    "memory": {"time": ts, "workingSetBytes": int(mem * 200_000_000 * p.usage_factor)},
                    "ephemeral-storage": {
                        "time": ts,
                        "usedBytes": int(disk * 100_000_000),
                        "capacityBytes": cap,
                        "availableBytes": max(0, cap - used),
                    },  # fmt: skip
                }
                for p in pods
                if p.phase == "Running"
            ],
        }

    def usage(self, node: Node, t: float) -> dict[str, float]:
        return {metric: round(slot.value(t), 6) for metric, slot in node.slots.items()}


def _resource_of(obj: Obj) -> str:
    return {"Node": "nodes", "Pod": "pods", "Event": "events", "Secret": "secrets"}[obj.kind]


def _taint(spec: Any) -> dict[str, Any]:
    if isinstance(spec, str):  # "key=value:Effect" or "key:Effect", as kubectl taint writes them
        keyval, _, effect = spec.rpartition(":")
        key, _, value = keyval.partition("=")
        spec = {"key": key, "value": value, "effect": effect}
    out = {"key": str(spec["key"]), "effect": str(spec.get("effect", "NoSchedule"))}
    if spec.get("value"):
        out["value"] = str(spec["value"])
    return out


def new_secret(
    cluster: Cluster,
    namespace: str,
    name: str,
    data: dict[str, str],
    labels: dict[str, str],
    annotations: dict[str, str] | None = None,
    secret_type: str = "Opaque",
) -> Secret:
    with cluster.lock:
        existing = cluster.stores["secrets"].items.get(f"{namespace}/{name}")
        secret = Secret(
            namespace,
            name,
            fleet.new_uid(cluster.rng),
            cluster.clock.epoch(),
            dict(data),
            dict(labels),
            dict(annotations or {}),
            secret_type,
        )
        if isinstance(existing, Secret):
            secret.uid, secret.created_at = existing.uid, existing.created_at
        cluster._bump(secret, "MODIFIED" if existing else "ADDED")
        return secret


def delete_secret(cluster: Cluster, namespace: str, name: str) -> None:
    with cluster.lock:
        existing = cluster.stores["secrets"].items.get(f"{namespace}/{name}")
        if existing is None:
            raise NotFound(f'secrets "{name}" not found')
        cluster._bump(existing, "DELETED")
