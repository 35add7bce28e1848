"""Config of the clusters and how they are read: clusters in the file (with maintenance windows), node groups,
the hub's kubeconfig Secrets, and the collect options."""

from __future__ import annotations

import re
from datetime import time as dt_time
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AliasChoices, Field, field_validator

from worker.model import policies
from worker.settings.base import Strict
from worker.settings.thresholds import ThresholdOverrides

CLUSTER_LABEL = "nodewatch.io/cluster"
DEFAULT_SELECTOR = f"{CLUSTER_LABEL}=true"


class MaintenanceWindowSettings(Strict):
    """A recurring window in which the cluster's alerts do not page (why: "in maintenance window NAME")."""

    name: str = "maintenance"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # HH:MM local time
    minutes: float = Field(gt=0, le=7 * 1440)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    def window(self) -> policies.Window:
        hh, mm = self.start.split(":")
        return policies.Window(
            tuple(self.days), dt_time(int(hh), int(mm)), self.minutes, self.timezone, self.name
        )


class ClusterSettings(Strict):
    """One cluster given in the config file (Secrets and a directory are the other sources)."""

    name: str
    display_name: str = ""  # what messages call it ("Prod EU"); default its name
    kubeconfig: str | None = None  # None: in-cluster service account
    context: str | None = None
    interval: float | None = None  # seconds; default checkInterval
    # seconds a scan may take before it is cut and counted as failed; default collect.scanBudget, else interval
    scan_budget: float | None = Field(default=None, gt=0)
    labels: dict[str, str] = {}
    thresholds: ThresholdOverrides | None = None  # type: ignore[valid-type]
    threshold_profile: str | None = None  # a name under thresholdProfiles
    maintenance: list[MaintenanceWindowSettings] = []

    @field_validator("name")
    @classmethod
    def _dns_label(cls, v: str) -> str:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?", v):
            raise ValueError("must be a lowercase DNS-style name (a-z, 0-9, '-', '.', '_')")
        return v


class NodeGroupSettings(Strict):
    """Thresholds for the nodes matching a label selector (first matching group wins)."""

    name: str
    match_labels: dict[str, str]
    clusters: list[str] = []  # empty: every cluster
    thresholds: ThresholdOverrides | None = None  # type: ignore[valid-type]


class HubSettings(Strict):
    """Where the cluster Secrets live and how the hub reads them (worker/clusters/secrets.py).

    The hub is the cluster nodewatch runs in. Inside a pod its service account is used (it needs get/list/watch
    on Secrets in its own namespace only); outside, ``kubeconfig`` (+ ``context``) points at the hub.
    """

    # read cluster Secrets; None = only when ``kubeconfig`` is given (in a pod, say ``secrets: true``)
    secrets: bool | None = None
    namespace: str | None = None  # default: the pod's namespace, else "nodewatch"
    kubeconfig: str | None = None  # run the hub outside a cluster
    context: str | None = None
    label_selector: str = DEFAULT_SELECTOR
    watch: bool = True  # keep a watch open (one per worker process) instead of a list per registry read
    request_timeout: float = Field(default=10.0, gt=0)
    resync_seconds: float = Field(default=600.0, gt=0)  # full re-list even while the watch is healthy

    @property
    def enabled(self) -> bool:
        return self.secrets if self.secrets is not None else self.kubeconfig is not None


class CollectSettings(Strict):
    page_size: int = Field(default=500, ge=1, le=5000)
    request_timeout: float = Field(default=10.0, gt=0)
    disk_stats: bool = False  # needs RBAC nodes/proxy; see docs
    disk_concurrency: int = Field(default=8, ge=1, le=64)
    top_pods: int = Field(default=3, ge=0, le=20)
    top_pods_nodes: int = Field(default=20, ge=0, le=1000)  # nodes per scan that get live pod usage
    compression: bool = True  # ask API servers for gzip (they compress answers over 128 KiB)
    # a larger answer fails that read; spelt maxResponseMiB as the README and the error say (the camelCase
    # generator alone made it maxResponseMib, which stays accepted)
    max_response_mib: int = Field(
        default=64,
        ge=1,
        le=4096,
        alias="maxResponseMiB",
        validation_alias=AliasChoices("maxResponseMiB", "maxResponseMib", "max_response_mib"),
    )
    scan_budget: float | None = Field(default=None, gt=0)  # seconds per scan; default: the cluster's interval
