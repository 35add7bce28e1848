"""The only place nodewatch talks HTTP to a Kubernetes API server: one cheap scan of one cluster.

A scan is: nodes (paged, ``resourceVersion=0`` so the API server answers from its cache), NodeMetrics (one
list), every non-terminal pod of the cluster in ONE paged list decoded straight into the fields the rules read
(``worker.collect.wire``), FailedScheduling / Evicted events, and, when enabled, the kubelet Summary of each Ready
node with bounded concurrency. Live pod usage (top pods) is read only for the few nodes that need it (a usage
alert open or a usage figure at its warning line), never for every pod every scan. Answers are gzip-compressed
when the API server offers it, read under a deadline (per request and per scan) and a size cap, and no client
model objects are built.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import math
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import quote

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from worker.collect import errors, parse, wire
from worker.model import ClusterSample, DiskStats, NodeSample, Usage

log = logging.getLogger(__name__)

RequestHook = Callable[[str, int, float], None]
T = TypeVar("T")

NON_TERMINAL = "status.phase!=Succeeded,status.phase!=Failed"
MIB = 1024 * 1024


@dataclass(frozen=True)
class CollectOptions:
    page_size: int = 500
    request_timeout: float = (
        10.0  # seconds, whole request (headers and body), each page, each kubelet summary
    )
    scan_budget: float = 0.0  # seconds for the whole scan; 0 = no limit
    max_response_bytes: int = 64 * MIB  # one answer (a page, a metrics list) larger than this fails the read
    compression: bool = True  # ask for gzip (the API server compresses answers over 128 KiB)
    disk_stats: bool = False  # kubelet Summary API; needs RBAC ``nodes/proxy`` get
    disk_concurrency: int = 8
    top_pods: int = 3  # per node, by cpu and by memory (a union); 0 turns live pod usage reads off
    top_pods_nodes: int = 20  # at most this many nodes get live pod usage per scan; the rest rank by requests
    top_for: Callable[[NodeSample], bool] | None = None  # which nodes need top pods; None = every node
    events: bool = True  # FailedScheduling and Evicted events
    events_window: float = 3600.0  # seconds: older events are ignored
    metrics_stale_after: float = 300.0  # seconds: older NodeMetrics read as "usage unavailable"
    on_request: RequestHook | None = None  # called (path, status, seconds) after each request; 0 = no answer


@dataclass
class ScanStats:
    """What one scan cost, for the scan record and the benchmarks."""

    requests: int = 0
    bytes: int = 0  # as received (compressed when the server compressed)
    raw_bytes: int = 0  # decoded JSON
    seconds: dict[str, float] = field(default_factory=dict)  # per read: nodes, pods, metrics, events, ...

    def as_record(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "bytes": self.bytes,
            "raw_bytes": self.raw_bytes,
            "read_s": {k: round(v, 3) for k, v in self.seconds.items()},
        }


def seconds(x: float) -> str:
    """A duration for people: "0.6s", "12s"."""
    return f"{x:.1f}s" if x < 10 else f"{x:.0f}s"


def _describe(exc: BaseException) -> str:
    """A connection failure as "host:port: cause" without the URL's query or any header."""
    pool = getattr(exc, "pool", None)
    where = f"{pool.host}:{pool.port}" if pool is not None and getattr(pool, "host", None) else ""
    inner = getattr(exc, "reason", None) or exc
    text = str(inner)
    if isinstance(inner, urllib3.exceptions.NewConnectionError) or "Failed to establish" in text:
        cause = text.rsplit("Failed to establish a new connection: ", 1)[-1]
    elif isinstance(inner, urllib3.exceptions.NameResolutionError):
        cause = "DNS name not resolved"
    elif isinstance(inner, urllib3.exceptions.ReadTimeoutError | urllib3.exceptions.ConnectTimeoutError):
        cause = "no answer in time"
    elif isinstance(inner, urllib3.exceptions.SSLError):
        cause = f"TLS error ({text.split(': ', 1)[-1][:200]})"
    elif isinstance(inner, urllib3.exceptions.ProtocolError):
        cause = "connection broken"
    else:
        cause = type(inner).__name__
    return f"{where}: {cause}" if where else cause


