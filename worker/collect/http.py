"""GET against one Kubernetes API server over the client's own pool, auth and TLS: a deadline per request and per
scan, a size cap, gzip inflated under the cap, lists read page by page. The only HTTP of ``worker.collect``."""

from __future__ import annotations

import contextlib
import logging
import math
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from typing import Any, TypeVar

import urllib3
from kubernetes.client import ApiClient
from kubernetes.client.exceptions import ApiException

from worker.clusters.access import describe
from worker.collect import document, errors, wire
from worker.collect.options import MIB, CollectOptions, ScanStats, seconds

log = logging.getLogger(__name__)

T = TypeVar("T")


class Http:
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
            raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: {describe(exc)}") from None
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
            except document.Malformed as exc:
                raise errors.ListUnreadable(f"{self.cluster}: GET {path}: {exc}") from None
            except wire.WireMismatch:
                raise errors.ClusterUnreachable(f"{self.cluster}: GET {path}: answer is not JSON") from None
            yield items, skipped
            if not token:
                return


PageDecoder = Callable[[bytes], tuple[list[T], list[str], str]]


def read_list(
    http: Http, path: str, query: list[tuple[str, str]], what: str, decode: PageDecoder[T]
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


def timed(http: Http, what: str, read: Callable[[], T]) -> T:
    started = time.monotonic()
    http.phase = what
    try:
        return read()
    finally:
        http.stats.seconds[what] = http.stats.seconds.get(what, 0.0) + time.monotonic() - started
