"""One cheap scan of one cluster: what is read, in which order, and what degrades when it cannot be read.

A scan is: nodes (paged, ``resourceVersion=0`` so the API server answers from its cache), NodeMetrics (one
list), every non-terminal pod of the cluster in ONE paged list decoded straight into the fields the rules read
(``worker.collect.wire``), FailedScheduling / Evicted events, and, when enabled, the kubelet Summary of each Ready
node with bounded concurrency. Live pod usage (top pods) is read only for the few nodes that need it (a usage
alert open or a usage figure at its warning line), never for every pod every scan. Answers are gzip-compressed
when the API server offers it, read under a deadline (per request and per scan) and a size cap
(``worker.collect.http``, the only Kubernetes HTTP), and no client model objects are built.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any
from urllib.parse import quote

from kubernetes.client import ApiClient

from worker.collect import document, errors, eventlist, kubelet, nodelist, podlist, samples, wire
from worker.collect.http import Http, PageDecoder, read_list, timed
from worker.collect.options import CollectOptions, ScanStats
from worker.model import ClusterSample, DiskStats, NodeSample, Usage

log = logging.getLogger(__name__)

NON_TERMINAL = "status.phase!=Succeeded,status.phase!=Failed"


def _continue_of(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata")
    return str(meta.get("continue") or "") if isinstance(meta, Mapping) else ""


def _json_page(raw: bytes) -> Mapping[str, Any]:
    doc = wire.decode_any(raw)
    if not isinstance(doc, Mapping):
        raise document.Malformed("answer is not a JSON object")
    if doc.get("items") is None and "List" in str(doc.get("kind") or "List"):
        raise document.Malformed("the list has no items (null): refusing to read it as an empty list")
    return doc


def _node_page(cluster: str) -> PageDecoder[nodelist.NodePage]:
    """Each page as one ``nodelist.NodePage`` (the nodes read and those that could not be, by name)."""

    def decode(raw: bytes) -> tuple[list[nodelist.NodePage], list[str], str]:
        try:
            page, token = wire.decode_node_page(cluster, raw)
        except wire.WireMismatch as exc:
            if exc.not_json:
                raise
            doc = _json_page(raw)  # an odd field somewhere: the forgiving reader reads the other nodes
            page, token = nodelist.parse_nodes(cluster, doc), _continue_of(doc)
        return [page], page.skipped, token

    return decode


def _node_metrics(http: Http) -> tuple[dict[str, Usage], list[str]]:
    raw = http.get_raw("/apis/metrics.k8s.io/v1beta1/nodes")
    try:
        try:
            return wire.decode_node_metrics(raw)
        except wire.WireMismatch as exc:
            if exc.not_json:
                raise
            return nodelist.parse_node_metrics(
                _json_page(raw)
            )  # the forgiving reader skips only the odd item
    except (wire.WireMismatch, document.Malformed) as exc:
        raise errors.ClusterUnreachable(f"{http.cluster}: GET NodeMetrics: {exc}") from None


def _pod_page(raw: bytes) -> tuple[list[podlist.PodInfo], list[str], str]:
    try:
        return wire.decode_pod_page(raw)
    except wire.WireMismatch as exc:
        if exc.not_json:
            raise
        # a shape the fast decoder does not take (a field of an odd type somewhere in the page): read this page
        # the forgiving way, which skips only the pods it cannot read and says why
        doc = _json_page(raw)
        pods, skipped = podlist.parse_pods(doc)
        return pods, skipped, _continue_of(doc)


def _essential(exc: errors.RequestFailed, what: str) -> errors.CollectError:
    if exc.status in (401, 403):
        word = "unauthorized (401)" if exc.status == 401 else "forbidden (403)"
        return errors.CredentialsRejected(f"{exc.reason}: credentials rejected, {what} {word}")
    return errors.ClusterUnreachable(exc.reason)


def _optional_reason(exc: errors.CollectError, api_name: str) -> str:
    status = exc.status if isinstance(exc, errors.RequestFailed) else 0
    if status == 404:
        return f"{api_name} not available (404)"
    if status in (401, 403):
        return f"{api_name} forbidden ({status})"
    if status == 503:
        return f"{api_name} unavailable (503)"
    if status:
        return f"{api_name} failed (HTTP {status})"
    return f"{api_name} unreachable ({exc.reason.rsplit(': ', 1)[-1]})"


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """CPython's cyclic GC, triggered by allocation counts, walks every live object again and again while a
    150,000-pod list is being turned into objects (none of which form cycles): paused, the pod list decodes
    ~40 % faster, and a scan's CPU no longer jumps by a tenth at random (bench/README.md, "scan"). Restored
    afterwards, also on error; nested pauses are harmless."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def read_cluster(
    api: ApiClient, cluster: str, now: datetime, options: CollectOptions, stats: ScanStats | None = None
) -> ClusterSample:
    """One scan. Raises ClusterUnreachable / CredentialsRejected when nodes or pods cannot be listed, ScanTimeout
    when the scan budget runs out; everything else degrades to a reason on the node and one warning on the
    sample. ``stats`` (if given) is filled with what the scan cost."""
    stats = stats if stats is not None else ScanStats()
    http = Http(api, cluster, options, stats)
    warnings: list[str] = []
    skipped: list[str] = []

    try:
        node_pages, bad = read_list(http, "/api/v1/nodes", [], "listing nodes", _node_page(cluster))
        skipped.extend(bad)
    except errors.RequestFailed as exc:
        raise _essential(exc, "listing nodes") from None
    nodes = [n for page in node_pages for n in page.nodes]
    unreadable = {name: why for page in node_pages for name, why in page.unreadable.items()}

    try:
        with gc_paused():
            pod_list, bad = read_list(
                http, "/api/v1/pods", [("fieldSelector", NON_TERMINAL)], "listing pods", _pod_page
            )
            pods = podlist.PodIndex(pod_list)
        skipped.extend(bad)
    except errors.RequestFailed as exc:
        raise _essential(exc, "listing pods") from None
    del pod_list

    node_usage: dict[str, Usage] | None = None
    usage_unavailable = ""
    try:
        node_usage, bad = timed(http, "reading NodeMetrics", lambda: _node_metrics(http))
        skipped.extend(bad)
    except errors.ScanTimeout:
        raise
    except errors.CollectError as exc:
        usage_unavailable = _optional_reason(exc, "metrics API (metrics.k8s.io)")
        warnings.append(f"{usage_unavailable}: usage checks skipped, conditions and allocation still checked")

    events: eventlist.EventFacts | None = None
    if options.events:
        events = _read_events(http, now, options, warnings, skipped)

    disk: dict[str, DiskStats | str] | None = None
    summary_pods: dict[tuple[str, str], podlist.PodUsage] = {}
    if options.disk_stats:
        disk = _read_summaries(http, nodes, options, warnings, skipped, summary_pods)

    sample = samples.assemble(
        cluster,
        now,
        nodes,
        pods,
        node_usage,
        usage_unavailable,
        None,
        disk,
        events,
        options.top_pods,
        options.metrics_stale_after,
        warnings,
        skipped,
        top_for=options.top_for,
        unreadable=unreadable,
    )
    if node_usage is not None and options.top_pods > 0:
        sample = _live_top_pods(http, sample, pods, summary_pods, options)
    return sample


