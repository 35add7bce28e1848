"""Configuration: one YAML file plus environment overrides, validated at load by pydantic.

The seed sketch's ``config.yaml`` (checkInterval, logLevel, alertCooldown in minutes, thresholds.*, slack.webhookURL,
dingtalk.webhookURL/secret) loads unchanged. Every secret is a ``SecretStr`` and may also come from an environment
variable or a ``*File`` key naming a file (a mounted Kubernetes Secret). A wrong key or type raises ``ConfigError``
whose message names the key and the file.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Mapping
from datetime import time as dt_time
from functools import cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import (
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from worker import settings_notify
from worker.clusters.config import HubSettings
from worker.model.thresholds import Thresholds
from worker.rules import lifecycle, muting
from worker.settings_notify import Strict as _Strict

ENV_CONFIG = "NODEWATCH_CONFIG"


class ConfigError(Exception):
    """A configuration problem, said in one line that names the file and the key."""


def _threshold_overrides_model() -> type[BaseModel]:
    """A pydantic model with one optional camelCase key per ``Thresholds`` field (unknown keys rejected)."""
    hints = typing.get_type_hints(Thresholds)
    fields: dict[str, Any] = {
        f.name: (hints[f.name] | None, Field(default=None, alias=to_camel(f.name)))
        for f in dataclasses.fields(Thresholds)
    }
    return create_model(  # type: ignore[call-overload,no-any-return]
        "ThresholdOverrides",
        __config__=ConfigDict(extra="forbid", populate_by_name=True, frozen=True),
        **fields,
    )


ThresholdOverrides = _threshold_overrides_model()


def _apply(base: Thresholds, overrides: BaseModel | None) -> Thresholds:
    if overrides is None:
        return base
    changes = {k: v for k, v in overrides.model_dump().items() if v is not None}
    return dataclasses.replace(base, **changes)


class ClusterSettings(_Strict):
    """One cluster given in the config file (kubeconfig Secrets and a directory are the other sources)."""

    name: str
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
        import re

        if not re.fullmatch(r"[a-z0-9]([-a-z0-9_.]{0,61}[a-z0-9])?", v):
            raise ValueError("must be a lowercase DNS-style name (a-z, 0-9, '-', '.', '_')")
        return v


class MaintenanceWindowSettings(_Strict):
    """A recurring window in which the cluster's alerts do not page (why: "in maintenance window NAME")."""

    name: str = "maintenance"
    days: list[Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]]
    start: str = Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$")  # HH:MM local time
    minutes: float = Field(gt=0, le=7 * 1440)
    timezone: str = "UTC"

    @field_validator("timezone")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v

    def window(self) -> muting.Window:
        hh, mm = self.start.split(":")
        return muting.Window(
            tuple(self.days), dt_time(int(hh), int(mm)), self.minutes, self.timezone, self.name
        )


class InhibitSettings(_Strict):
    source_rules: list[str]
    target_rules: list[str]
    equal: Literal["node", "cluster"] = "node"


class NoiseSettings(_Strict):
    """Noise reduction across workers (docs/noise.md)."""

    flap_window: float = Field(default=1800.0, gt=0)
    flap_threshold: int = Field(default=4, ge=2)
    flap_quiet: float = Field(default=900.0, gt=0)
    storm_min: int = Field(
        default=3, ge=2
    )  # this many nodes firing one rule in one scan -> one grouped message
    group_interval: float = Field(default=300.0, ge=0)  # later changes to a storm are batched this long
    # resolve only after the condition is gone this long: a dip merges into one incident (resolved + firing pairs
    # were most of the sketch's noise in the replays, bench/README.md)
    keep_firing_for: float = Field(default=600.0, ge=0)
    inhibit: list[InhibitSettings] | None = None  # None: the built-in rule (NotReady mutes that node's usage)

    def flap_policy(self) -> lifecycle.FlapPolicy:
        return lifecycle.FlapPolicy(self.flap_window, self.flap_threshold, self.flap_quiet)

    def inhibit_rules(self) -> tuple[muting.InhibitRule, ...]:
        if self.inhibit is None:
            return muting.DEFAULT_INHIBIT
        return tuple(
            muting.InhibitRule(tuple(i.source_rules), tuple(i.target_rules), i.equal) for i in self.inhibit
        )


