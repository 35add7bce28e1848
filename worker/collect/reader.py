"""The only place nodewatch talks HTTP to a Kubernetes API server: one cheap scan of one cluster.

A scan is: nodes (paged, ``resourceVersion=0`` so the API server answers from its cache), NodeMetrics (one
list), every non-terminal pod of the cluster in ONE paged list (never one request per node), PodMetrics for the
top-pod enrichment, FailedScheduling / Evicted events, and, when enabled, the kubelet Summary of each Ready node
with bounded concurrency. Raw JSON goes to ``worker.collect.parse``; no client model objects are built.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from worker.collect import errors, parse
from worker.model import ClusterSample, DiskStats, NodeSample, Usage

log = logging.getLogger(__name__)

RequestHook = Callable[[str, int, float], None]
T = TypeVar("T")

NON_TERMINAL = "status.phase!=Succeeded,status.phase!=Failed"


@dataclass(frozen=True)
class CollectOptions:
    page_size: int = 500
    request_timeout: float = 10.0  # seconds, per request (each page, each kubelet summary)
    disk_stats: bool = False  # kubelet Summary API; needs RBAC ``nodes/proxy`` get
    disk_concurrency: int = 8
    top_pods: int = 3  # per node, by cpu and by memory (a union); 0 turns PodMetrics reads off
    events: bool = True  # FailedScheduling and Evicted events
    events_window: float = 3600.0  # seconds: older events are ignored
    metrics_stale_after: float = 300.0  # seconds: older NodeMetrics read as "usage unavailable"
    on_request: RequestHook | None = None  # called (path, status, seconds) after each request; 0 = no answer


class _Http:
    """GET + JSON over the client's own connection pool, auth and TLS settings."""

    def __init__(self, api: ApiClient, cluster: str, options: CollectOptions) -> None:
        self.api = api
        self.cluster = cluster
        self.options = options

    def get(self, path: str, query: list[tuple[str, str]] | None = None) -> Mapping[str, Any]:
        started = time.monotonic()
        status = 0
        try:
            status, body = self._send(path, query or [])
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: {type(exc).__name__}") from None
        except ApiException as exc:
            # the client raises this for TLS failures (status 0) and, in old versions, for HTTP errors
            status = int(exc.status or 0)
            if not status:
                raise errors.ClusterUnreachable(
                    f"{self.cluster}: GET {path}: TLS or connection error"
                ) from None
            body = b""
        finally:
            if self.options.on_request is not None:
                self.options.on_request(path, status, time.monotonic() - started)
        if status >= 400 or status < 200:
            raise errors.RequestFailed(f"{self.cluster}: GET {path}: HTTP {status}", status)
        try:
            doc = json.loads(body)
        except ValueError:
            raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: answer is not JSON") from None
        if not isinstance(doc, Mapping):
            raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: answer is not a JSON object")
        return doc

    def _send(self, path: str, query: list[tuple[str, str]]) -> tuple[int, bytes]:
        headers = {"Accept": "application/json"}
        timeout = self.options.request_timeout
        client: Any = self.api  # the client's annotations changed between versions; both are handled
        if hasattr(client, "param_serialize"):  # kubernetes >= 31 (new generator)
            method, url, hdrs, _body, _post = client.param_serialize(
                "GET", path, query_params=query, header_params=headers, auth_settings=["BearerToken"]
            )
            response = client.call_api(method, url, header_params=hdrs, _request_timeout=timeout)
            return int(response.status), bytes(response.read())
        raw = client.call_api(  # kubernetes <= 30
            path,
            "GET",
            query_params=query,
            header_params=headers,
            auth_settings=["BearerToken"],
            _preload_content=False,
            _return_http_data_only=True,
            _request_timeout=timeout,
        )
        return int(raw.status), bytes(raw.data)

    def pages(self, path: str, query: list[tuple[str, str]]) -> Iterator[Mapping[str, Any]]:
        """Each page of a list; the first from the API server's cache (resourceVersion=0)."""
        token = ""
        first = True
        while True:
            q = list(query) + [("limit", str(self.options.page_size))]
            if first:
                q.append(("resourceVersion", "0"))
            if token:
                q.append(("continue", token))
            doc = self.get(path, q)
            yield doc
            meta = doc.get("metadata")
            token = str(meta.get("continue") or "") if isinstance(meta, Mapping) else ""
            first = False
            if not token:
                return