def _read_events(
    http: Http, now: datetime, options: CollectOptions, warnings: list[str], skipped: list[str]
) -> eventlist.EventFacts:
    events = eventlist.EventFacts()

    def decode(raw: bytes) -> tuple[list[eventlist.EventFacts], list[str], str]:
        doc = _json_page(raw)
        facts, bad = eventlist.parse_events(doc, now, options.events_window)
        return [facts], bad, _continue_of(doc)

    for reason in ("FailedScheduling", "Evicted"):
        try:
            found, bad = read_list(
                http, "/api/v1/events", [("fieldSelector", f"reason={reason}")], "reading events", decode
            )
        except errors.ScanTimeout:
            raise
        except errors.CollectError as exc:
            warnings.append(f"{_optional_reason(exc, f'{reason} events')}: not linked into alerts")
            continue
        skipped.extend(bad)
        for facts in found:
            events.failed_scheduling.update(facts.failed_scheduling)
            for node, refs in facts.evicted.items():
                events.evicted.setdefault(node, []).extend(refs)
    return events


def _live_top_pods(
    http: Http,
    sample: ClusterSample,
    pods: podlist.PodIndex,
    summary_pods: dict[tuple[str, str], podlist.PodUsage],
    options: CollectOptions,
) -> ClusterSample:
    """Live usage of the pods of the nodes that need top pods, from the cheapest source that answers: the
    kubelet Summaries already read for disk, else one Summary per node (``nodes/proxy``), else the PodMetrics
    of that node's pods one by one. At most ``top_pods_nodes`` nodes per scan, hottest first."""
    wanted = [n for n in sample.nodes if n.top_pods and n.usage is not None]
    if not wanted:
        return sample

    def heat(n: NodeSample) -> float:
        assert n.usage is not None
        cpu = n.usage.cpu_m / n.allocatable.cpu_m if n.allocatable.cpu_m else 0.0
        mem = n.usage.memory / n.allocatable.memory if n.allocatable.memory else 0.0
        return max(cpu, mem)

    wanted = sorted(wanted, key=heat, reverse=True)[: options.top_pods_nodes]
    usage: dict[tuple[str, str], podlist.PodUsage] = dict(summary_pods)
    missing = [n.name for n in wanted if not any((p.namespace, p.name) in usage for p in pods.on(n.name))]
    started = time.monotonic()
    http.phase = f"reading live pod usage of {len(missing)} node(s)"
    try:
        if missing:
            usage.update(_pod_usage_of(http, missing, pods, options))
    except errors.ScanTimeout:
        raise
    except errors.CollectError as exc:
        log.info("%s: live pod usage unavailable (%s); top pods ranked by requests", http.cluster, exc.reason)
        return sample
    finally:
        http.stats.seconds["top pods"] = time.monotonic() - started
    return samples.with_live_top_pods(sample, pods, usage, [n.name for n in wanted], options.top_pods)