class NodeGroupSettings(_Strict):
    """Thresholds for the nodes matching a label selector (first matching group wins)."""

    name: str
    match_labels: dict[str, str]
    clusters: list[str] = []  # empty: every cluster
    thresholds: ThresholdOverrides | None = None  # type: ignore[valid-type]


class CollectSettings(_Strict):
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


class NotifySettings(_Strict):
    send_resolved: bool = True
    retry_window: float = Field(default=3600.0, gt=0)  # seconds before a message goes to dead letters
    http_timeout: float = Field(default=10.0, gt=0)
    min_retry_delay: float = Field(default=5.0, gt=0)  # first backoff step, doubled each retry, with jitter
    max_retry_delay: float = Field(default=900.0, gt=0, le=900)  # also caps Retry-After / rate-limit waits
    # hosts webhook URLs may point at ("hooks.slack.com", "*.dingtalk.com"); empty: any host
    allowed_hosts: list[str] = []

    @field_validator("allowed_hosts")
    @classmethod
    def _host_patterns(cls, v: list[str]) -> list[str]:
        return [settings_notify.host_pattern(p) for p in v]


class Settings(_Strict):
    # --- the seed sketch's keys ---
    check_interval: float = Field(default=60.0, gt=0)  # seconds
    log_level: Literal["debug", "info", "warning", "warn", "error"] = "info"
    alert_cooldown: float = Field(default=240.0, ge=0)  # minutes a still-firing alert is not repeated
    thresholds: ThresholdOverrides | None = None  # type: ignore[valid-type]
    slack: settings_notify.SlackSettings = settings_notify.SlackSettings()
    dingtalk: settings_notify.DingTalkSettings = Field(
        default=settings_notify.DingTalkSettings(), alias="dingtalk"
    )
    # --- nodewatch's own ---
    wecom: settings_notify.WeComSettings = settings_notify.WeComSettings()
    receivers_: list[settings_notify.ReceiverSettings] = Field(default=[], alias="receivers")
    route: settings_notify.RouteSettings | None = None
    language: Literal["zh", "en"] = "zh"
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
    hub: HubSettings = HubSettings()  # kubeconfig Secrets in the hub cluster (worker/clusters/config.py)
    allow_exec_plugins: bool = False  # kubeconfig exec/auth-provider plugins run commands on the worker
    # tokenFile/client-certificate/client-key/certificate-authority paths in the kubeconfigs of `clusters:` only;
    # Secrets, clusters-dir files and `cluster add` may never read credentials from the worker's disk
    allow_local_credential_files: bool = False
    scan_failures_before_alert: int = Field(default=3, ge=1)
    dispatch_tick: float = Field(default=5.0, gt=0, validation_alias=AliasChoices("dispatchTick"))

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
        """Receivers unique, route receivers known, user templates compile and render: at start, not at 3 a.m."""
        settings_notify.validate(self)
        return self

    # --- derived views ---
    @property
    def base_thresholds(self) -> Thresholds:
        return _apply(Thresholds(), self.thresholds)

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
            t = _apply(t, self.threshold_profiles[profile])
        for c in self.clusters:
            if c.name == cluster:
                if c.threshold_profile:
                    t = _apply(t, self.threshold_profiles.get(c.threshold_profile))
                t = _apply(t, c.thresholds)
        group = self._group(cluster, labels)
        return _apply(t, group.thresholds) if group else t

    def node_group_of(self, cluster: str, labels: Mapping[str, str]) -> str:
        group = self._group(cluster, labels)
        return group.name if group else ""

    @property
    def repeat_interval(self) -> float:
        return self.alert_cooldown * 60.0

    def maintenance_windows(self, cluster: str) -> list[muting.Window]:
        return [w.window() for c in self.clusters if c.name == cluster for w in c.maintenance]

    def cluster_interval(self, cluster: ClusterSettings) -> float:
        return cluster.interval or self.check_interval

    def cluster_budget(self, explicit: float | None = None) -> float:
        """A cluster's scan budget in seconds; 0 means "its interval"."""
        return explicit or self.collect.scan_budget or 0.0

    def receivers(self) -> dict[str, dict[str, Any]]:
        """The configured receivers by name with their plain (secret-bearing) params, for channel factories.

        Only worker/notify and the notify task call this; the values must never be logged.
        """
        return settings_notify.receiver_params(self)


