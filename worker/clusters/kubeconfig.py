"""Kubeconfig handling: parse, refuse command-running plugins, spot insecure TLS, build and cache API clients.

A kubeconfig comes as a file path (config list, directory) or as text held in memory (a Secret). It is parsed
here and nowhere else; error messages name the cluster and the problem, never a token or certificate.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config


class ClusterConfigError(Exception):
    """This cluster cannot be used as configured; the message says why and holds no secret."""


PLUGINS = ("exec", "auth-provider")


def parse(name: str, text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        raise ClusterConfigError(f"cluster {name}: kubeconfig is not valid YAML") from None
    if not isinstance(data, dict) or not data.get("clusters"):
        raise ClusterConfigError(f"cluster {name}: kubeconfig has no clusters")
    return data


def read_file(name: str, path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        reason = getattr(err, "strerror", None) or "not UTF-8 text"
        raise ClusterConfigError(f"cluster {name}: cannot read kubeconfig {path}: {reason}") from None


def _named(data: Mapping[str, Any], section: str, wanted: str | None) -> Mapping[str, Any]:
    for entry in data.get(section) or []:
        if isinstance(entry, Mapping) and entry.get("name") == wanted:
            inner = entry.get(section[:-1])
            return inner if isinstance(inner, Mapping) else {}
    return {}


def active(data: Mapping[str, Any], context: str | None) -> tuple[str, Mapping[str, Any], Mapping[str, Any]]:
    """(context name, its cluster entry, its user entry) — empty mappings where the kubeconfig lacks them."""
    ctx_name = context or str(data.get("current-context") or "")
    ctx = _named(data, "contexts", ctx_name)
    if not ctx and not context and len(data.get("contexts") or []) == 1:
        only = data["contexts"][0]
        ctx_name, ctx = str(only.get("name", "")), only.get("context") or {}
    return ctx_name, _named(data, "clusters", ctx.get("cluster")), _named(data, "users", ctx.get("user"))


def check_plugins(name: str, data: Mapping[str, Any], allow_exec: bool) -> None:
    """Refuse exec/auth-provider users (they run commands on the worker) unless allowExecPlugins is set."""
    if allow_exec:
        return
    for user in data.get("users") or []:
        u = (user or {}).get("user") or {}
        for plugin in PLUGINS:
            if plugin in u:
                raise ClusterConfigError(
                    f"cluster {name}: kubeconfig user '{user.get('name', '?')}' uses an {plugin} plugin, "
                    "which would run a command on the worker; refused (set allowExecPlugins: true to allow)"
                )


def warnings(name: str, data: Mapping[str, Any], context: str | None) -> list[str]:
    """What a human should know about this kubeconfig (shown by `cluster list` and the dashboard)."""
    out = []
    ctx_name, cluster, user = active(data, context)
    if context and not _named(data, "contexts", context):
        out.append(f"context '{context}' not found in kubeconfig")
    if cluster.get("insecure-skip-tls-verify"):
        out.append("insecure-skip-tls-verify: the API server's certificate is not checked")
    if str(cluster.get("server", "")).startswith("http://"):
        out.append("plain http: the token travels unencrypted")
    for plugin in PLUGINS:
        if plugin in user:
            out.append(f"uses an {plugin} plugin (runs a command on the worker)")
    return out


_cache: dict[str, tuple[str, k8s_client.ApiClient]] = {}
_cache_lock = threading.Lock()


def digest(text: str, context: str | None, allow_exec: bool) -> str:
    return hashlib.sha256(f"{text}\0{context or ''}\0{allow_exec}".encode()).hexdigest()


def build(
    name: str,
    text: str,
    context: str | None,
    allow_exec: bool,
    base_path: str | None = None,
    cache_as: str | None = None,
) -> k8s_client.ApiClient:
    """A client for this kubeconfig text, cached per process by (name, digest): a changed kubeconfig rebuilds."""
    key = digest(text, context, allow_exec)
    slot = cache_as or name
    with _cache_lock:
        hit = _cache.get(slot)
        if hit and hit[0] == key:
            return hit[1]
    data = parse(name, text)
    check_plugins(name, data, allow_exec)
    cfg = k8s_client.Configuration()
    try:
        loader = k8s_config.kube_config.KubeConfigLoader(
            config_dict=data, active_context=context, config_base_path=base_path or ""
        )
        loader.load_and_set(cfg)
    except (k8s_config.ConfigException, KeyError, ValueError, TypeError, AttributeError) as err:
        # the loader's messages name contexts, keys and files, never credentials
        raise ClusterConfigError(f"cluster {name}: invalid kubeconfig: {type(err).__name__}: {err}") from None
    api = k8s_client.ApiClient(cfg)
    with _cache_lock:
        _cache[slot] = (key, api)
    return api


def in_cluster(name: str) -> k8s_client.ApiClient:
    with _cache_lock:
        hit = _cache.get(name)
        if hit and hit[0] == "in-cluster":
            return hit[1]
    cfg = k8s_client.Configuration()
    try:
        k8s_config.load_incluster_config(client_configuration=cfg)
    except k8s_config.ConfigException as err:
        raise ClusterConfigError(f"cluster {name}: no kubeconfig given and not in a pod ({err})") from None
    api = k8s_client.ApiClient(cfg)
    with _cache_lock:
        _cache[name] = ("in-cluster", api)
    return api
