"""The kubelet's own config (``/api/v1/nodes/NAME/proxy/configz``), read rarely for the nodes being predicted.

The eviction thresholds and image GC lines a prediction aims at are the kubelet's: a node whose kubelet says
``evictionHard: {nodefs.available: 15%}`` is evicting at 85 %, not 90 %. configz answers the running kubelet's
effective config as ``{"kubeletconfig": {...}}`` and needs RBAC ``nodes/proxy`` get, like the Summary API.

``parse`` (pure) turns an answer into a ``KubeletConfig`` (signals it does not name keep the kubelet's defaults);
``KubeletConfigs`` reads it through the API server for at most ``max_reads`` nodes a scan, caches each node's
answer (or why there is none) for ``ttl_s`` [1 h] in this process, bounded to ``max_entries`` nodes, and stops
asking a cluster that answered 403 for the same hour. The cache holds nothing a second worker needs: another
worker reads its own copy, at most once an hour a node. Times are the scan's ``now`` (the replay's clock).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from kubernetes.client import ApiClient

from worker.collect import errors, quantities
from worker.collect.document import Malformed, mapping
from worker.collect.http import Http
from worker.collect.options import CollectOptions, ScanStats
from worker.predict.kubelet import DEFAULTS, KubeletConfig

CONFIGZ = "kubelet config (configz)"


def _percent(raw: object, what: str) -> float | None:
    if raw is None:
        return None
    text = str(raw).strip()
    if not text.endswith("%"):
        raise Malformed(f"{what}: expected a percentage, got {text[:40]!r}")
    try:
        value = float(text[:-1])
    except ValueError:
        raise Malformed(f"{what}: expected a percentage, got {text[:40]!r}") from None
    if not 0 <= value <= 100:
        raise Malformed(f"{what}: {value:g}% is not a percentage")
    return value


def parse(doc: Mapping[str, Any], memory_capacity: int = 0) -> KubeletConfig:
    """A configz answer -> the settings the limits read; what it leaves out keeps the kubelet's default.

    ``memory.available`` may be a quantity (100Mi) or a percentage of the node's memory capacity."""
    config = mapping(doc.get("kubeletconfig"), "kubeletconfig")
    if not config:
        raise Malformed("no kubeletconfig in the configz answer")
    hard = mapping(config.get("evictionHard"), "kubeletconfig.evictionHard")
    d = DEFAULTS
    memory = d.memory_available
    raw_memory = hard.get("memory.available")
    if raw_memory is not None:
        text = str(raw_memory).strip()
        if text.endswith("%"):
            share = _percent(text, "evictionHard.memory.available") or 0.0
            memory = int(memory_capacity * share / 100) if memory_capacity else memory
        else:
            try:
                memory = quantities.byte_count(text)
            except (ValueError, ArithmeticError) as exc:
                raise Malformed(f"evictionHard.memory.available: {exc}") from None

    def pct(key: str, default: float) -> float:
        value = _percent(hard.get(key), f"evictionHard.{key}")
        return default if value is None else value

    def gc(key: str, default: float) -> float:
        value = config.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 100:
            raise Malformed(f"{key}: expected a percentage 0-100, got {str(value)[:40]!r}")
        return float(value)

    return KubeletConfig(
        memory_available=memory,
        nodefs_available_pct=pct("nodefs.available", d.nodefs_available_pct),
        imagefs_available_pct=pct("imagefs.available", d.imagefs_available_pct),
        nodefs_inodes_free_pct=pct("nodefs.inodesFree", d.nodefs_inodes_free_pct),
        image_gc_high_pct=gc("imageGCHighThresholdPercent", d.image_gc_high_pct),
        image_gc_low_pct=gc("imageGCLowThresholdPercent", d.image_gc_low_pct),
    )


@dataclass(frozen=True)
class Known:
    """One node's kubelet settings and where they come from ("kubelet config (configz)", or the defaults and
    why: "kubelet defaults (configz forbidden (403))")."""

    config: KubeletConfig
    source: str
    read_at: float


def _defaults(why: str, now: float) -> Known:
    return Known(DEFAULTS, f"kubelet defaults ({why})", now)


