"""The whole config file as one model (``Settings``): the seed's keys, nodewatch's own sections, the cross-checks
between sections, and the views the rest of nodewatch reads (thresholds per node, receivers, windows)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from pydantic import AliasChoices, Field, field_validator, model_validator

from worker.model import policies
from worker.model.thresholds import Thresholds
from worker.settings import notify, seed
from worker.settings.base import RuleName, Strict, TimeZone
from worker.settings.clusters import ClusterSettings, CollectSettings, HubSettings, NodeGroupSettings
from worker.settings.noise import NoiseSettings
from worker.settings.notify import NotifySettings
from worker.settings.receivers import Endpoint, Receiver, ReceiverPolicy, ReceiverSettings
from worker.settings.routes import RouteSettings
from worker.settings.thresholds import ThresholdOverrides, apply
from worker.settings.watch import MetricsSettings, WatchdogSettings


class RuleSettings(Strict):
    """What the config says about one rule besides its thresholds."""

    runbook_url: str = Field(alias="runbookURL")

    @field_validator("runbook_url")
    @classmethod
    def _http(cls, v: str) -> str:
        if not v.startswith(("https://", "http://")):
            raise ValueError("must be an http(s) URL")
        return v


class Settings(Strict):
    # --- the seed sketch's keys ---
    check_interval: float = Field(default=60.0, gt=0)  # seconds
    log_level: Literal["debug", "info", "warning", "warn", "error"] = "info"
    # minutes a still-firing alert is not repeated: kube-prometheus' Alertmanager repeat_interval (12 h). At 4 h
    # (Alertmanager's own default) replay-day, counted with repeats, sent 9 reminders for 9 incidents (docs/noise.md)
    alert_cooldown: float = Field(default=720.0, ge=0)
    thresholds: ThresholdOverrides | None = None  # type: ignore[valid-type]
    slack: seed.SlackSettings = seed.SlackSettings()
    dingtalk: seed.DingTalkSettings = Field(default=seed.DingTalkSettings(), alias="dingtalk")
    # --- nodewatch's own ---
    wecom: seed.WeComSettings = seed.WeComSettings()
    receivers_: list[ReceiverSettings] = Field(default=[], alias="receivers")
    route: RouteSettings | None = None
    language: Literal["zh", "en"] = "zh"
    # the IANA zone messages give their times in, with the UTC offset shown; a receiver may set its own
    timezone: TimeZone = "UTC"
    # per rule: its runbook (``rules: {cpu_usage: {runbookURL: https://...}}``), shown as the message's next step
    # instead of the built-in hint
    rules: dict[RuleName, RuleSettings] = {}
    log_format: Literal["json", "text"] = "json"
    clusters: list[ClusterSettings] = []
    node_groups: list[NodeGroupSettings] = []
    # named threshold sets a cluster picks by name (config `thresholdProfile`, Secret annotation
    # nodewatch.io/threshold-profile), e.g. {prod: {cpuWarning: 60}, batch: {cpuCritical: 98}}
    threshold_profiles: dict[str, ThresholdOverrides] = {}  # type: ignore[valid-type]
    collect: CollectSettings = CollectSettings()
    notify: NotifySettings = NotifySettings()
    noise: NoiseSettings = NoiseSettings()
    clusters_dir: str | None = None  # a directory of kubeconfig files, one cluster per file
    hub: HubSettings = HubSettings()  # kubeconfig Secrets in the hub cluster (worker/clusters/secrets.py)
    allow_exec_plugins: bool = False  # kubeconfig exec/auth-provider plugins run commands on the worker
    # tokenFile/client-certificate/client-key/certificate-authority paths in the kubeconfigs of `clusters:` only;
    # Secrets, clusters-dir files and `cluster add` may never read credentials from the worker's disk
    allow_local_credential_files: bool = False
    scan_failures_before_alert: int = Field(default=3, ge=1)
    dispatch_tick: float = Field(default=5.0, gt=0, validation_alias=AliasChoices("dispatchTick"))
    # the seed's key: a worker serves /metrics on this port (as `nodewatch worker --metrics-port`); None: it does not
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics: MetricsSettings = MetricsSettings()
    watchdog: WatchdogSettings = WatchdogSettings()

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, v: object) -> object:
        return v.lower() if isinstance(v, str) else v

    @model_validator(mode="after")
    def _unique_clusters(self) -> Settings:
        names = [c.name for c in self.clusters]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            raise ValueError(f"clusters: duplicate name(s) {sorted(dup)}")
        return self

    @model_validator(mode="after")
    def _known_profiles(self) -> Settings:
        for i, c in enumerate(self.clusters):
            if c.threshold_profile and c.threshold_profile not in self.threshold_profiles:
                known = ", ".join(sorted(self.threshold_profiles)) or "none"
                raise ValueError(
                    f"clusters.{i}.thresholdProfile: unknown profile {c.threshold_profile!r} (known: {known})"
                )
        return self

    @model_validator(mode="after")
    def _notify(self) -> Settings:
        """Receivers unique, route references known, user templates compile and render: at start, not at 3 a.m."""
        notify.validate(self)
        return self

    # --- derived views ---
    @property
    def base_thresholds(self) -> Thresholds:
        return apply(Thresholds(), self.thresholds)

    def _group(self, cluster: str, labels: Mapping[str, str]) -> NodeGroupSettings | None:
        """The first node group whose clusters and matchLabels match."""
        for g in self.node_groups:
            if g.clusters and cluster not in g.clusters:
                continue
            if all(labels.get(k) == v for k, v in g.match_labels.items()):
                return g
        return None

    def thresholds_for(
        self, cluster: str, labels: Mapping[str, str], profile: str | None = None
    ) -> Thresholds:
        """Defaults <- global thresholds <- the cluster's profile (a Secret's annotation) <- the cluster's own
        <- the first matching node group's."""
        t = self.base_thresholds
        if profile and profile in self.threshold_profiles:
            t = apply(t, self.threshold_profiles[profile])
        for c in self.clusters:
            if c.name == cluster:
                if c.threshold_profile:
                    t = apply(t, self.threshold_profiles.get(c.threshold_profile))
                t = apply(t, c.thresholds)
        group = self._group(cluster, labels)
        return apply(t, group.thresholds) if group else t

    def node_group_of(self, cluster: str, labels: Mapping[str, str]) -> str:
        group = self._group(cluster, labels)
        return group.name if group else ""

    @property
    def repeat_interval(self) -> float:
        return self.alert_cooldown * 60.0

    def runbook_url(self, rule: str) -> str:
        r = self.rules.get(rule)
        return r.runbook_url if r else ""

    def maintenance_windows(self, cluster: str) -> list[policies.Window]:
        return [w.window() for c in self.clusters if c.name == cluster for w in c.maintenance]

    def cluster_interval(self, cluster: ClusterSettings) -> float:
        return cluster.interval or self.check_interval

    def cluster_budget(self, explicit: float | None = None) -> float:
        """A cluster's scan budget in seconds; 0 means "its interval"."""
        return explicit or self.collect.scan_budget or 0.0

    def endpoints(self) -> dict[str, Endpoint[Receiver]]:
        """The usable receivers by name, each ready to become a channel (``worker.notify.registry.channel``).

        An endpoint holds the plain URL and reads the receiver's secrets: never log it.
        """
        return notify.endpoints(self)

    def receiver_policies(self) -> dict[str, ReceiverPolicy]:
        """Every receiver's rate limit and digest size."""
        return notify.policies(self)