def _read_list(
    http: _Http,
    path: str,
    query: list[tuple[str, str]],
    parse_page: Callable[[Mapping[str, Any]], tuple[list[T], list[str]]],
) -> tuple[list[T], list[str]]:
    """All pages of a list, parsed page by page (raw pages are not kept). A continue token that expired between
    pages (410 Gone: the API server compacted) restarts the list once from the beginning."""
    for attempt in (1, 2):
        items: list[T] = []
        bad: list[str] = []
        try:
            for page in http.pages(path, query):
                got, skipped = parse_page(page)
                items.extend(got)
                bad.extend(skipped)
            return items, bad
        except errors.RequestFailed as exc:
            if exc.status != 410 or attempt == 2:
                raise
            log.info("%s: list %s expired between pages (410), restarting once", http.cluster, path)
    raise AssertionError("unreachable")


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


def read_cluster(api: ApiClient, cluster: str, now: datetime, options: CollectOptions) -> ClusterSample:
    """One scan. Raises ClusterUnreachable / CredentialsRejected when nodes or pods cannot be listed;
    everything else degrades to a reason on the node and one warning on the sample."""
    http = _Http(api, cluster, options)
    warnings: list[str] = []
    skipped: list[str] = []

    try:
        nodes, bad = _read_list(http, "/api/v1/nodes", [], lambda page: parse.parse_nodes(cluster, page))
        skipped.extend(bad)
    except errors.RequestFailed as exc:
        raise _essential(exc, "listing nodes") from None

    try:
        pods, bad = _read_list(http, "/api/v1/pods", [("fieldSelector", NON_TERMINAL)], parse.parse_pods)
        skipped.extend(bad)
    except errors.RequestFailed as exc:
        raise _essential(exc, "listing pods") from None

    node_usage: dict[str, Usage] | None = None
    usage_unavailable = ""
    try:
        node_usage, bad = parse.parse_node_metrics(http.get("/apis/metrics.k8s.io/v1beta1/nodes"))
        skipped.extend(bad)
    except errors.CollectError as exc:
        usage_unavailable = _optional_reason(exc, "metrics API (metrics.k8s.io)")
        warnings.append(f"{usage_unavailable}: usage checks skipped, conditions and allocation still checked")

    pod_usage: list[parse.PodUsage] | None = None
    if node_usage is not None and options.top_pods > 0:
        try:
            pod_usage, bad = parse.parse_pod_metrics(http.get("/apis/metrics.k8s.io/v1beta1/pods"))
            skipped.extend(bad)
        except errors.CollectError as exc:
            warnings.append(f"{_optional_reason(exc, 'PodMetrics')}: top pods ranked by requests")

    events: parse.EventFacts | None = None
    if options.events:
        events = parse.EventFacts()
        for reason in ("FailedScheduling", "Evicted"):
            try:
                for page in http.pages("/api/v1/events", [("fieldSelector", f"reason={reason}")]):
                    facts, bad = parse.parse_events(page, now, options.events_window)
                    events.failed_scheduling.update(facts.failed_scheduling)
                    for node, refs in facts.evicted.items():
                        events.evicted.setdefault(node, []).extend(refs)
                    skipped.extend(bad)
            except errors.CollectError as exc:
                warnings.append(f"{_optional_reason(exc, f'{reason} events')}: not linked into alerts")

    disk: dict[str, DiskStats | str] | None = None
    if options.disk_stats:
        disk = _read_summaries(http, nodes, options, warnings, skipped)

    return parse.assemble(
        cluster,
        now,
        nodes,
        pods,
        node_usage,
        usage_unavailable,
        pod_usage,
        disk,
        events,
        options.top_pods,
        options.metrics_stale_after,
        warnings,
        skipped,
    )


def _read_summaries(
    http: _Http,
    nodes: list[NodeSample],
    options: CollectOptions,
    warnings: list[str],
    skipped: list[str],
) -> dict[str, DiskStats | str]:
    """kubelet Summary of each Ready node through the API server proxy, ``disk_concurrency`` at a time.
    A failure class (forbidden, timeout, ...) becomes one warning naming how many nodes it hit."""
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
            return parse.parse_summary(http.get(path))
        except errors.CollectError as exc:
            reason = _optional_reason(exc, "kubelet summary")
            if isinstance(exc, errors.RequestFailed) and exc.status == 403:
                reason += ": needs RBAC nodes/proxy get"
            return reason
        except parse.Malformed as exc:
            return f"kubelet summary unreadable: {exc}"

    if targets:
        with ThreadPoolExecutor(max_workers=max(1, options.disk_concurrency)) as pool:
            for name, result in zip(targets, pool.map(one, targets), strict=True):
                out[name] = result
    failures: dict[str, int] = {}
    for result in out.values():
        if isinstance(result, str) and not result.startswith("node not Ready"):
            failures[result] = failures.get(result, 0) + 1
    for reason, count in sorted(failures.items()):
        warnings.append(f"{reason} on {count} node(s): disk figures unavailable, DiskPressure still checked")
        if reason.startswith("kubelet summary unreadable"):
            skipped.append(reason)
    return out