class _Http:
    """GET over the client's own connection pool, auth and TLS settings; bodies read under a deadline."""

    def __init__(self, api: ApiClient, cluster: str, options: CollectOptions, stats: ScanStats) -> None:
        self.api = api
        self.cluster = cluster
        self.options = options
        self.stats = stats
        self.started = time.monotonic()
        self.deadline = self.started + options.scan_budget if options.scan_budget > 0 else math.inf
        self.phase = "starting"

    def check_budget(self) -> None:
        if time.monotonic() >= self.deadline:
            spent = time.monotonic() - self.started
            raise errors.ScanTimeout(
                f"{self.cluster}: scan budget of {seconds(self.options.scan_budget)} used up after "
                f"{seconds(spent)} while {self.phase}",
                self.phase,
            )

    def get_raw(self, path: str, query: list[tuple[str, str]] | None = None) -> bytes:
        self.check_budget()
        started = time.monotonic()
        deadline = min(started + self.options.request_timeout, self.deadline)
        status = 0
        try:
            status, response = self._send(path, query or [], max(0.05, deadline - started))
            body = self._read_body(response, path, deadline)
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            if deadline == self.deadline and time.monotonic() >= deadline - 0.25:
                self.deadline = time.monotonic()  # the socket timeout was the budget's remainder
            self.check_budget()
            raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: {_describe(exc)}") from None
        except ApiException as exc:
            # the client raises this for TLS failures (status 0) and, in old versions, for HTTP errors
            status = int(exc.status or 0)
            if not status:
                raise errors.ClusterUnreachable(
                    f"{self.cluster}: GET {path}: TLS or connection error"
                ) from None
            body = b""
        finally:
            self.stats.requests += 1
            if self.options.on_request is not None:
                self.options.on_request(path, status, time.monotonic() - started)
        if status >= 400 or status < 200:
            raise errors.RequestFailed(f"{self.cluster}: GET {path}: HTTP {status}", status)
        return body

    def get(self, path: str, query: list[tuple[str, str]] | None = None) -> Mapping[str, Any]:
        raw = self.get_raw(path, query)
        try:
            doc = wire.decode_any(raw)
        except wire.WireMismatch:
            raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: answer is not JSON") from None
        if not isinstance(doc, Mapping):
            raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: answer is not a JSON object")
        return doc

    def _send(self, path: str, query: list[tuple[str, str]], timeout: float) -> tuple[int, Any]:
        headers = {"Accept": "application/json"}
        if self.options.compression:
            headers["Accept-Encoding"] = "gzip"
        client: Any = self.api  # the client's annotations changed between versions; both are handled
        if hasattr(client, "param_serialize"):  # kubernetes >= 31 (new generator): the body is not read yet
            method, url, hdrs, _body, _post = client.param_serialize(
                "GET", path, query_params=query, header_params=headers, auth_settings=["BearerToken"]
            )
            response = client.call_api(method, url, header_params=hdrs, _request_timeout=timeout)
            return int(response.status), response.response
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
        return int(raw.status), raw

    def _read_body(self, response: Any, path: str, deadline: float) -> bytes:
        """Whatever arrives, chunk by chunk, so a server that trickles a byte at a time is cut at the deadline
        (a socket timeout alone would wait forever) and one that sends too much is cut at the cap (counted after
        decompression, so a gzip bomb is cut too). Each read waits at most until the deadline (the socket's
        timeout is shortened to what is left), so a byte arriving just under the socket timeout cannot hold the
        request past it. gzip is inflated here in large steps: urllib3's own decoder works in small ones and
        cost as much CPU as decoding the JSON."""
        chunks: list[bytes] = []
        size = 0
        cap = self.options.max_response_bytes
        gzipped = str(response.headers.get("Content-Encoding", "")).lower() == "gzip"
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
        read = getattr(response, "read1", None) or response.read
        complete = False
        sock = getattr(getattr(response, "connection", None), "sock", None)
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise self._late(path, deadline)
                if sock is not None:
                    with contextlib.suppress(OSError):  # closed under us: the read below says so
                        sock.settimeout(left)
                try:
                    chunk = read(MIB, decode_content=False)
                except (urllib3.exceptions.ReadTimeoutError, TimeoutError):
                    if time.monotonic() < deadline - 0.1:
                        raise  # the server's own timeout, not the deadline: said as "no answer in time"
                    raise self._late(path, deadline) from None
                if not chunk:
                    complete = True
                    break
                self.stats.bytes += len(chunk)
                if inflate is not None:
                    chunk = inflate.decompress(chunk, cap - size + 1)
                size += len(chunk)
                if size > cap or (inflate is not None and inflate.unconsumed_tail):
                    raise errors.ClusterUnreachable(
                        f"{self.cluster}: GET {path}: answer larger than {cap // MIB} MiB "
                        "(collect.maxResponseMiB): refused"
                    )
                chunks.append(chunk)
            if inflate is not None:
                chunks.append(inflate.flush())
        except zlib.error:
            raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: broken gzip answer") from None
        finally:
            if not complete:
                response.close()  # unread bytes must not go back to the pool with the connection
            response.release_conn()
        body = b"".join(chunks)
        self.stats.raw_bytes += len(body)
        return body

    def _late(self, path: str, deadline: float) -> errors.CollectError:
        """The error for a body not complete by ``deadline``: ScanTimeout when that was the scan's budget."""
        if deadline == self.deadline:
            self.deadline = min(self.deadline, time.monotonic())  # a timer may fire a hair early
        self.check_budget()
        return errors.ClusterUnreachable(
            f"{self.cluster}: GET {path}: answer not complete within "
            f"{seconds(self.options.request_timeout)} (collect.requestTimeout)"
        )

    def pages(
        self, path: str, query: list[tuple[str, str]], what: str, decode: PageDecoder[T]
    ) -> Iterator[tuple[list[T], list[str]]]:
        """Each page of a list, decoded by ``decode`` (raw bytes -> items, skipped, continue token); the first
        page from the API server's cache (resourceVersion=0)."""
        token = ""
        page = 0
        while True:
            q = list(query) + [("limit", str(self.options.page_size))]
            q.append(("continue", token) if token else ("resourceVersion", "0"))
            page += 1
            self.phase = f"{what} (page {page})"
            raw = self.get_raw(path, q)
            try:
                items, skipped, token = decode(raw)
            except parse.Malformed as exc:
                raise errors.ListUnreadable(f"{self.cluster}: GET {path}: {exc}") from None
            except wire.WireMismatch:
                raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: answer is not JSON") from None
            yield items, skipped
            if not token:
                return


