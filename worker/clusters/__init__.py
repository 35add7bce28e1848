"""The cluster registry: which clusters to scan, and safe Kubernetes clients built from their kubeconfigs.

Sources, merged by name (first wins): the ``clusters`` list of the config file, then a directory of kubeconfig files
(one cluster per file, named after the file; ``clustersDir`` / ``NODEWATCH_CLUSTERS_DIR``). With neither, the
in-cluster service account is the one cluster, named ``in-cluster``. Kubeconfigs are read by the worker that needs
them and kept only in memory; they never travel in task arguments. A kubeconfig that would run a command (``exec``
or ``auth-provider`` plugins) is refused unless ``allowExecPlugins`` is set.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from worker.settings import Settings

ENV_CLUSTERS_DIR = "NODEWATCH_CLUSTERS_DIR"
IN_CLUSTER = "in-cluster"


class ClusterConfigError(Exception):
    """This cluster cannot be used as configured; the message says why and holds no secret."""


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    interval: float
    kubeconfig: str | None = None  # a path; None = in-cluster service account
    context: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    source: str = "config"


def registry(settings: Settings, clusters_dir: str | None = None) -> list[ClusterSpec]:
    specs: dict[str, ClusterSpec] = {}
    for c in settings.clusters:
        specs[c.name] = ClusterSpec(
            c.name, settings.cluster_interval(c), c.kubeconfig, c.context, dict(c.labels), "config"
        )
    directory = clusters_dir or os.environ.get(ENV_CLUSTERS_DIR) or settings.clusters_dir
    if directory and Path(directory).is_dir():
        for path in sorted(Path(directory).iterdir()):
            if (
                path.is_file()
                and not path.name.startswith(".")
                and path.suffix in ("", ".yaml", ".yml", ".conf")
            ):
                name = path.stem
                specs.setdefault(
                    name, ClusterSpec(name, settings.check_interval, str(path), source="directory")
                )
    if not specs and not directory:
        specs[IN_CLUSTER] = ClusterSpec(IN_CLUSTER, settings.check_interval, None, source="in-cluster")
    return list(specs.values())


def find(settings: Settings, name: str) -> ClusterSpec | None:
    return next((s for s in registry(settings) if s.name == name), None)


def _load_kubeconfig(spec: ClusterSpec) -> dict[str, Any]:
    assert spec.kubeconfig is not None
    try:
        data = yaml.safe_load(Path(spec.kubeconfig).read_text())
    except OSError as err:
        raise ClusterConfigError(f"cluster {spec.name}: cannot read kubeconfig: {err.strerror}") from None
    except yaml.YAMLError:
        raise ClusterConfigError(f"cluster {spec.name}: kubeconfig is not valid YAML") from None
    if not isinstance(data, dict) or not data.get("clusters"):
        raise ClusterConfigError(f"cluster {spec.name}: kubeconfig has no clusters")
    return data


def _check_plugins(spec: ClusterSpec, data: dict[str, Any], allow_exec: bool) -> None:
    if allow_exec:
        return
    for user in data.get("users") or []:
        u = (user or {}).get("user") or {}
        for plugin in ("exec", "auth-provider"):
            if plugin in u:
                raise ClusterConfigError(
                    f"cluster {spec.name}: kubeconfig user '{user.get('name', '?')}' uses an {plugin} plugin, "
                    "which would run a command on the worker; refused (set allowExecPlugins: true to allow)"
                )


_cache: dict[str, tuple[str, k8s_client.ApiClient]] = {}
_cache_lock = threading.Lock()


def api_client(spec: ClusterSpec, allow_exec: bool = False) -> k8s_client.ApiClient:
    """A client for this cluster, rebuilt when its kubeconfig changes, cached per process otherwise."""
    if spec.kubeconfig is None:
        cfg = k8s_client.Configuration()
        try:
            k8s_config.load_incluster_config(client_configuration=cfg)
        except k8s_config.ConfigException as err:
            raise ClusterConfigError(
                f"cluster {spec.name}: no kubeconfig given and not in a pod ({err})"
            ) from None
        return k8s_client.ApiClient(cfg)
    data = _load_kubeconfig(spec)
    digest = hashlib.sha256(yaml.safe_dump(data).encode() + (spec.context or "").encode()).hexdigest()
    with _cache_lock:
        hit = _cache.get(spec.name)
        if hit and hit[0] == digest:
            return hit[1]
    _check_plugins(spec, data, allow_exec)
    cfg = k8s_client.Configuration()
    try:
        loader = k8s_config.kube_config.KubeConfigLoader(
            config_dict=data, active_context=spec.context, config_base_path=str(Path(spec.kubeconfig).parent)
        )
        loader.load_and_set(cfg)
    except (k8s_config.ConfigException, KeyError, ValueError, TypeError) as err:
        # the loader's messages name contexts and files, never credentials
        raise ClusterConfigError(
            f"cluster {spec.name}: invalid kubeconfig: {type(err).__name__}: {err}"
        ) from None
    api = k8s_client.ApiClient(cfg)
    with _cache_lock:
        _cache[spec.name] = (digest, api)
    return api
