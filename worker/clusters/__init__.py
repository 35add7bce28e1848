"""The cluster registry: which clusters to scan, and safe Kubernetes clients built from their kubeconfigs.

Sources, merged by name (first wins): the ``clusters`` list of the config file, a directory of kubeconfig files
(one cluster per file, named after the file; ``clustersDir`` / ``NODEWATCH_CLUSTERS_DIR``), and the hub's
kubeconfig Secrets (``hub:``; see ``secrets``). With none of them, the in-cluster service account is the one
cluster, named ``in-cluster``. Kubeconfigs are read by the worker that needs them and kept only in memory; they
never travel in task arguments. A kubeconfig that would run a command (``exec`` or ``auth-provider`` plugins) is
refused unless ``allowExecPlugins`` is set; one that reads credentials from files on the worker (``tokenFile``,
``client-certificate``, ``client-key``, ``certificate-authority``) is refused unless it is listed in the config file
and ``allowLocalCredentialFiles`` is set (``ClusterSpec.local_files``).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from kubernetes import client as k8s_client

from worker.clusters import kubeconfig, secrets
from worker.clusters.kubeconfig import ClusterConfigError
from worker.clusters.secrets import ClusterSourceError
from worker.settings.clusters import HubSettings

if TYPE_CHECKING:
    from worker.settings import Settings

__all__ = [
    "ClusterConfigError",
    "ClusterSourceError",
    "ClusterSpec",
    "HubSettings",
    "Registry",
    "api_client",
    "find",
    "load",
    "registry",
    "warnings",
]

log = logging.getLogger("nodewatch.clusters")

ENV_CLUSTERS_DIR = "NODEWATCH_CLUSTERS_DIR"
IN_CLUSTER = "in-cluster"
KUBECONFIG_SUFFIXES = ("", ".yaml", ".yml", ".conf", ".kubeconfig")


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    interval: float
    kubeconfig: str | None = None  # a path; None = kubeconfig_text, else the in-cluster service account
    context: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    source: str = "config"  # config | directory | secret | in-cluster | cli
    display_name: str = ""
    threshold_profile: str = ""
    origin: str = ""  # for humans: the file, or namespace/name of the Secret
    version: str = ""  # the Secret's resourceVersion
    # may the kubeconfig read credentials from files on this host? Only a config-file cluster, and only with
    # allowLocalCredentialFiles: a Secret or a clusters-dir file could otherwise send the hub's own token away
    local_files: bool = False
    scan_budget: float = 0.0  # seconds a scan may take; 0 = the interval
    # a Secret's kubeconfig, held in memory only; repr=False keeps it out of logs and tracebacks
    kubeconfig_text: str | None = field(default=None, repr=False, compare=False)


@dataclass
class Registry:
    specs: list[ClusterSpec]
    problems: list[str] = field(default_factory=list)  # sources or entries that were skipped, and why
    stale: bool = False  # the hub could not be read: its clusters are the last good list

    def by_name(self) -> dict[str, ClusterSpec]:
        return {s.name: s for s in self.specs}


def clusters_dir(settings: Settings, override: str | None = None) -> str | None:
    return override or os.environ.get(ENV_CLUSTERS_DIR) or settings.clusters_dir


def _from_directory(settings: Settings, directory: str, out: Registry) -> list[ClusterSpec]:
    path = Path(directory)
    if not path.is_dir():
        # a missing (unmounted) directory is not "every cluster removed": the caller keeps what it had
        raise ClusterSourceError(f"clusters directory {directory} does not exist")
    files, problems = _listing(path)
    out.problems.extend(problems)
    return [
        ClusterSpec(
            f.stem,
            settings.check_interval,
            str(f),
            source="directory",
            origin=str(f),
            scan_budget=settings.cluster_budget(),
        )
        for f in files
    ]


_listings: dict[str, tuple[int, list[Path], list[str]]] = {}


def _listing(path: Path) -> tuple[list[Path], list[str]]:
    """The directory's kubeconfig files and the names it skips, listed again only when the directory changed
    (its mtime moves when a file is added, removed or renamed, and when a mounted Secret or ConfigMap swaps its
    ``..data`` link): every scan looks its cluster up here, and listing 500 files cost 8 % of a worker's CPU
    (bench/README.md, "fleet"). A file's content is read when its client is built, not here."""
    mtime = path.stat().st_mtime_ns
    hit = _listings.get(str(path))
    if hit is not None and hit[0] == mtime:
        return hit[1], hit[2]
    files: list[Path] = []
    problems: list[str] = []
    for f in sorted(path.iterdir()):
        if f.name.startswith(".") or not f.is_file() or f.suffix not in KUBECONFIG_SUFFIXES:
            continue
        if not secrets.NAME_RE.fullmatch(f.stem):
            problems.append(f"{f}: file name is not a lowercase DNS-style cluster name; skipped")
            continue
        files.append(f)
    _listings[str(path)] = (mtime, files, problems)
    return files, problems