class KubeletConfigs:
    """The per-process cache of the nodes' kubelet configs (module docstring)."""

    def __init__(self, ttl_s: float = 3600.0, max_entries: int = 50_000, max_reads: int = 100) -> None:
        self.ttl_s = ttl_s
        self.max_entries = max_entries
        self.max_reads = max_reads
        self._known: collections.OrderedDict[tuple[str, str], Known] = collections.OrderedDict()
        self._forbidden: dict[str, float] = {}  # cluster -> when it answered 403
        self._lock = threading.Lock()

    def cached(self, cluster: str, node: str, now: float) -> Known | None:
        with self._lock:
            known = self._known.get((cluster, node))
            if known is None or now - known.read_at >= self.ttl_s or now < known.read_at:
                return None
            return known

    def _keep(self, cluster: str, node: str, known: Known) -> None:
        with self._lock:
            self._known[(cluster, node)] = known
            self._known.move_to_end((cluster, node))
            while len(self._known) > self.max_entries:
                self._known.popitem(last=False)

    def forget(self, cluster: str) -> None:
        with self._lock:
            for key in [k for k in self._known if k[0] == cluster]:
                del self._known[key]
            self._forbidden.pop(cluster, None)

    def get(
        self,
        api: ApiClient | None,
        cluster: str,
        nodes: Mapping[str, int],
        now: float,
        options: CollectOptions,
        stats: ScanStats | None = None,
    ) -> dict[str, Known]:
        """The kubelet settings of ``nodes`` ({name: memory capacity}): cached ones, up to ``max_reads`` read now
        (``disk_concurrency`` at a time), the kubelet's defaults for the rest and said why. ``api`` None: not
        read at all (disk stats off: nodes/proxy is not granted)."""
        out: dict[str, Known] = {}
        missing = []
        for name in nodes:
            known = self.cached(cluster, name, now)
            if known is not None:
                out[name] = known
            else:
                missing.append(name)
        if not missing:
            return out
        if api is None:
            return {**out, **{n: _defaults("configz not read: collect.diskStats off", now) for n in missing}}
        since = self._forbidden.get(cluster)
        if since is not None and 0 <= now - since < self.ttl_s:
            return {
                **out,
                **{n: _defaults("configz forbidden (403): needs nodes/proxy get", now) for n in missing},
            }
        reading, later = missing[: self.max_reads], missing[self.max_reads :]
        http = Http(api, cluster, options, stats or ScanStats())
        started = time.monotonic()
        http.phase = f"reading the kubelet config of {len(reading)} node(s)"
        with ThreadPoolExecutor(max_workers=max(1, min(options.disk_concurrency, len(reading)))) as pool:
            read = pool.map(lambda n: self._read(http, n, nodes[n], now), reading)
            for name, known in zip(reading, read, strict=True):
                out[name] = known
        http.stats.seconds["kubelet configs"] = time.monotonic() - started
        if any(k.source.startswith("kubelet defaults (configz forbidden") for k in out.values()):
            with self._lock:
                self._forbidden[cluster] = now
        for name in later:
            out[name] = _defaults("configz not read yet: at most a few nodes a scan", now)
        return out

    def _read(self, http: Http, name: str, memory_capacity: int, now: float) -> Known:
        try:
            doc = http.get(f"/api/v1/nodes/{quote(name, safe='')}/proxy/configz")
            known = Known(parse(doc, memory_capacity), CONFIGZ, now)
        except errors.ScanTimeout:
            return _defaults("configz not read: scan budget used up", now)  # not cached: try next time
        except errors.RequestFailed as exc:
            why = {403: "configz forbidden (403): needs nodes/proxy get", 404: "configz not served (404)"}
            known = _defaults(why.get(exc.status, f"configz failed (HTTP {exc.status})"), now)
        except errors.CollectError as exc:
            known = _defaults(f"configz unreachable: {str(exc)[-120:]}", now)
        except Malformed as exc:
            known = _defaults(f"configz unreadable: {str(exc)[:120]}", now)
        self._keep(http.cluster, name, known)
        return known


# one per process: every scan of every cluster in this worker shares it
CACHE = KubeletConfigs()
