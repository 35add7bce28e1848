"""One scan of one cluster without Celery: collect -> rules -> noise path -> one Redis commit.

The Celery task (tasks/scan.py), the cluster-removal task and ``nodewatch replay`` all run this same path, so what
the replay measures is what production does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

from worker import clusters, settings
from worker.collect import errors as collect_errors
from worker.collect import reader
from worker.model import ClusterSample, Finding, Notification, NotificationKind, Severity
from worker.rules import cluster as cluster_rules
from worker.rules import lifecycle, muting, noise, storms
from worker.rules.evaluate import evaluate
from worker.state.store import Commit, Store


@dataclass
class ScanResult:
    cluster: str
    outcome: str  # ok | unreachable | credentials_rejected | config_error
    sample: ClusterSample | None = None
    findings: list[Finding] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)  # notification ids queued
    error: str = ""


def collect_options(cfg: settings.Settings) -> reader.CollectOptions:
    c = cfg.collect
    return reader.CollectOptions(
        page_size=c.page_size,
        request_timeout=c.request_timeout,
        disk_stats=c.disk_stats,
        disk_concurrency=c.disk_concurrency,
        top_pods=c.top_pods,
    )


def read(cfg: settings.Settings, spec: clusters.ClusterSpec, now: datetime) -> ClusterSample:
    api = clusters.api_client(spec, allow_exec=cfg.allow_exec_plugins)
    return reader.read_cluster(api, spec.name, now, collect_options(cfg))


def _notification(o: noise.Outgoing, now: float, node_group: str = "") -> Notification:
    f, kind, st = o.finding, o.kind, o.state
    started = st.fired_at or st.since
    # deterministic ids: two workers committing the same transition store (and send) it once
    nid = f"{f.fingerprint}-{int(started)}-{kind.value}"
    if kind in (NotificationKind.REPEAT, NotificationKind.ESCALATED, NotificationKind.FLAP_ENDED):
        nid += f"-{int(now)}"
    params = dict(f.params)
    params.setdefault("value", f.value)
    params.setdefault("threshold", f.threshold)
    if node_group:
        params["node_group"] = node_group  # routes may match on it
    if kind == NotificationKind.RESOLVED:
        params.setdefault("resolved_reason", o.reason)
    if kind in (NotificationKind.FLAPPING, NotificationKind.FLAP_ENDED):
        params["flap"] = o.reason
        params["now_firing"] = f.severity is not None
    severity = f.severity or st.sent_severity or st.severity
    return Notification(
        id=nid,
        kind=kind,
        cluster=f.cluster,
        node=f.node,
        rule=f.rule,
        severity=severity,
        summary=f.summary,
        params=params,
        started_at=started,
        created_at=now,
        fingerprint=f.fingerprint,
    )


def _group_storms(
    store: Store, cfg: settings.Settings, cluster: str, notes: list[Notification], now: float
) -> tuple[list[Notification], list[tuple[str, str]]]:
    """Storm handling (decided by ``storms.plan``): read which storms are on, apply the plan, and flush the
    group buffers of storms whose interval has ended."""
    active = store.storms_active(cluster, storms.rules_of(notes))
    p = storms.plan(notes, active, cfg.noise.storm_min, cfg.noise.group_interval)
    for rule in p.start:
        store.start_storm(cluster, rule, cfg.noise.group_interval)
    store.buffer_for_group(cluster, p.wait)
    flushed = store.take_group_buffers(cluster, skip_rules=active)
    out = [
        msg[0] if len(msg) == 1 else storms.grouped(cluster, msg[0].rule, list(msg), now)
        for msg in [*p.messages, *(tuple(members) for members in flushed.values())]
    ]
    return out, p.why


def _cluster_health(
    cfg: settings.Settings, store: Store, name: str, outcome: str, error: str
) -> list[Finding]:
    """cluster_unreachable / credentials_rejected after N consecutive failures; inactive when the scan works."""
    rules = ("cluster_unreachable", "credentials_rejected")
    if outcome == "ok":
        store.clear_failures(name)
        return [Finding(name, "", r, None, summary=f"cluster {name} answers") for r in rules]
    failures = store.add_failure(name)
    if failures < cfg.scan_failures_before_alert:
        return []
    active = "credentials_rejected" if outcome == "credentials_rejected" else "cluster_unreachable"
    return [
        Finding(
            name,
            "",
            r,
            Severity.CRITICAL if r == active else None,
            value=float(failures),
            summary=f"cluster {name}: {error} ({failures} consecutive failed scans)",
            params={"reason": error, "failures": failures},
        )
        for r in rules
    ]


def advance(
    store: Store,
    cfg: settings.Settings,
    cluster: str,
    prev: dict[str, lifecycle.AlertState],
    findings: list[Finding],
    sample: ClusterSample | None,
    now: float,
    removed_reason: str = "",
    cluster_labels: Mapping[str, str] | None = None,
) -> list[str]:
    """Run the findings through the noise path and commit; returns the notification ids to send.

    ``sample`` None means the scan failed: node alerts then stay as they are (an unreachable cluster must not
    produce a false "all resolved"), and only the cluster-health findings advance.
    """
    fps = [
        f.fingerprint for f in findings if f.fingerprint in prev and prev[f.fingerprint].status == "firing"
    ]
    spec_labels = dict(cluster_labels or {})
    ctx = noise.Context(
        now=now,
        cooldowns=frozenset(store.cooldowns(cluster, fps)),
        flaps=store.load_flaps(cluster),
        silences=store.silences(now),
        maintenance=muting.in_maintenance(cfg.maintenance_windows(cluster), now),
        inhibit=cfg.noise.inhibit_rules(),
        labels={n.name: {**spec_labels, **n.labels} for n in sample.nodes} if sample else {},
        node_names=frozenset(n.name for n in sample.nodes) if sample else None,
        flap_policy=cfg.noise.flap_policy(),
        send_resolved=cfg.notify.send_resolved,
        removed_reason=removed_reason,
        keep_firing_for=cfg.noise.keep_firing_for,
    )
    p = noise.plan(cluster, prev, findings, ctx)
    groups = {n.name: cfg.node_group_of(cluster, n.labels) for n in sample.nodes} if sample else {}
    notes, why = _group_storms(
        store, cfg, cluster, [_notification(o, now, groups.get(o.finding.node, "")) for o in p.outgoing], now
    )
    commit = Commit(
        repeat_s=cfg.repeat_interval,
        upsert=p.upsert,
        delete=p.delete,
        flaps=p.flaps,
        notifications=notes,
        cooldown_start=p.cooldown_start,
        cooldown_clear=p.cooldown_clear,
        why=p.why + why,
    )
    return store.commit(cluster, commit)


def run_scan(store: Store, cfg: settings.Settings, spec: clusters.ClusterSpec, now: float) -> ScanResult:
    """One scan of one cluster, end to end but without Celery: the task below and the replay both call it."""
    now_dt = datetime.fromtimestamp(now, UTC)
    result = ScanResult(spec.name, "ok")
    prev = store.load_alerts(spec.name)
    try:
        sample = read(cfg, spec, now_dt)
    except clusters.ClusterConfigError as err:
        result.outcome, result.error = "config_error", str(err)
    except collect_errors.CredentialsRejected as err:
        result.outcome, result.error = "credentials_rejected", f"credentials rejected: {err}"
    except collect_errors.ClusterUnreachable as err:
        result.outcome, result.error = "unreachable", f"unreachable: {err}"
    else:
        result.sample = sample
        # pending alerts too: a dip inside the hysteresis band must not restart a for-duration
        firing = {fp: st.severity for fp, st in prev.items()}
        previous, last_ready = store.load_inventory(spec.name)
        result.findings = evaluate(
            sample,
            lambda n: cfg.thresholds_for(spec.name, n.labels, spec.threshold_profile),
            firing,
            now_dt,
            previous=previous,
            last_ready=last_ready,
        )
        store.save_inventory(sample, cluster_rules.update_last_ready(last_ready or {}, sample))
    health = _cluster_health(cfg, store, spec.name, result.outcome, result.error)
    result.sent = advance(
        store, cfg, spec.name, prev, result.findings + health, result.sample, now, cluster_labels=spec.labels
    )
    return result