PageDecoder = Callable[[bytes], tuple[list[T], list[str], str]]


def _read_list(
    http: _Http, path: str, query: list[tuple[str, str]], what: str, decode: PageDecoder[T]
) -> tuple[list[T], list[str]]:
    """All pages of a list, decoded page by page (raw pages are not kept). A continue token that expired between
    pages (410 Gone: the API server compacted) restarts the list once from the beginning."""
    started = time.monotonic()
    try:
        for attempt in (1, 2):
            items: list[T] = []
            bad: list[str] = []
            try:
                for got, skipped in http.pages(path, query, what, decode):
                    items.extend(got)
                    bad.extend(skipped)
                return items, bad
            except errors.RequestFailed as exc:
                if exc.status != 410 or attempt == 2:
                    raise
                log.info("%s: list %s expired between pages (410), restarting once", http.cluster, path)
        raise AssertionError("unreachable")
    finally:
        http.stats.seconds[what] = http.stats.seconds.get(what, 0.0) + time.monotonic() - started


def _continue_of(doc: Mapping[str, Any]) -> str:
    meta = doc.get("metadata")
    return str(meta.get("continue") or "") if isinstance(meta, Mapping) else ""


def _json_page(raw: bytes) -> Mapping[str, Any]:
    doc = wire.decode_any(raw)
    if not isinstance(doc, Mapping):
        raise parse.Malformed("answer is not a JSON object")
    if doc.get("items") is None and "List" in str(doc.get("kind") or "List"):
        raise parse.Malformed("the list has no items (null): refusing to read it as an empty list")
    return doc


