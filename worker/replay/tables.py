"""The replay's figures as text: one Markdown table of every policy side by side, and what drives the figures."""

from __future__ import annotations

from collections.abc import Sequence

from worker.replay import incidents
from worker.replay.engine import Report

SKETCH = "sketch"  # the seed sketch's policy (worker/replay/baseline.py), scored in every run

HEAD = (
    "| scenario | hours | machine-days | policy | incidents | paged | already open | missed | messages "
    "| per incident | per machine-day | episodes (noise) | median first page s: cpu/mem | NotReady | per episode "
    "| floor per machine-day |"
)


def _cell(v: object) -> str:
    return "-" if v is None else f"{v:g}" if isinstance(v, float) else str(v)


def row(r: Report, policy: str, f: incidents.Figures) -> str:
    by = f.median_delay_by_metric
    cells = [
        r.scenario, _cell(r.hours), f"{r.nodes * r.steps * r.interval / 86400:.1f}", policy, f.incidents,
        f.detected - f.already_open, f.already_open, f.missed, f.notifications,
        _cell(f.notifications_per_incident), _cell(f.per_machine_day),
        f"{len(f.episodes)} ({f.noise_episodes})", _cell(by.get("cpu/memory")), _cell(by.get("ready")),
        _cell(f.median_episode_delay_s), _cell(f.floor_per_machine_day),
    ]  # fmt: skip
    return "| " + " | ".join(str(c) for c in cells) + " |"


def table(runs: Sequence[tuple[str, Sequence[Report]]]) -> str:
    """``runs``: (policy name, its reports, one per scenario in the same order). Per scenario, one row per policy,
    then the sketch's row once (it sees the same samples in every run)."""
    lines = [HEAD, "|" + "---|" * (HEAD.count("|") - 1)]
    for i, first in enumerate(runs[0][1]):
        for name, reports in runs:
            lines.append(row(reports[i], name, reports[i].nodewatch))
        lines.append(row(first, SKETCH, first.baseline))
    return "\n".join(lines)


def details(r: Report, policy: str = "nodewatch") -> str:
    """What drives the figures: notifications by rule and kind, missed incidents, Redis memory."""
    lines = [
        f"{r.scenario} ({policy}): {r.hours:g} h simulated in {r.steps} scans of {len(r.clusters)} cluster(s), "
        f"up to {r.nodes} nodes, every {r.interval:g} s; {r.wall_s:.0f} s wall; Redis: {r.redis}"
    ]
    for name, f in ((policy, r.nodewatch), (SKETCH, r.baseline)):
        top = ", ".join(f"{k} {v}" for k, v in list(f.by_rule_kind.items())[:10]) or "none"
        lines.append(f"  {name} notifications by rule:kind: {top}")
        for inc in f.missed_incidents[:10]:
            lines.append(
                f"  {name} missed: {inc.cluster}/{inc.node} {inc.metric} at +{inc.start - r.t0:.0f} s "
                f"for {inc.duration:.0f} s"
            )
    for label, m in (("at peak", r.memory_peak), ("at end", r.memory)):
        fams = ", ".join(f"{k} {v['keys']}/{v['bytes']} B" for k, v in sorted(m.by_family.items()))
        lines.append(
            f"  redis {label} (+{m.at_s:.0f} s): {m.fingerprints} fingerprints with state, "
            f"{m.fingerprint_bytes} B = {m.bytes_per_fingerprint} B/fingerprint; per-cluster noise state "
            f"{m.cluster_bytes} B; keys/bytes by family: {fams}"
        )
    return "\n".join(lines)
