"""The HTTP(S) front: Kubernetes REST paths per cluster under /clusters/<name>, the control API under /_sim."""

from __future__ import annotations

import base64
import json
import random
import re
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from kubesim import accounts, control, discovery, encoding, fleet, kubelet, pagecache, traffic
from kubesim.clock import SimClock, human_age, rfc3339, rfc3339_micro
from kubesim.cluster import Cluster, Gone, Invalid, NotFound, delete_secret, new_secret
from kubesim.curves import unit_hash
from kubesim.objects import Node, Obj, Pod, dumps
from kubesim.selectors import SelectorError, field_selector, label_selector, matches

FIELDS = {
    "nodes": {"metadata.name", "spec.unschedulable"},
    "pods": {"metadata.name", "metadata.namespace", "spec.nodeName", "status.phase", "spec.restartPolicy",
             "spec.schedulerName", "spec.serviceAccountName", "status.podIP", "status.nominatedNodeName"},
    "events": {"metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.name",
               "involvedObject.namespace", "involvedObject.uid", "reason", "type", "source"},
    "secrets": {"metadata.name", "metadata.namespace", "type"},
}  # fmt: skip
KINDS = {"nodes": "Node", "pods": "Pod", "events": "Event", "secrets": "Secret"}
USER = "system:serviceaccount:nodewatch:nodewatch"