def _node_page(cluster: str) -> PageDecoder[parse.NodePage]:
    """Each page as one ``parse.NodePage`` (the nodes read and those that could not be, by name)."""

    def decode(raw: bytes) -> tuple[list[parse.NodePage], list[str], str]:
        try:
            page, token = wire.decode_node_page(cluster, raw)
        except wire.WireMismatch as exc:
            if exc.not_json:
                raise
            doc = _json_page(raw)  # an odd field somewhere: the forgiving reader reads the other nodes
            page, token = parse.parse_nodes(cluster, doc), _continue_of(doc)
        return [page], page.skipped, token

    return decode


def _node_metrics(http: _Http) -> tuple[dict[str, Usage], list[str]]:
    raw = http.get_raw("/apis/metrics.k8s.io/v1beta1/nodes")
    try:
        try:
            return wire.decode_node_metrics(raw)
        except wire.WireMismatch as exc:
            if exc.not_json:
                raise
            return parse.parse_node_metrics(_json_page(raw))  # the forgiving reader skips only the odd item
    except (wire.WireMismatch, parse.Malformed) as exc:
        raise errors.ClusterUnreachable(f"{http.cluster}: GET NodeMetrics: {exc}") from None


def _pod_page(raw: bytes) -> tuple[list[parse.PodInfo], list[str], str]:
    try:
        return wire.decode_pod_page(raw)
    except wire.WireMismatch as exc:
        if exc.not_json:
            raise
        # a shape the fast decoder does not take (a field of an odd type somewhere in the page): read this page
        # the forgiving way, which skips only the pods it cannot read and says why
        doc = _json_page(raw)
        pods, skipped = parse.parse_pods(doc)
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


def _timed(http: _Http, what: str, read: Callable[[], T]) -> T:
    started = time.monotonic()
    http.phase = what
    try:
        return read()
    finally:
        http.stats.seconds[what] = http.stats.seconds.get(what, 0.0) + time.monotonic() - started


