"""The hub's kubeconfig Secrets: read (list, then a watch kept open per process), parsed into clusters, written.

A Secret labelled ``nodewatch.io/cluster=true`` in the hub's namespace holds one cluster: data key ``kubeconfig``
(optionally ``context``); annotations give the cluster name, display name, scan interval, labels and threshold
profile (the same idea as Argo CD's cluster Secrets). The decoded kubeconfig stays in this process's memory only.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import os
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes import watch as k8s_watch
from kubernetes.client.exceptions import ApiException

from worker.clusters import kubeconfig
from worker.settings.clusters import CLUSTER_LABEL, HubSettings

log = logging.getLogger("nodewatch.clusters")

SA_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace"
DEFAULT_NAMESPACE = "nodewatch"
SECRET_PREFIX = "nodewatch-cluster-"

ANN_NAME = "nodewatch.io/name"
ANN_DISPLAY = "nodewatch.io/display-name"
ANN_INTERVAL = "nodewatch.io/interval"
ANN_SCAN_BUDGET = "nodewatch.io/scan-budget"
ANN_LABELS = "nodewatch.io/labels"  # "env=prod,region=eu-west-1,team=payments"
ANN_PROFILE = "nodewatch.io/threshold-profile"

HUB_SLOT = "(hub)"  # client cache slot: not a valid cluster name, so no cluster can take it
NAME_RE = re.compile(r"[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?")


class ClusterSourceError(Exception):
    """A source of clusters could not be read at all; the registry must not take that for "no clusters"."""


@dataclass(frozen=True)
class SecretCluster:
    """One cluster Secret, decoded. ``kubeconfig`` is plain text: never log or repr it."""

    name: str
    secret: str  # namespace/name
    version: str  # resourceVersion: a changed Secret has a new one
    kubeconfig: str = field(repr=False)
    context: str | None = None
    display_name: str = ""
    interval: float | None = None
    labels: dict[str, str] = field(default_factory=dict)
    scan_budget: float | None = None
    threshold_profile: str = ""


def namespace(hub: HubSettings) -> str:
    if hub.namespace:
        return hub.namespace
    try:
        return Path(SA_NAMESPACE_FILE).read_text().strip() or DEFAULT_NAMESPACE
    except OSError:
        return DEFAULT_NAMESPACE


def duration(text: str) -> float:
    """'90', '90s', '5m', '1h' -> seconds (> 0)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smh]?)\s*", text)
    if not m:
        raise ValueError(f"not a duration: {text!r} (use e.g. 60, 90s, 5m)")
    value = float(m.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600}[m.group(2)]
    if value <= 0:
        raise ValueError("must be more than 0 s")
    return value


def parse_labels(text: str) -> dict[str, str]:
    out = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"label {part.strip()!r} is not key=value")
        out[key.strip()] = value.strip()
    return out