def _from_secrets(settings: Settings, hub: HubSettings, out: Registry) -> list[ClusterSpec]:
    items, out.stale = secrets.source(hub, settings.allow_exec_plugins).snapshot()
    specs = []
    for obj in items:
        try:
            c = secrets.from_secret(obj)
        except ValueError as err:
            out.problems.append(str(err))
            continue
        specs.append(
            ClusterSpec(
                c.name,
                c.interval or settings.check_interval,
                None,
                c.context,
                c.labels,
                source="secret",
                display_name=c.display_name,
                threshold_profile=c.threshold_profile,
                origin=c.secret,
                version=c.version,
                kubeconfig_text=c.kubeconfig,
                scan_budget=settings.cluster_budget(c.scan_budget),
            )
        )
    return sorted(specs, key=lambda s: s.name)


def load(settings: Settings, clusters_dir_override: str | None = None) -> Registry:
    """Every configured cluster, with the problems met on the way.

    Raises ClusterSourceError when a configured source cannot be read at all (and, for the hub, no earlier list
    is at hand): the dispatcher then skips its tick rather than treat every cluster of that source as removed.
    """
    out = Registry([])
    found: list[ClusterSpec] = [
        ClusterSpec(
            c.name,
            settings.cluster_interval(c),
            c.kubeconfig,
            c.context,
            dict(c.labels),
            "config",
            display_name=c.display_name,
            origin="config file",
            local_files=settings.allow_local_credential_files,
            scan_budget=settings.cluster_budget(c.scan_budget),
        )
        for c in settings.clusters
    ]
    directory = clusters_dir(settings, clusters_dir_override)
    if directory:
        found += _from_directory(settings, directory, out)
    hub = settings.hub
    if hub.enabled:
        found += _from_secrets(settings, hub, out)
    specs: dict[str, ClusterSpec] = {}
    for s in found:
        if s.name in specs:
            out.problems.append(f"cluster {s.name} from {s.origin or s.source} ignored: already given by "
                                f"{specs[s.name].origin or specs[s.name].source}")  # fmt: skip
            continue
        specs[s.name] = s
    if not specs and not directory and not hub.enabled:
        specs[IN_CLUSTER] = ClusterSpec(
            IN_CLUSTER,
            settings.check_interval,
            None,
            source="in-cluster",
            scan_budget=settings.cluster_budget(),
        )
    out.specs = list(specs.values())
    return out


def registry(settings: Settings, clusters_dir: str | None = None) -> list[ClusterSpec]:
    return load(settings, clusters_dir).specs


def find(settings: Settings, name: str) -> ClusterSpec | None:
    return load(settings).by_name().get(name)


def _text(spec: ClusterSpec) -> str:
    if spec.kubeconfig_text is not None:
        return spec.kubeconfig_text
    assert spec.kubeconfig is not None
    return kubeconfig.read_file(spec.name, spec.kubeconfig)


def api_client(spec: ClusterSpec, allow_exec: bool = False) -> k8s_client.ApiClient:
    """A client for this cluster, rebuilt when its kubeconfig changes, cached per process otherwise."""
    if spec.kubeconfig is None and spec.kubeconfig_text is None:
        return kubeconfig.in_cluster(spec.name)
    base = str(Path(spec.kubeconfig).parent) if spec.kubeconfig else None
    return kubeconfig.build(
        spec.name, _text(spec), spec.context, allow_exec, base, local_files=spec.local_files
    )


def warnings(spec: ClusterSpec) -> list[str]:
    """Human warnings about a cluster's kubeconfig (insecure TLS, plugins, refused credentials, unreadable);
    [] for in-cluster. A refused kubeconfig says so here, so `cluster list` shows why before any scan."""
    if spec.kubeconfig is None and spec.kubeconfig_text is None:
        return []
    try:
        data = kubeconfig.parse(spec.name, _text(spec))
        kubeconfig.check_credentials(spec.name, data, spec.local_files)
    except ClusterConfigError as err:
        return [str(err).removeprefix(f"cluster {spec.name}: ")]
    return kubeconfig.warnings(spec.name, data, spec.context)
