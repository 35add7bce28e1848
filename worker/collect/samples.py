"""Joining the documents of one scan into a ClusterSample: allocation, usage (or why there is none), disk, top pods,
pending and evicted pods. Pure: ``now`` is passed in."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from worker.collect.eventlist import EventFacts
from worker.collect.podlist import PodIndex, PodInfo, PodUsage
from worker.model import ClusterSample, DiskStats, NodeSample, PodRef, Unreadable, Usage


def top_pods(
    pods: Sequence[PodInfo],
    usage: Mapping[tuple[str, str], PodUsage] | None,
    count: int,
) -> tuple[PodRef, ...]:
    """The top ``count`` of one node's pods by cpu and by memory (a union, biggest first): by live usage when pod
    usage is known, otherwise by requests (``reason`` says which)."""
    if count <= 0:
        return ()
    refs: list[PodRef] = []
    for pod in pods:
        if usage is not None:
            live = usage.get((pod.namespace, pod.name))
            if live is not None:
                refs.append(PodRef(pod.namespace, pod.name, live.cpu_m, live.memory, "usage"))
        else:
            refs.append(PodRef(pod.namespace, pod.name, pod.requests.cpu_m, pod.requests.memory, "requests"))
    by_cpu = sorted(refs, key=lambda r: r.cpu_m, reverse=True)[:count]
    by_mem = sorted(refs, key=lambda r: r.memory, reverse=True)[:count]
    chosen = {(r.namespace, r.name): r for r in by_cpu + by_mem}
    return tuple(sorted(chosen.values(), key=lambda r: (r.memory, r.cpu_m), reverse=True))


def with_live_top_pods(
    sample: ClusterSample,
    pods: PodIndex,
    usage: Mapping[tuple[str, str], PodUsage],
    nodes: Iterable[str],
    count: int,
) -> ClusterSample:
    """The sample with the top pods of ``nodes`` (whose pods' live usage is in ``usage``) ranked by usage."""
    wanted = set(nodes)
    return replace(
        sample,
        nodes=tuple(
            replace(n, top_pods=top_pods(pods.on(n.name), usage, count)) if n.name in wanted else n
            for n in sample.nodes
        ),
    )


def _evolve(node: NodeSample, **changes: Any) -> NodeSample:
    """``dataclasses.replace`` for 5,000 nodes a scan: the frozen dataclass's fields copied as they are (it has
    no ``__post_init__`` to run), about five times faster than ``replace``."""
    new = object.__new__(NodeSample)
    new.__dict__.update(node.__dict__)
    new.__dict__.update(changes)
    return new


def assemble(
    cluster: str,
    now: datetime,
    nodes: Sequence[NodeSample],
    pods: PodIndex | Sequence[PodInfo],
    node_usage: Mapping[str, Usage] | None,
    usage_unavailable: str,
    pod_usage: Sequence[PodUsage] | None,
    disk: Mapping[str, DiskStats | str] | None,
    events: EventFacts | None,
    top_count: int,
    metrics_stale_after_s: float,
    warnings: Sequence[str] = (),
    skipped: Sequence[str] = (),
    top_for: Callable[[NodeSample], bool] | None = None,
    unreadable: Mapping[str, Unreadable] | None = None,
) -> ClusterSample:
    """Join the documents of one scan into a ClusterSample. ``disk`` maps node -> stats or the reason they are
    missing; ``node_usage`` None means the metrics API could not be read (``usage_unavailable`` says why).
    Top pods are ranked for the nodes ``top_for`` picks (all when None): by ``pod_usage`` when given, else by
    requests. ``unreadable``: the nodes listed but not readable (``parse_nodes``), carried as they are."""
    index = pods if isinstance(pods, PodIndex) else PodIndex(pods)
    usage_index = {(p.namespace, p.name): p for p in pod_usage} if pod_usage is not None else None
    stale_before = now - timedelta(seconds=metrics_stale_after_s)
    stale_nodes = 0
    out: list[NodeSample] = []
    for node in nodes:
        share = index.allocation(node.name)
        usage: Usage | None = None
        why_no_usage = usage_unavailable
        if node_usage is not None:
            usage = node_usage.get(node.name)
            if usage is None:
                why_no_usage = "no NodeMetrics for this node (metrics-server has not scraped it)"
            elif usage.timestamp is not None and usage.timestamp < stale_before:
                why_no_usage = f"NodeMetrics stale (taken {usage.timestamp.isoformat()})"
                usage = None
                stale_nodes += 1
        disk_entry = (
            disk.get(node.name) if disk is not None else "disk stats disabled (collect.diskStats off)"
        )
        if disk is not None and disk_entry is None:
            disk_entry = "no kubelet summary for this node"
        filled = _evolve(
            node,
            requests=replace(share.requests, pods=share.pod_count),
            limits=share.limits,
            pod_count=share.pod_count,
            usage=usage,
            usage_unavailable="" if usage is not None else why_no_usage,
            disk=disk_entry if isinstance(disk_entry, DiskStats) else None,
            disk_unavailable=disk_entry if isinstance(disk_entry, str) else "",
        )
        if top_count > 0 and (top_for is None or top_for(filled)):
            filled = _evolve(filled, top_pods=top_pods(index.on(node.name), usage_index, top_count))
        out.append(filled)
    pending = index.pending()
    if events is not None:
        # the event carries the scheduler's full message; the pod condition is the fallback (events expire)
        pending = [
            replace(p, reason=events.failed_scheduling.get((p.namespace, p.name)) or p.reason)
            for p in pending
        ]
    warn = list(warnings)
    if stale_nodes:
        warn.append(f"metrics stale for {stale_nodes} node(s) (older than {metrics_stale_after_s:.0f}s)")
    return ClusterSample(
        cluster=cluster,
        taken_at=now,
        nodes=tuple(out),
        pending_pods=tuple(pending),
        evicted_pods={k: tuple(v) for k, v in (events.evicted if events else {}).items()},
        metrics_available=node_usage is not None,
        warnings=tuple(warn),
        skipped=tuple(skipped),
        unreadable=dict(unreadable or {}),
    )