def _decode(data: Mapping[str, Any], key: str) -> str | None:
    raw = data.get(key)
    if raw is None:
        return None
    try:
        return base64.b64decode(str(raw), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise ValueError(f"data key '{key}' is not base64 UTF-8 text") from None


def cluster_name(meta: Mapping[str, Any]) -> str:
    ann = meta.get("annotations") or {}
    name = str(meta.get("name", ""))
    return str(ann.get(ANN_NAME) or (name[len(SECRET_PREFIX) :] if name.startswith(SECRET_PREFIX) else name))


def from_secret(obj: Mapping[str, Any]) -> SecretCluster:
    """A Secret (API JSON) -> its cluster; ValueError names what is wrong, never a value of the data."""
    meta = obj.get("metadata") or {}
    ann = meta.get("annotations") or {}
    ref = f"{meta.get('namespace', '?')}/{meta.get('name', '?')}"
    name = cluster_name(meta)
    try:
        if not NAME_RE.fullmatch(name):
            raise ValueError(f"cluster name {name!r} is not a lowercase DNS-style name")
        data = obj.get("data") or {}
        text = _decode(data, "kubeconfig")
        if not text:
            raise ValueError("no data key 'kubeconfig'")
        context = _decode(data, "context")
        interval = duration(str(ann[ANN_INTERVAL])) if ann.get(ANN_INTERVAL) else None
        budget = duration(str(ann[ANN_SCAN_BUDGET])) if ann.get(ANN_SCAN_BUDGET) else None
        labels = parse_labels(str(ann.get(ANN_LABELS, "")))
    except ValueError as err:
        raise ValueError(f"Secret {ref}: {err}") from None
    return SecretCluster(
        name=name,
        secret=ref,
        version=str(meta.get("resourceVersion", "")),
        kubeconfig=text,
        context=(context or "").strip() or None,
        display_name=str(ann.get(ANN_DISPLAY, "")),
        interval=interval,
        scan_budget=budget,
        labels=labels,
        threshold_profile=str(ann.get(ANN_PROFILE, "")),
    )


def hub_client(hub: HubSettings, allow_exec: bool) -> k8s_client.ApiClient:
    if hub.kubeconfig:
        text = kubeconfig.read_file("hub", hub.kubeconfig)
        # the hub's own kubeconfig, named in the config file, talks to the hub itself: its credential files
        # (minikube-style client-certificate paths) are the operator's, like the in-cluster token is
        return kubeconfig.build(
            "hub", text, hub.context, allow_exec, str(Path(hub.kubeconfig).parent), cache_as=HUB_SLOT,
            local_files=True,
        )  # fmt: skip
    return kubeconfig.in_cluster(HUB_SLOT)


def _why(err: Exception) -> str:
    """A failure of the hub API said without its body or headers (ApiException's str carries both)."""
    if isinstance(err, ApiException):
        return f"HTTP {err.status} {err.reason or ''}".strip() if err.status else "TLS or connection error"
    return type(err).__name__


class SecretSource:
    """The cluster Secrets of one hub, as this process last saw them.

    The first read lists; then a watch (one thread per process) applies changes as they happen, so a registry
    read costs no request. A broken or expired watch makes the next read list again; a failed list keeps the last
    good snapshot (said as stale) — a hub API hiccup must never look like "every cluster was removed".
    """

    def __init__(self, hub: HubSettings, allow_exec: bool) -> None:
        self.hub = hub
        self.allow_exec = allow_exec
        self.namespace = namespace(hub)
        self._lock = threading.Lock()
        self._items: dict[str, Mapping[str, Any]] | None = None
        self._listed_at = 0.0
        self._synced = False  # True while the watch thread is applying changes
        self._generation = 0
        self.lists = 0  # counted for tests and the benchmark

    def _api(self) -> k8s_client.CoreV1Api:
        return k8s_client.CoreV1Api(hub_client(self.hub, self.allow_exec))

    def _list(self) -> tuple[dict[str, Mapping[str, Any]], str]:
        try:
            resp = self._api().list_namespaced_secret(
                self.namespace,
                label_selector=self.hub.label_selector,
                _preload_content=False,
                _request_timeout=self.hub.request_timeout,
            )
            doc = json.loads(resp.data)  # type: ignore[attr-defined]
        except kubeconfig.ClusterConfigError as err:
            raise ClusterSourceError(f"hub: {err}") from None
        except (ApiException, urllib3.exceptions.HTTPError, OSError, ValueError) as err:
            raise ClusterSourceError(
                f"hub: cannot list cluster Secrets in namespace {self.namespace}: {_why(err)}"
            ) from None
        self.lists += 1
        items = {f"{o['metadata']['namespace']}/{o['metadata']['name']}": o for o in doc.get("items") or []}
        return items, str((doc.get("metadata") or {}).get("resourceVersion", ""))

    def snapshot(self) -> tuple[list[Mapping[str, Any]], bool]:
        """The cluster Secrets (raw API JSON) and whether they may be stale (the hub could not be read)."""
        now = time.monotonic()
        with self._lock:
            fresh = self._items is not None and now - self._listed_at < self.hub.resync_seconds
            if fresh and self._synced and self.hub.watch:
                return list(self._items.values()), False  # type: ignore[union-attr]
        try:
            items, rv = self._list()
        except ClusterSourceError as err:
            with self._lock:
                if self._items is None:
                    raise
                log.warning("%s; using the last good list of clusters", err)
                return list(self._items.values()), True
        with self._lock:
            self._items, self._listed_at = items, now
            self._generation += 1
            gen = self._generation
            if self.hub.watch:
                self._synced = True
                threading.Thread(
                    target=self._watch, args=(gen, rv), name="nw-secret-watch", daemon=True
                ).start()
            return list(items.values()), False

    def _watch(self, generation: int, rv: str) -> None:
        w = k8s_watch.Watch()
        try:
            api = self._api()
            while True:
                for event in w.stream(
                    api.list_namespaced_secret,
                    self.namespace,
                    label_selector=self.hub.label_selector,
                    resource_version=rv,
                    allow_watch_bookmarks=True,
                    timeout_seconds=240,
                    _request_timeout=(self.hub.request_timeout, 300),
                    deserialize=False,
                ):
                    obj = event.get("object") or {}
                    meta = obj.get("metadata") or {}
                    rv = str(meta.get("resourceVersion") or rv)
                    if event.get("type") == "BOOKMARK":
                        continue
                    key = f"{meta.get('namespace')}/{meta.get('name')}"
                    with self._lock:
                        if generation != self._generation or self._items is None:
                            return
                        if event.get("type") == "DELETED":
                            self._items.pop(key, None)
                        else:
                            self._items[key] = obj
                with self._lock:
                    if generation != self._generation:
                        return
        except (
            ApiException,
            urllib3.exceptions.HTTPError,
            OSError,
            ValueError,
            kubeconfig.ClusterConfigError,
        ) as e:
            log.info("hub Secret watch ended (%s); the next registry read lists again", _why(e))
        finally:
            with self._lock:
                if generation == self._generation:
                    self._synced = False


_sources: dict[tuple[Any, ...], SecretSource] = {}
_sources_lock = threading.Lock()


def source(hub: HubSettings, allow_exec: bool) -> SecretSource:
    """One SecretSource per hub config per process (so one watch per worker process).

    Keyed by pid too: a forked child (Celery prefork) does not inherit its parent's watch thread.
    """
    key = (hub, allow_exec, os.getpid())
    with _sources_lock:
        src = _sources.get(key)
        if src is None:
            src = _sources[key] = SecretSource(hub, allow_exec)
        return src


# --- writes (the `cluster add/remove` CLI; the worker only reads) ---


def secret_body(
    name: str,
    kubeconfig_text: str,
    context: str | None,
    ns: str,
    display_name: str = "",
    interval: str = "",
    labels: str = "",
    profile: str = "",
) -> dict[str, Any]:
    data = {"kubeconfig": kubeconfig_text} | ({"context": context} if context else {})
    ann = {
        ANN_NAME: name,
        ANN_DISPLAY: display_name,
        ANN_INTERVAL: interval,
        ANN_LABELS: labels,
        ANN_PROFILE: profile,
    }
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "type": "Opaque",
        "metadata": {
            "name": SECRET_PREFIX + name,
            "namespace": ns,
            "labels": {CLUSTER_LABEL: "true"},
            "annotations": {k: v for k, v in ann.items() if v},
        },
        "stringData": data,
    }