# Environment variables the seed's Deployment used, and a few of our own.
_ENV_OVERRIDES: dict[str, tuple[str, ...]] = {
    "SLACK_WEBHOOK_URL": ("slack", "webhookURL"),
    "DINGTALK_WEBHOOK_URL": ("dingtalk", "webhookURL"),
    "DINGTALK_SECRET": ("dingtalk", "secret"),
    "WECOM_WEBHOOK_URL": ("wecom", "webhookURL"),
    "NODEWATCH_LOG_LEVEL": ("logLevel",),
    "NODEWATCH_LOG_FORMAT": ("logFormat",),
    "NODEWATCH_LANGUAGE": ("language",),
}


def _set_path(data: dict[str, Any], path: tuple[str, ...], value: str) -> None:
    for key in path[:-1]:
        node = data.get(key)
        if not isinstance(node, dict):
            node = {}
            data[key] = node
        data = node
    data[path[-1]] = value


def _describe(err: ValidationError, source: str) -> str:
    lines = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"])
        if not e["loc"]:  # a cross-field check: its message names the key itself (an empty key "" is a key)
            lines.append(f"{source}: {e['msg'].removeprefix('Value error, ')}")
        elif e["type"] == "extra_forbidden":
            lines.append(f"{source}: unknown key '{key}'")
        else:
            value = e.get("input")
            # only short scalars are echoed: a mapping or list may hold a webhook URL or a token
            scalar = isinstance(value, int | float | bool) or (isinstance(value, str) and len(value) <= 40)
            secretish = any(w in key.lower() for w in ("secret", "url", "token", "key", "password"))
            shown = f" (got {value!r})" if scalar and not secretish else ""
            lines.append(f"{source}: key '{key}': {e['msg']}{shown}")
    return "; ".join(lines)


def parse(
    raw: Mapping[str, Any] | None, source: str = "<config>", env: Mapping[str, str] | None = None
) -> Settings:
    """Validate a config mapping (plus env overrides) into Settings, or raise ConfigError naming the key."""
    if raw is not None and not isinstance(raw, Mapping):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    data: dict[str, Any] = dict(raw or {})
    env = os.environ if env is None else env
    for var, path in _ENV_OVERRIDES.items():
        if env.get(var):
            _set_path(data, path, env[var])
    try:
        return Settings.model_validate(data)
    except ValidationError as err:
        raise ConfigError(_describe(err, source)) from None


def load(path: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Load the YAML file at ``path`` (or $NODEWATCH_CONFIG; none means all defaults) and validate it."""
    env = os.environ if env is None else env
    path = path or env.get(ENV_CONFIG) or None
    if path is None:
        return parse({}, "<defaults>", env)
    source = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise ConfigError(f"{source}: cannot read config file: {err.strerror}") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ConfigError(f"{source}:{where} is not valid YAML") from None
    except (ValueError, RecursionError) as err:
        # a timestamp-shaped value that is no date ("2001-13-01": month must be in 1..12), or nesting past the
        # parser's recursion: PyYAML raises these bare, without a line
        raise ConfigError(f"{source}: is not valid YAML ({str(err)[:80]})") from None
    if raw is not None and not isinstance(raw, dict):
        raise ConfigError(f"{source}: the top level must be a mapping of keys")
    return parse(raw, source, env)


@cache
def current() -> Settings:
    """The process's settings from $NODEWATCH_CONFIG, loaded once (workers and beat)."""
    return load()