def _pod_usage_of(
    http: Http, nodes: list[str], pods: podlist.PodIndex, options: CollectOptions
) -> dict[tuple[str, str], podlist.PodUsage]:
    out: dict[tuple[str, str], podlist.PodUsage] = {}
    with ThreadPoolExecutor(max_workers=max(1, options.disk_concurrency)) as pool:

        def summary(name: str) -> list[podlist.PodUsage]:
            return kubelet.parse_summary_pods(
                http.get(f"/api/v1/nodes/{quote(name, safe='')}/proxy/stats/summary")
            )

        try:
            for found in pool.map(summary, nodes):
                out.update({(p.namespace, p.name): p for p in found})
            return out
        except errors.RequestFailed as exc:
            if exc.status not in (401, 403, 404):
                raise
        except document.Malformed:
            pass
        # no nodes/proxy: the metrics API, one PodMetrics per pod of those nodes only

        def one(pod: podlist.PodInfo) -> podlist.PodUsage | None:
            path = (
                f"/apis/metrics.k8s.io/v1beta1/namespaces/{quote(pod.namespace, safe='')}/pods/"
                f"{quote(pod.name, safe='')}"
            )
            try:
                found, _bad = podlist.parse_pod_metrics(http.get(path))
            except errors.RequestFailed as exc:
                if exc.status == 404:
                    return None  # not scraped yet
                raise
            return found[0] if found else None

        targets = [p for name in nodes for p in pods.on(name)]
        for got in pool.map(one, targets):
            if got is not None:
                out[(got.namespace, got.name)] = got
    return out


def _read_summaries(
    http: Http,
    nodes: list[NodeSample],
    options: CollectOptions,
    warnings: list[str],
    skipped: list[str],
    pod_usage: dict[tuple[str, str], podlist.PodUsage],
) -> dict[str, DiskStats | str]:
    """kubelet Summary of each Ready node through the API server proxy, ``disk_concurrency`` at a time; its
    pods' live usage goes into ``pod_usage``. A failure class (forbidden, timeout, ...) becomes one warning
    naming how many nodes it hit."""
    out: dict[str, DiskStats | str] = {}
    targets = []
    for node in nodes:
        if node.ready == "True":
            targets.append(node.name)
        else:
            out[node.name] = "node not Ready: kubelet summary not read"

    def one(name: str) -> DiskStats | str:
        path = f"/api/v1/nodes/{quote(name, safe='')}/proxy/stats/summary"
        try:
            doc = http.get(path)
            stats = kubelet.parse_summary(doc)
            for p in kubelet.parse_summary_pods(doc):
                pod_usage[(p.namespace, p.name)] = p
            return stats
        except errors.ScanTimeout:
            raise
        except errors.CollectError as exc:
            reason = _optional_reason(exc, "kubelet summary")
            if isinstance(exc, errors.RequestFailed) and exc.status == 403:
                reason += ": needs RBAC nodes/proxy get"
            return reason
        except document.Malformed as exc:
            return f"kubelet summary unreadable: {exc}"

    if targets:
        started = time.monotonic()
        http.phase = f"reading kubelet summaries of {len(targets)} node(s)"
        with ThreadPoolExecutor(max_workers=max(1, options.disk_concurrency)) as pool:
            for name, result in zip(targets, pool.map(one, targets), strict=True):
                out[name] = result
        http.stats.seconds["kubelet summaries"] = time.monotonic() - started
    failures: dict[str, int] = {}
    for result in out.values():
        if isinstance(result, str) and not result.startswith("node not Ready"):
            failures[result] = failures.get(result, 0) + 1
    for reason, count in sorted(failures.items()):
        warnings.append(f"{reason} on {count} node(s): disk figures unavailable, DiskPressure still checked")
        if reason.startswith("kubelet summary unreadable"):
            skipped.append(reason)
    return out