def write_secret(hub: HubSettings, allow_exec: bool, body: dict[str, Any]) -> str:
    """Create the Secret, or replace it if it exists; returns 'created' or 'replaced'."""
    api = k8s_client.CoreV1Api(hub_client(hub, allow_exec))
    ns, name = body["metadata"]["namespace"], body["metadata"]["name"]
    try:
        api.create_namespaced_secret(ns, body, _request_timeout=hub.request_timeout)  # type: ignore[arg-type]
        return "created"
    except ApiException as err:
        if err.status != 409:
            raise ClusterSourceError(f"hub: cannot create Secret {ns}/{name}: {_why(err)}") from None
    except (urllib3.exceptions.HTTPError, OSError) as err:
        raise ClusterSourceError(f"hub: cannot create Secret {ns}/{name}: {_why(err)}") from None
    try:
        api.replace_namespaced_secret(name, ns, body, _request_timeout=hub.request_timeout)  # type: ignore[arg-type]
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        raise ClusterSourceError(f"hub: cannot replace Secret {ns}/{name}: {_why(err)}") from None
    return "replaced"


def delete_secret(hub: HubSettings, allow_exec: bool, ref: str) -> None:
    ns, _, name = ref.partition("/")
    api = k8s_client.CoreV1Api(hub_client(hub, allow_exec))
    try:
        api.delete_namespaced_secret(name, ns, _request_timeout=hub.request_timeout)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        raise ClusterSourceError(f"hub: cannot delete Secret {ref}: {_why(err)}") from None