def read_cluster(
    api: ApiClient, cluster: str, now: datetime, options: CollectOptions, stats: ScanStats | None = None
) -> ClusterSample:
    """One scan. Raises ClusterUnreachable / CredentialsRejected when nodes or pods cannot be listed, ScanTimeout
    when the scan budget runs out; everything else degrades to a reason on the node and one warning on the
    sample. ``stats`` (if given) is filled with what the scan cost."""
    stats = stats if stats is not None else ScanStats()
    http = _Http(api, cluster, options, stats)
    warnings: list[str] = []
    skipped: list[str] = []

    try:
        node_pages, bad = _read_list(http, "/api/v1/nodes", [], "listing nodes", _node_page(cluster))
        skipped.extend(bad)
    except errors.RequestFailed as exc:
        raise _essential(exc, "listing nodes") from None
    nodes = [n for page in node_pages for n in page.nodes]
    unreadable = {name: why for page in node_pages for name, why in page.unreadable.items()}

    try:
        with gc_paused():
            pod_list, bad = _read_list(
                http, "/api/v1/pods", [("fieldSelector", NON_TERMINAL)], "listing pods", _pod_page
            )
            pods = parse.PodIndex(pod_list)
        skipped.extend(bad)
    except errors.RequestFailed as exc:
        raise _essential(exc, "listing pods") from None
    del pod_list

    node_usage: dict[str, Usage] | None = None
    usage_unavailable = ""
    try:
        node_usage, bad = _timed(http, "reading NodeMetrics", lambda: _node_metrics(http))
        skipped.extend(bad)
    except errors.ScanTimeout:
        raise
    except errors.CollectError as exc:
        usage_unavailable = _optional_reason(exc, "metrics API (metrics.k8s.io)")
        warnings.append(f"{usage_unavailable}: usage checks skipped, conditions and allocation still checked")

    events: parse.EventFacts | None = None
    if options.events:
        events = _read_events(http, now, options, warnings, skipped)

    disk: dict[str, DiskStats | str] | None = None
    summary_pods: dict[tuple[str, str], parse.PodUsage] = {}
    if options.disk_stats:
        disk = _read_summaries(http, nodes, options, warnings, skipped, summary_pods)

    sample = parse.assemble(
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
    http: _Http, now: datetime, options: CollectOptions, warnings: list[str], skipped: list[str]
) -> parse.EventFacts:
    events = parse.EventFacts()

    def decode(raw: bytes) -> tuple[list[parse.EventFacts], list[str], str]:
        doc = _json_page(raw)
        facts, bad = parse.parse_events(doc, now, options.events_window)
        return [facts], bad, _continue_of(doc)

    for reason in ("FailedScheduling", "Evicted"):
        try:
            found, bad = _read_list(
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
    http: _Http,
    sample: ClusterSample,
    pods: parse.PodIndex,
    summary_pods: dict[tuple[str, str], parse.PodUsage],
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
    usage: dict[tuple[str, str], parse.PodUsage] = dict(summary_pods)
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
    return parse.with_live_top_pods(sample, pods, usage, [n.name for n in wanted], options.top_pods)


def _pod_usage_of(
    http: _Http, nodes: list[str], pods: parse.PodIndex, options: CollectOptions
) -> dict[tuple[str, str], parse.PodUsage]:
    out: dict[tuple[str, str], parse.PodUsage] = {}
    with ThreadPoolExecutor(max_workers=max(1, options.disk_concurrency)) as pool:

        def summary(name: str) -> list[parse.PodUsage]:
            return parse.parse_summary_pods(
                http.get(f"/api/v1/nodes/{quote(name, safe='')}/proxy/stats/summary")
            )

        try:
            for found in pool.map(summary, nodes):
                out.update({(p.namespace, p.name): p for p in found})
            return out
        except errors.RequestFailed as exc:
            if exc.status not in (401, 403, 404):
                raise
        except parse.Malformed:
            pass
        # no nodes/proxy: the metrics API, one PodMetrics per pod of those nodes only

        def one(pod: parse.PodInfo) -> parse.PodUsage | None:
            path = (
                f"/apis/metrics.k8s.io/v1beta1/namespaces/{quote(pod.namespace, safe='')}/pods/"
                f"{quote(pod.name, safe='')}"
            )
            try:
                found, _bad = parse.parse_pod_metrics(http.get(path))
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
    http: _Http,
    nodes: list[NodeSample],
    options: CollectOptions,
    warnings: list[str],
    skipped: list[str],
    pod_usage: dict[tuple[str, str], parse.PodUsage],
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
            stats = parse.parse_summary(doc)
            for p in parse.parse_summary_pods(doc):
                pod_usage[(p.namespace, p.name)] = p
            return stats
        except errors.ScanTimeout:
            raise
        except errors.CollectError as exc:
            reason = _optional_reason(exc, "kubelet summary")
            if isinstance(exc, errors.RequestFailed) and exc.status == 403:
                reason += ": needs RBAC nodes/proxy get"
            return reason
        except parse.Malformed as exc:
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