def status_body(code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> bytes:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details is not None:
        body["details"] = details
    return dumps(body)


class HTTPError(Exception):
    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


class Sim:
    """Everything one kubesim process serves: the clock, the clusters, the control token, the cache of list pages
    and the traffic counters of each cluster."""

    def __init__(
        self,
        clock: SimClock,
        clusters: dict[str, Cluster],
        control_token: str,
        bookmark_s: float = 2.0,
        page_cache_bytes: int = 512 << 20,
    ) -> None:
        self.clock = clock
        self.clusters = clusters
        self.control_token = control_token
        self.bookmark_s = bookmark_s
        self.pages = pagecache.PageCache(page_cache_bytes)
        self.traffic = {name: traffic.Traffic() for name in clusters}
        self.stopping = threading.Event()
        self.warmed = threading.Event()
        self._ticker = threading.Thread(target=self._tick_loop, name="kubesim-tick", daemon=True)

    def start(self) -> None:
        self._ticker.start()
        threading.Thread(target=self._warm, name="kubesim-warm", daemon=True).start()

    def _warm(self) -> None:
        for cluster in list(self.clusters.values()):
            if self.stopping.is_set():
                return
            cluster.warm()
        self.warmed.set()

    def tick(self) -> None:
        for cluster in list(self.clusters.values()):
            cluster.tick()

    def _tick_loop(self) -> None:
        while not self.stopping.wait(0.1):
            self.tick()

    def stop(self) -> None:
        self.stopping.set()
        for cluster in self.clusters.values():
            cluster.unhang.set()
            with cluster.lock:
                cluster.changed.notify_all()


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], sim: Sim) -> None:
        super().__init__(address, Handler)
        self.sim = sim


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = (
        True  # header and body go out as separate writes; Nagle + delayed ACK adds 40 ms
    )
    server: Server
    # the counters of the cluster a request is for, and the kind of its path (None: the control API)
    _traffic: tuple[traffic.Traffic, str] | None = None
    server_version = "kubesim"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        pass

    def do_GET(self) -> None:
        self._dispatch("GET")

    def do_POST(self) -> None:
        self._dispatch("POST")

    def do_PUT(self) -> None:
        self._dispatch("PUT")

    def do_PATCH(self) -> None:
        self._dispatch("PATCH")

    def do_DELETE(self) -> None:
        self._dispatch("DELETE")

    # ------------------------------------------------------------ plumbing

    def _body(self) -> Any:
        raw = self._raw
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise HTTPError(400, "BadRequest", f"invalid JSON body: {exc}") from exc

    def send_bytes(self, code: int, body: bytes, content_type: str = "application/json",
                   headers: dict[str, str] | None = None) -> None:  # fmt: skip
        """One whole answer, gzipped when kube-apiserver would gzip it (see `encoding`)."""
        if encoding.worth_gzipping(len(body)) and self._accepts_gzip():
            self.send_page(
                code, pagecache.Page(encoding.gzipped(body), len(body), True), content_type, headers
            )
        else:
            self.send_page(code, pagecache.Page(body, len(body)), content_type, headers)

    def _accepts_gzip(self) -> bool:
        return encoding.accepts_gzip(self.headers.get("Accept-Encoding", ""))

    def send_page(self, code: int, page: pagecache.Page, content_type: str = "application/json",
                  headers: dict[str, str] | None = None) -> None:  # fmt: skip
        """A body already encoded for this client (a cached page, or one `send_bytes` just encoded)."""
        body = page.body
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        if page.gzipped:
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Vary", "Accept-Encoding")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self._count_sent(len(body), page.raw_size)
        if len(body) < 65536:  # one write for small answers
            self._headers_buffer.append(b"\r\n" + body)  # type: ignore[attr-defined]  # the base class's buffer
            self.flush_headers()
            return
        self.end_headers()
        self.wfile.write(body)

    def _count_sent(self, wire: int, raw: int) -> None:
        if self._traffic is not None:
            counters, kind = self._traffic
            counters.sent(kind, wire, raw)

    def _start_traffic(self, cluster: str, parts: list[str]) -> None:
        counters, kind = self.server.sim.traffic[cluster], traffic.kind_of(parts)
        counters.request(kind)
        self._traffic = (counters, kind)

    def send_error_status(self, err: HTTPError, headers: dict[str, str] | None = None) -> None:
        self.send_bytes(
            err.code, status_body(err.code, err.reason, err.message, err.details), headers=headers
        )

    def _dispatch(self, method: str) -> None:
        sim = self.server.sim
        self._traffic = None  # per request: one connection serves many
        length = int(self.headers.get("Content-Length") or 0)
        # read the body before any early answer, or it would be taken for the next request on this connection
        self._raw = self.rfile.read(length) if length else b""
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        parts = [urllib.parse.unquote(p) for p in url.path.split("/") if p]
        try:
            if parts[:1] == ["_sim"]:
                self._check_token(sim.control_token)
                code, payload = control.handle(sim, method, parts[1:], query, self._body())
                self.send_bytes(code, dumps(payload))
                return
            if len(parts) >= 2 and parts[0] == "clusters" and parts[1] in sim.clusters:
                self._start_traffic(parts[1], parts[2:])
                self._cluster_request(sim.clusters[parts[1]], method, parts[2:], query)
                return
            # without the /clusters/<name> prefix (`kubectl get --raw` drops the server URL's path), the token
            # says which cluster is meant: every cluster has its own
            auth = self.headers.get("Authorization", "")
            owner = next(
                (c for c in sim.clusters.values() if auth == f"Bearer {c.token}" or c.accounts.subject(auth)),
                None,
            )
            if owner is None:
                raise HTTPError(401, "Unauthorized", "Unauthorized")
            self._start_traffic(owner.name, parts)
            self._cluster_request(owner, method, parts, query)
        except HTTPError as err:
            self.send_error_status(err, {"Retry-After": "1"} if err.code == 429 else None)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except NotFound as exc:
            self.send_error_status(HTTPError(404, "NotFound", str(exc)))
        except (Invalid, SelectorError, ValueError, KeyError, TypeError) as exc:
            self.send_error_status(HTTPError(400, "BadRequest", str(exc)))

    def _check_token(self, token: str) -> None:
        auth = self.headers.get("Authorization", "")
        if auth != f"Bearer {token}":
            raise HTTPError(401, "Unauthorized", "Unauthorized")

    # ------------------------------------------------------------ Kubernetes API

    def _cluster_request(
        self, cluster: Cluster, method: str, parts: list[str], query: dict[str, str]
    ) -> None:
        if "unauthorized" in cluster.faults:
            raise HTTPError(401, "Unauthorized", "Unauthorized")
        auth = self.headers.get("Authorization", "")
        # the cluster's own token (all-powerful but for its deny list), or a ServiceAccount's (its RBAC only)
        self._subject = None if auth == f"Bearer {cluster.token}" else cluster.accounts.subject(auth)
        if self._subject is None:
            self._check_token(cluster.token)
        path = "/" + "/".join(parts)
        for kind, fault in list(cluster.faults.items()):
            if fault.get("path") and fault["path"] not in path:
                continue
            if kind == "slow":
                time.sleep(float(fault.get("delay_s", 2.0)))
            elif kind == "http500":
                if cluster.rng.random() < float(fault.get("rate", 1.0)):
                    code = int(fault.get("code", 500))
                    reason = {429: "TooManyRequests", 503: "ServiceUnavailable"}.get(code, "InternalError")
                    raise HTTPError(code, reason, f"Internal error occurred: simulated fault ({code})")
            elif kind == "hang":
                cluster.unhang.wait(float(fault.get("max_s", 600)))
                self.close_connection = True
                return
            elif kind == "timeout":
                cluster.unhang.wait(float(fault.get("delay_s", 5)))
                raise HTTPError(
                    504, "Timeout",
                    "the server was unable to return a response in the time allotted, but may still be processing the request",
                )  # fmt: skip
        metrics_on = "metrics_absent" not in cluster.faults
        if method == "GET":
            doc = discovery.document(path, cluster, metrics_on)
            if doc is not None:
                self.send_bytes(200, dumps(doc))
                return
        if parts[:2] == ["api", "v1"] and parts[2:3] == ["namespaces"] and parts[4:5] == ["serviceaccounts"]:
            self._accounts(
                cluster, method, "", "serviceaccounts", parts[3], parts[5] if len(parts) > 5 else ""
            )
        elif parts[:3] == ["apis", accounts.RBAC, "v1"] and 4 <= len(parts) <= 7:
            rest = parts[3:]
            namespace = rest[1] if rest[0] == "namespaces" and len(rest) >= 3 else ""
            rest = rest[2:] if namespace else rest
            if rest[0] not in accounts.KINDS or rest[0] == "serviceaccounts" or len(rest) > 2:
                raise HTTPError(404, "NotFound", "the server could not find the requested resource")
            self._accounts(
                cluster, method, accounts.RBAC, rest[0], namespace, rest[1] if len(rest) == 2 else ""
            )
        elif parts[:2] == ["api", "v1"]:
            self._core(cluster, method, parts[2:], query)
        elif parts[:3] == ["apis", "metrics.k8s.io", "v1beta1"] and metrics_on:
            self._metrics(cluster, method, parts[3:], query)
        elif parts[:6] == ["apis", "coordination.k8s.io", "v1", "namespaces", "kube-node-lease", "leases"]:
            self._leases(cluster, parts[6:])
        elif parts == ["apis", "authorization.k8s.io", "v1", "selfsubjectaccessreviews"] and method == "POST":
            self._ssar(cluster)
        else:
            raise HTTPError(404, "NotFound", "the server could not find the requested resource")

    def _authorize(self, cluster: Cluster, verb: str, group: str, resource: str, sub: str = "",
                   name: str = "", namespace: str = "") -> None:  # fmt: skip
        subject = getattr(self, "_subject", None)
        if subject is not None:
            if cluster.accounts.allowed(subject, verb, group, resource, sub, namespace):
                return
        elif cluster.allowed(verb, group, resource, sub):
            return
        full = f"{resource}/{sub}" if sub else resource
        what = f'{resource} "{name}"' if name else resource
        if group:
            what = f'{resource}.{group} "{name}"' if name else f"{resource}.{group}"
        scope = f'in the namespace "{namespace}"' if namespace else "at the cluster scope"
        raise HTTPError(
            403, "Forbidden",
            f'{what} is forbidden: User "{accounts.user(subject, USER)}" cannot {verb} resource "{full}" in API group '
            f'"{group}" {scope}',
            {"name": name, "group": group, "kind": resource} if name else {"group": group, "kind": resource},
        )  # fmt: skip

    def _core(self, cluster: Cluster, method: str, parts: list[str], query: dict[str, str]) -> None:
        namespace = ""
        if len(parts) >= 3 and parts[0] == "namespaces":
            namespace = parts[1]
            parts = parts[2:]
        if parts == ["namespaces"] and method == "GET":
            self._authorize(cluster, "list", "", "namespaces")
            self.send_bytes(200, dumps(self._namespaces(cluster)))
            return
        if not parts or parts[0] not in KINDS or (parts[0] == "nodes" and namespace):
            raise HTTPError(404, "NotFound", "the server could not find the requested resource")
        resource = parts[0]
        if resource == "secrets" and namespace and method in ("POST", "PUT", "DELETE") and len(parts) <= 2:
            self._write_secret(cluster, method, namespace, parts[1] if len(parts) == 2 else "")
            return
        if method != "GET":
            raise HTTPError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        if len(parts) == 1:
            verb = "watch" if query.get("watch") in ("1", "true") else "list"
            self._authorize(cluster, verb, "", resource, namespace=namespace)
            self._list(cluster, resource, namespace, query)
            return
        name = parts[1]
        if resource == "nodes" and parts[2:4] == ["proxy", "stats"] and parts[4:] == ["summary"]:
            self._authorize(cluster, "get", "", "nodes", "proxy", name)
            self._summary(cluster, name)
            return
        if resource == "nodes" and parts[2:] == ["proxy", "configz"]:
            self._authorize(cluster, "get", "", "nodes", "proxy", name)
            self._summary(cluster, name, configz=True)
            return
        if len(parts) > 2:
            raise HTTPError(404, "NotFound", "the server could not find the requested resource")
        self._authorize(cluster, "get", "", resource, name=name, namespace=namespace)
        key = f"{namespace}/{name}" if namespace else name
        if resource == "secrets":
            self._token_controller(cluster, namespace, name)
        with cluster.lock:
            obj = cluster.stores[resource].items.get(key)
            if obj is None:
                raise HTTPError(404, "NotFound", f'{resource} "{name}" not found',
                                {"name": name, "kind": resource})  # fmt: skip
            if self._wants_table():
                body = self._table(cluster, resource, [obj], cluster.rv, "", None, query)
            else:
                body = obj.json()
        self.send_bytes(200, body)

    def _write_secret(self, cluster: Cluster, method: str, namespace: str, name: str) -> None:
        """create (POST to the collection), replace (PUT to the object), delete: what `nodewatch cluster add`
        and `remove` do to a hub, with the API server's answers (201/200, 409 AlreadyExists or Conflict, 404)."""
        verb = {"POST": "create", "PUT": "update", "DELETE": "delete"}[method]
        if (method == "POST") == bool(name):
            raise HTTPError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        body = self._body() if method != "DELETE" else {}
        meta = body.get("metadata") or {}
        name = name or str(meta.get("name") or "")
        if method != "DELETE":
            if body.get("kind", "Secret") != "Secret" or not name:
                raise HTTPError(
                    422,
                    "Invalid",
                    f'Secret "{name}" is invalid: metadata.name: Required value: name is required',
                )
            if meta.get("name", name) != name or meta.get("namespace", namespace) != namespace:
                raise HTTPError(
                    400, "BadRequest", "the name or namespace of the object does not match the request"
                )
        self._authorize(cluster, verb, "", "secrets", name=name, namespace=namespace)
        with cluster.lock:
            existing = cluster.stores["secrets"].items.get(f"{namespace}/{name}")
            secret_type = str(body.get("type") or getattr(existing, "type", "Opaque"))
            if method == "POST" and existing is not None:
                raise HTTPError(
                    409,
                    "AlreadyExists",
                    f'secrets "{name}" already exists',
                    {"name": name, "kind": "secrets"},
                )
            if method != "POST" and existing is None:
                raise HTTPError(
                    404, "NotFound", f'secrets "{name}" not found', {"name": name, "kind": "secrets"}
                )
            if method == "DELETE":
                assert existing is not None
                uid = existing.uid  # type: ignore[attr-defined]
                delete_secret(cluster, namespace, name)
                self.send_bytes(
                    200,
                    dumps(
                        {
                            "kind": "Status",
                            "apiVersion": "v1",
                            "metadata": {},
                            "status": "Success",
                            "details": {"name": name, "kind": "secrets", "uid": uid},
                        }
                    ),
                )
                return
            rv = meta.get("resourceVersion")
            if method == "PUT" and rv and existing is not None and str(rv) != str(existing.rv):
                raise HTTPError(
                    409,
                    "Conflict",
                    f'Operation cannot be fulfilled on secrets "{name}": the object has been modified; please apply '
                    "your changes to the latest version and try again",
                    {"name": name, "kind": "secrets"},
                )
            try:
                data = {
                    k: base64.b64decode(str(v), validate=True).decode()
                    for k, v in (body.get("data") or {}).items()
                }
            except (ValueError, UnicodeDecodeError) as exc:
                raise HTTPError(400, "BadRequest", f"illegal base64 data in Secret data: {exc}") from exc
            data |= {k: str(v) for k, v in (body.get("stringData") or {}).items()}

            def strings(key: str) -> dict[str, str]:
                return {k: str(v) for k, v in (meta.get(key) or {}).items()}

            if secret_type == accounts.TOKEN_TYPE:
                try:
                    cluster.accounts.token_secret_created(namespace, strings("annotations"))
                except accounts.ApiError as err:
                    raise HTTPError(err.code, err.reason, err.message, err.details) from None
            secret = new_secret(
                cluster, namespace, name, data, strings("labels"), strings("annotations"), secret_type
            )
            answer = secret.json()
        self.send_bytes(201 if method == "POST" else 200, answer)

    def _accounts(
        self, cluster: Cluster, method: str, group: str, resource: str, namespace: str, name: str
    ) -> None:
        """ServiceAccounts and RBAC objects (kubesim/accounts.py): get, list, create, replace, delete."""
        verbs = {"POST": "create", "PUT": "update", "DELETE": "delete", "GET": "get" if name else "list"}
        if method not in verbs:
            raise HTTPError(
                405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
            )
        body = self._body() if method in ("POST", "PUT") else None
        target = name or str(((body or {}).get("metadata") or {}).get("name") or "")
        self._authorize(cluster, verbs[method], group, resource, name=target, namespace=namespace)
        try:
            code, doc = cluster.accounts.handle(method, resource, namespace, name, body)
        except accounts.ApiError as err:
            raise HTTPError(err.code, err.reason, err.message, err.details) from None
        self.send_bytes(code, dumps(doc))

    @staticmethod
    def _token_controller(cluster: Cluster, namespace: str, name: str) -> None:
        """Fill a service-account-token Secret whose account exists, as the controller does soon after the create:
        the create's answer has no token, a later read has it."""
        with cluster.lock:
            secret = cluster.stores["secrets"].items.get(f"{namespace}/{name}")
            if secret is None or getattr(secret, "type", "") != accounts.TOKEN_TYPE:
                return
            data = cluster.accounts.fill(namespace, secret.annotations, secret.data)  # type: ignore[attr-defined]
            if data is not None:
                new_secret(cluster, namespace, name, {**secret.data, **data}, secret.labels,  # type: ignore[attr-defined]
                           secret.annotations, accounts.TOKEN_TYPE)  # type: ignore[attr-defined]  # fmt: skip

    @staticmethod
    def _namespaces(cluster: Cluster) -> dict[str, Any]:
        """Namespaces are not stored: they are the ones objects live in, plus the usual four."""
        with cluster.lock:
            names = {"default", "kube-system", "kube-public", "kube-node-lease"}
            for resource in ("pods", "secrets", "events"):
                names |= {key.split("/", 1)[0] for key in cluster.stores[resource].items}
            created = rfc3339(min((n.created_at for n in cluster.nodes()), default=cluster.clock.epoch()))
            rv = str(cluster.rv)
        return {
            "kind": "NamespaceList",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": rv},
            "items": [
                {
                    "metadata": {
                        "name": name,
                        "uid": fleet.new_uid(random.Random(f"{cluster.name}|{name}")),
                        "resourceVersion": "1",
                        "creationTimestamp": created,
                        "labels": {"kubernetes.io/metadata.name": name},
                    },
                    "spec": {"finalizers": ["kubernetes"]},
                    "status": {"phase": "Active"},
                }  # fmt: skip
                for name in sorted(names)
            ],
        }

    def _wants_table(self) -> bool:
        return "as=Table" in self.headers.get("Accept", "")

    def _matcher(self, resource: str, query: dict[str, str]) -> Callable[[Obj], bool] | None:
        labels = label_selector(query.get("labelSelector"))
        fields = field_selector(query.get("fieldSelector"), FIELDS[resource], KINDS[resource])
        if labels is None and fields is None:
            return None
        return lambda obj: matches(obj, labels, fields)

    def _list(self, cluster: Cluster, resource: str, namespace: str, query: dict[str, str]) -> None:
        match = self._matcher(resource, query)
        if query.get("watch") in ("1", "true"):
            self._watch(cluster, resource, namespace, match, query)
            return
        limit = int(query.get("limit") or 0)
        rv_param = query.get("resourceVersion", "")
        table = self._wants_table()
        ctype = "application/json;as=Table;v=v1;g=meta.k8s.io" if table else "application/json"
        cont = query.get("continue")
        cache = self.server.sim.pages
        gzip_ok = self._accepts_gzip()
        plain: bytes | None = None
        with cluster.lock:
            store = cluster.stores[resource]
            if rv_param and rv_param != "0" and query.get("resourceVersionMatch") == "Exact":
                if int(rv_param) < store.compacted_rv:
                    raise HTTPError(
                        410, "Expired", f"too old resource version: {rv_param} ({store.compacted_rv})"
                    )
            now = cluster.clock.epoch()  # one reading for the key and the Table's ages
            base = self._page_key(cluster, resource, namespace, query, limit, table, now)
            plain_key = sent_key = None
            if base is not None:
                plain_key = (*base, "identity")
                sent_key = (*base, "gzip") if gzip_ok else plain_key
            try:
                if cont:
                    cluster.resume(resource, cont)  # an expired token is 410 even when its page is cached
                page = cache.get(sent_key) if sent_key is not None else None
                if page is None:  # a plain copy kept for another client spares rendering it again
                    kept = cache.peek(plain_key) if plain_key is not None and gzip_ok else None
                    plain = (
                        kept.body
                        if kept is not None
                        else self._list_body(cluster, resource, namespace, match, limit, query, table, now)
                    )
            except Gone as exc:
                raise HTTPError(410, "Expired", str(exc)) from exc
            except Invalid as exc:
                raise HTTPError(400, "BadRequest", str(exc)) from exc
        if page is None:
            assert plain is not None
            # compressed outside the cluster's lock (zlib lets go of the GIL too), once per page and encoding
            if gzip_ok and encoding.worth_gzipping(len(plain)):
                page = pagecache.Page(encoding.gzipped(plain), len(plain), True)
            else:
                page = pagecache.Page(plain, len(plain))
            if sent_key is not None:
                cache.put(sent_key, page)
        self.send_page(200, page, ctype)

    def _page_key(self, cluster: Cluster, resource: str, namespace: str, query: dict[str, str], limit: int,
                  table: bool, now: float) -> tuple[Any, ...] | None:  # fmt: skip
        """What a list body depends on, or None when it is not worth keeping. The store's resourceVersion stands
        for its content; `resourceVersion`/`resourceVersionMatch` are left out as they only decide 410 (above).
        Table rows carry ages, which move with the clock, so Tables are kept only while the clock stands still."""
        variant: tuple[Any, ...] = ("json",)
        if table:
            if cluster.clock.speed != 0:
                return None
            variant = ("table", self.headers.get("Accept", ""), query.get("includeObject", ""), now)
        return (
            cluster.name, resource, namespace, cluster.stores[resource].rv, query.get("labelSelector", ""),
            query.get("fieldSelector", ""), limit, query.get("continue", ""), *variant,
        )  # fmt: skip

    def _list_body(self, cluster: Cluster, resource: str, namespace: str, match: Callable[[Obj], bool] | None,
                   limit: int, query: dict[str, str], table: bool, now: float) -> bytes:  # fmt: skip
        hint = re.search(r"(?:^|,)\s*spec\.nodeName\s*==?\s*([^,]*)", query.get("fieldSelector", ""))
        on_node = hint.group(1).strip() if hint and resource == "pods" else None
        items, list_rv, token, remaining = cluster.page(
            resource, namespace, match, limit, query.get("continue"), on_node
        )
        if table:
            return self._table(cluster, resource, items, list_rv, token, remaining, query, now)
        meta: dict[str, Any] = {"resourceVersion": str(list_rv)}
        if token:
            meta["continue"] = token
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        head = f'{{"kind":"{KINDS[resource]}List","apiVersion":"v1","metadata":{json.dumps(meta)},"items":['
        return head.encode() + b",".join([o.json() for o in items]) + b"]}"

    def _table(self, cluster: Cluster, resource: str, items: list[Obj], rv: int, token: str,
               remaining: int | None, query: dict[str, str], now: float | None = None) -> bytes:  # fmt: skip
        accept = self.headers.get("Accept", "")
        version = "v1" if re.search(r"v=v1(?![a-z0-9])", accept) else "v1beta1"
        include = query.get("includeObject", "Metadata")
        now = cluster.clock.epoch() if now is None else now
        meta: dict[str, Any] = {"resourceVersion": str(rv)}
        if token:
            meta["continue"] = token
        if remaining is not None:
            meta["remainingItemCount"] = remaining
        columns = discovery.TABLE_COLUMNS.get(resource, discovery.TABLE_COLUMNS["default"])
        head = dumps({"kind": "Table", "apiVersion": f"meta.k8s.io/{version}", "metadata": meta,
                      "columnDefinitions": columns})[:-1] + b',"rows":['  # fmt: skip
        rows: Iterable[bytes]
        if resource == "pods":
            rows = [o.table_row(now, include) for o in items if isinstance(o, Pod)]
        else:
            rows = [self._generic_row(o, now, include) for o in items]
        return head + b",".join(rows) + b"]}"

    @staticmethod
    def _generic_row(obj: Obj, now: float, include: str) -> bytes:
        if isinstance(obj, Node):
            cells: list[Any] = obj.table_cells(now)
        else:
            cells = [obj.name, human_age(now - obj.created())]
        row = b'{"cells":' + dumps(cells)
        if include == "None":
            return row + b"}"
        return row + b',"object":' + (obj.json() if include == "Object" else obj.meta_json()) + b"}"

    def _watch(
        self, cluster: Cluster, resource: str, namespace: str, match: Any, query: dict[str, str]
    ) -> None:
        sim = self.server.sim
        rv_param = query.get("resourceVersion", "")
        bookmarks = query.get("allowWatchBookmarks") in ("1", "true")
        timeout = float(query.get("timeoutSeconds") or 1800)
        deadline = time.monotonic() + timeout
        initial: list[bytes] = []
        gone = ""
        with cluster.lock:
            if rv_param in ("", "0"):
                items, last, _, _ = cluster.page(resource, namespace, match, 0, None)
                initial = [b'{"type":"ADDED","object":' + o.json() + b"}\n" for o in items]
            else:
                last = int(rv_param)
                try:
                    cluster.since(last, resource)
                except Gone as exc:
                    gone = str(exc)
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()

        def chunk(data: bytes) -> None:
            self._count_sent(len(data), len(data))  # watch streams are never gzipped, as kube-apiserver's
            self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        def gone_event(message: str) -> bytes:
            return b'{"type":"ERROR","object":' + status_body(410, "Expired", message) + b"}\n"

        try:
            if gone:
                chunk(gone_event(gone))
            else:
                if initial:
                    chunk(b"".join(initial))
                next_bookmark = time.monotonic() + sim.bookmark_s
                while not sim.stopping.is_set():
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    with cluster.lock:
                        try:
                            entries = cluster.since(last, resource)
                            if not entries:
                                last = max(last, cluster.rv)
                                cluster.changed.wait(
                                    min(remaining, max(0.05, next_bookmark - time.monotonic()))
                                )
                                entries = cluster.since(last, resource)
                        except Gone as exc:
                            chunk(gone_event(str(exc)))
                            break
                        if entries:
                            last = entries[-1].rv
                        current = cluster.rv
                    lines = [
                        b'{"type":"' + e.etype.encode() + b'","object":' + e.data + b"}\n"
                        for e in entries
                        if (not namespace or e.namespace == namespace)
                        and (match is None or match(_Snapshot(e)))
                    ]
                    if lines:
                        chunk(b"".join(lines))
                    if bookmarks and time.monotonic() >= next_bookmark:
                        last = max(last, current)
                        mark = {"kind": KINDS[resource], "apiVersion": "v1",
                                "metadata": {"resourceVersion": str(last),
                                             "annotations": {"k8s.io/initial-events-end": "false"}}}  # fmt: skip
                        chunk(b'{"type":"BOOKMARK","object":' + dumps(mark) + b"}\n")
                    if time.monotonic() >= next_bookmark:
                        next_bookmark = time.monotonic() + sim.bookmark_s
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError, OSError):
            self.close_connection = True

    # ------------------------------------------------------------ kubelet summary and metrics

    def _summary(self, cluster: Cluster, name: str, configz: bool = False) -> None:
        """The node's kubelet Summary (or, ``configz``, its config) through the proxy: 503 while it is down."""
        with cluster.lock:
            node = cluster.stores["nodes"].items.get(name)
            if not isinstance(node, Node):
                raise HTTPError(404, "NotFound", f'nodes "{name}" not found', {"name": name, "kind": "nodes"})
            if node.ready == "Unknown":
                raise HTTPError(
                    503, "ServiceUnavailable",
                    f"error trying to reach service: dial tcp {node.internal_ip}:10250: connect: no route to host",
                )  # fmt: skip
            if configz:
                # the cluster's kubelet settings (when its housekeeping is modelled), then the node's own
                shared = cluster.kubelet.config() if cluster.kubelet is not None else {}
                body = dumps(kubelet.configz(kubelet.merge(shared, node.kubelet_config)))
            else:
                body = dumps(cluster.summary(node, cluster.clock.t()))
        self.send_bytes(200, body)

    def _metrics(self, cluster: Cluster, method: str, parts: list[str], query: dict[str, str]) -> None:
        namespace = ""
        if len(parts) >= 3 and parts[0] == "namespaces":
            namespace = parts[1]
            parts = parts[2:]
        if method != "GET" or not parts or parts[0] not in ("nodes", "pods") or len(parts) > 2:
            raise HTTPError(404, "NotFound", "the server could not find the requested resource")
        resource = parts[0]
        name = parts[1] if len(parts) == 2 else ""
        self._authorize(
            cluster, "get" if name else "list", "metrics.k8s.io", resource, name=name, namespace=namespace
        )
        labels = label_selector(query.get("labelSelector"))
        t = cluster.clock.t()
        with cluster.lock:
            if resource == "nodes":
                nodes = [cluster.stores["nodes"].items.get(name)] if name else cluster.nodes()
                # metrics-server cannot scrape a kubelet that stopped answering, so such nodes have no metrics
                docs = [
                    dumps(cluster.node_metrics(n, t))
                    for n in nodes
                    if isinstance(n, Node) and n.ready != "Unknown" and (labels is None or labels(n.labels))
                ]
                kind = "NodeMetrics"
            else:
                pods = cluster.stores["pods"].items
                if name and namespace:  # one pod: look it up rather than pass over 150,000
                    one = pods.get(f"{namespace}/{name}")
                    candidates: Iterable[Obj] = [one] if one is not None else []
                else:
                    candidates = pods.values()
                by_name = cluster.stores["nodes"].items
                wanted: list[tuple[Pod, Node]] = []
                for pod in candidates:
                    if (
                        not isinstance(pod, Pod)
                        or pod.phase != "Running"
                        or (namespace and pod.namespace != namespace)
                    ):
                        continue
                    if (name and pod.name != name) or (labels is not None and not labels(pod.labels)):
                        continue
                    node = by_name.get(pod.node)
                    if isinstance(node, Node) and node.ready != "Unknown":
                        wanted.append((pod, node))
                docs = cluster.pods_metrics(wanted, t)
                kind = "PodMetrics"
        if name:
            if not docs:
                raise HTTPError(404, "NotFound", f'{resource}.metrics.k8s.io "{name}" not found',
                                {"name": name, "group": "metrics.k8s.io", "kind": resource})  # fmt: skip
            self.send_bytes(200, docs[0])
            return
        head = f'{{"kind":"{kind}List","apiVersion":"metrics.k8s.io/v1beta1","metadata":{{}},"items":['
        self.send_bytes(200, head.encode() + b",".join(docs) + b"]}")

    def _leases(self, cluster: Cluster, rest: list[str]) -> None:
        """Node heartbeat Leases: renewed every 10 s while the kubelet runs, frozen once it stops."""
        name = rest[0] if rest else ""
        self._authorize(cluster, "get" if name else "list", "coordination.k8s.io", "leases", name=name,
                        namespace="kube-node-lease")  # fmt: skip
        now = cluster.clock.epoch()
        with cluster.lock:
            nodes = [n for n in cluster.nodes() if not name or n.name == name]
            docs = []
            for node in nodes:
                phase = unit_hash(cluster.seed, node.name, "lease") * 10
                renew = node.heartbeat() if node.ready == "Unknown" else (now - phase) // 10 * 10 + phase
                docs.append(
                    {
                        "kind": "Lease",
                        "apiVersion": "coordination.k8s.io/v1",
                        "metadata": {
                            "name": node.name,
                            "namespace": "kube-node-lease",
                            "uid": node.uid[:-4] + "1ea5",
                            "resourceVersion": str(cluster.rv),
                            "creationTimestamp": rfc3339(node.created_at),
                            "ownerReferences": [
                                {"apiVersion": "v1", "kind": "Node", "name": node.name, "uid": node.uid}
                            ],
                        },
                        "spec": {
                            "holderIdentity": node.name,
                            "leaseDurationSeconds": 40,
                            "renewTime": rfc3339_micro(renew),
                        },
                    }
                )
            rv = str(cluster.rv)
        if name:
            if not docs:
                raise HTTPError(404, "NotFound", f'leases.coordination.k8s.io "{name}" not found',
                                {"name": name, "group": "coordination.k8s.io", "kind": "leases"})  # fmt: skip
            self.send_bytes(200, dumps(docs[0]))
            return
        body = {"kind": "LeaseList", "apiVersion": "coordination.k8s.io/v1", "metadata": {"resourceVersion": rv},
                "items": docs}  # fmt: skip
        self.send_bytes(200, dumps(body))

    def _ssar(self, cluster: Cluster) -> None:
        body = self._body()
        attrs = (body.get("spec") or {}).get("resourceAttributes") or {}
        asked = (str(attrs.get("verb", "get")), str(attrs.get("group", "")), str(attrs.get("resource", "")),
                 str(attrs.get("subresource", "")))  # fmt: skip
        subject = getattr(self, "_subject", None)
        if subject is not None:  # a ServiceAccount's token: what its RBAC bindings grant
            allowed = cluster.accounts.allowed(subject, *asked, str(attrs.get("namespace", "")))
        else:
            allowed = cluster.allowed(*asked)
        status: dict[str, Any] = {"allowed": allowed}
        if allowed:
            status["reason"] = 'RBAC: allowed by ClusterRoleBinding "nodewatch" of ClusterRole "nodewatch"'
        out = {
            "kind": "SelfSubjectAccessReview",
            "apiVersion": "authorization.k8s.io/v1",
            "metadata": {"creationTimestamp": None},
            "spec": body.get("spec") or {},
            "status": status,
        }
        self.send_bytes(201, dumps(out))


class _Snapshot:
    """The labels and fields an object had when its watch event was recorded."""

    __slots__ = ("labels", "_fields")

    def __init__(self, entry: Any) -> None:
        self.labels = entry.labels
        self._fields = entry.fields

    def fields(self) -> dict[str, str]:
        return self._fields
