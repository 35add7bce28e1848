"""``nodewatch history CLUSTER NODE``: a node's recent history per metric, as the workers' scans recorded it
(worker/state/history.py), over the workers' Redis.

The table draws each metric as a unicode sparkline (``▁▂▃▄▅▆▇█``, scaled from the series' min to its max) with
min, max, last and the warning/critical lines the config gives that node (``Settings.thresholds_for``: the node's
labels from the last scan's inventory, the cluster's threshold profile). Scan samples cover the last 6 h; further
back (``--since`` over 6 h) the 5-minute means fill in before the first scan sample. ``-o json|yaml``: the raw
series, times in epoch seconds. Exit 1 with one line when the cluster or the node has no history.

Below the table, for each metric the kubelet can run out of, the prediction as the scans make it
(worker/predict over the whole 7 days kept, whatever ``--since`` shows): the line (the one the scans last used,
from the kubelet's configz when they read it, else its defaults), the ETA with its interval, when, the rate, the
confidence and the severity it would page with — or why there is none.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from typing import Any

from worker import clusters, settings
from worker.cli import common, durations
from worker.model import Finding, fingerprint
from worker.model.history import METRICS, Series
from worker.model.thresholds import Thresholds
from worker.notify.templates import FILTERS
from worker.predict import decide, findings, kubelet, trend
from worker.state import predictions
from worker.state.history_codec import BUCKET_S

BARS = "▁▂▃▄▅▆▇█"
WIDTH = 60  # sparkline characters at most
# a metric's warning/critical lines in Thresholds (requests alert on headroom in typical pods, not a percentage)
LINES = {
    "cpu": ("cpu_warning", "cpu_critical"),
    "memory": ("memory_warning", "memory_critical"),
    "nodefs": ("nodefs_warning", "nodefs_critical"),
    "imagefs": ("imagefs_warning", "imagefs_critical"),
    "inodes": ("inodes_warning", "inodes_critical"),
    "pods": ("pods_warning", "pods_critical"),
}


def points(series: Series) -> list[tuple[float, float]]:
    """(t, percent) oldest first: scan samples, and before the first of them the means of the 5-minute buckets
    that ended by then (a bucket is dated at its middle)."""
    first = series.fine[0][0] if series.fine else float("inf")
    older = [(t, mean) for t, mean, _max in series.coarse if t + BUCKET_S / 2 <= first]
    return older + list(series.fine)


def sparkline(values: Sequence[float], width: int = WIDTH) -> str:
    """``values`` in at most ``width`` bars (each the mean of its share), scaled from their min to their max."""
    if not values:
        return ""
    if len(values) > width:
        step = len(values) / width
        values = [
            sum(chunk) / len(chunk)
            for i in range(width)
            if (chunk := values[round(i * step) : round((i + 1) * step)])
        ]
    lo, hi = min(values), max(values)
    if hi - lo < 1e-9:
        return BARS[0] * len(values)
    top = len(BARS) - 1
    return "".join(BARS[round((v - lo) / (hi - lo) * top)] for v in values)


def thresholds(cfg: settings.Settings, stores: Any, cluster: str, node: str) -> Thresholds:
    """The node's thresholds: its labels from the last scan's inventory (none if it is gone), its cluster's
    threshold profile (none if the cluster sources cannot be read)."""
    nodes, _ = stores.inventory.load(cluster)
    labels = nodes[node].labels if nodes and node in nodes else {}
    try:
        spec = clusters.find(cfg, cluster)
    except clusters.ClusterSourceError:
        spec = None
    return cfg.thresholds_for(cluster, labels, spec.threshold_profile if spec else None)


def span(seconds: float) -> str:
    """``seconds`` in the flags' grammar: 6h, 1h30m, 2d."""
    out, left = "", round(seconds)
    for unit, size in durations.SECONDS.items():
        if left >= size:
            out += f"{left // int(size)}{unit}"
            left %= int(size)
    return out or "0s"


def predict(
    stores: Any, cluster: str, node: str, metric: str, t: Thresholds, now: float, seen: dict[str, Any]
) -> dict[str, Any] | None:
    """The prediction of one metric as the scans would make it now (None: the kubelet cannot run out of it).
    ``seen``: the scans' last predictions and open alerts of the cluster, read once."""
    if metric not in findings.RULES:
        return None
    if not seen:
        seen.update(memory=stores.predictions.load(cluster), alerts=stores.alerts.load(cluster))
    raw = seen["memory"].get(predictions.field_of(node, metric))
    cached = findings.decode(cluster, node, metric, raw) if raw else None
    last: Finding | None = cached.finding if cached else None
    limit = kubelet.limit(metric)
    source = "kubelet defaults"
    if last is not None and last.threshold is not None:  # the line the scans used (maybe the node's configz)
        limit = kubelet.Limit(last.threshold, str(last.params.get("signal", "")))
        source = str(last.params.get("limit_source", source))
    out: dict[str, Any] = {"rule": findings.RULES[metric], "limit_source": source}
    if limit is None:
        out.update(
            refusal=trend.NO_LIMIT,
            reason="memory's line needs the node's capacity: shown once a scan predicted it",
        )
        return out
    out.update(limit=limit.line, signal=limit.signal)
    series = stores.history.series(cluster, node, metric, now - trend.PARAMS.lookback_s)
    outcome = trend.predict(series, limit, now)
    alert = seen["alerts"].get(fingerprint(cluster, node, findings.RULES[metric]))
    previous = alert.severity if alert else None
    decision = decide.decide(outcome, findings.horizons(t), previous, now, findings.hold_until(last))
    out["severity"] = decision.severity.label if decision.severity else None
    out["decision"] = decision.reason
    if isinstance(outcome, trend.Prediction):
        out.update(
            eta_s=outcome.eta_s, eta_low_s=outcome.eta_low_s, eta_high_s=outcome.eta_high_s,
            eta_at=now + outcome.eta_s, confidence=outcome.confidence, rate_pct_h=outcome.rate_per_h,
            level=outcome.level, model=outcome.model, reason=outcome.reason,
        )  # fmt: skip
    else:
        out.update(refusal=outcome.code, reason=outcome.reason)
    if not t.predict:
        out["severity"], out["decision"] = None, "prediction switched off for this node"
    return out


def said(p: dict[str, Any]) -> str:
    """One line of a prediction for the table's footer."""
    line = f"line {p['limit']:.1f}% ({p['signal']}, {p['limit_source']})" if "limit" in p else "no line"
    if "eta_s" in p:
        d = FILTERS["duration"]
        when = (
            f"~{d(p['eta_s'])} ({d(p['eta_low_s'])}–{d(p['eta_high_s'])}, by {FILTERS['clock'](p['eta_at'])}), "
            f"{p['rate_pct_h']:+.2f} pt/h, {p['confidence']:.0%} sure"
        )
        return f"{line}: {when} -> {p['severity'] or 'no alert'} ({p['decision']})"
    return f"{line}: no prediction, {p['refusal']}: {p['reason']}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:.1f}%"


def cmd_history(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    stores = common.stores()
    cluster, node = args.cluster, args.node
    since = time.time() - args.since
    metrics = [args.metric] if args.metric else list(METRICS)
    got = {m: stores.history.series(cluster, node, m, since) for m in metrics}
    if not any(s.fine or s.coarse for s in got.values()):
        known = stores.history.nodes(cluster)
        if not known:
            return common.fail(
                f"no history of cluster {cluster!r} (scanned by the workers? named as configured?)"
            )
        if node not in known:
            listed = ", ".join(known[:5]) + (f" (+{len(known) - 5} more)" if len(known) > 5 else "")
            return common.fail(
                f"no history of node {node!r} in cluster {cluster!r}; nodes with history: {listed}"
            )
        return common.fail(
            f"no history of node {node!r} in cluster {cluster!r} in the last {span(args.since)}"
            + (f" for {args.metric}" if args.metric else "")
        )
    limits = thresholds(cfg, stores, cluster, node)
    rows: dict[str, dict[str, Any]] = {}
    now = time.time()
    seen: dict[str, Any] = {}
    for m, s in got.items():
        warn, crit = (getattr(limits, name) for name in LINES[m]) if m in LINES else (None, None)
        rows[m] = {
            "warning": warn,
            "critical": crit,
            "prediction": predict(stores, cluster, node, m, limits, now, seen),
            "fine": [[t, v] for t, v in s.fine],
            "coarse": [[t, mean, top] for t, mean, top in s.coarse],
        }
    doc = {"cluster": cluster, "node": node, "since": since, "unit": "percent", "metrics": rows}
    if common.emit(args, doc):
        return common.EXIT_OK
    print(f"{cluster}/{node}, last {span(args.since)} (scan samples; 5-minute means before them)")
    table_rows = []
    for m, s in got.items():
        values = [v for _t, v in points(s)]
        warn, crit = rows[m]["warning"], rows[m]["critical"]
        if not values:
            table_rows.append([m, "(no data)", "-", "-", "-", _pct(warn), _pct(crit)])
            continue
        line = sparkline(values)
        table_rows.append(
            [m, line, _pct(min(values)), _pct(max(values)), _pct(values[-1]), _pct(warn), _pct(crit)]
        )
    common.table(["METRIC", "HISTORY", "MIN", "MAX", "LAST", "WARN", "CRIT"], table_rows)
    predicted = [(m, row["prediction"]) for m, row in rows.items() if row["prediction"] is not None]
    if predicted:
        print("\ntime to the kubelet's line (as the scans predict it):")
        for m, p in predicted:
            print(f"  {m:<8} {said(p)}")
    return common.EXIT_OK


def add_parsers(sub: Any, common_args: argparse.ArgumentParser) -> None:
    h = sub.add_parser(
        "history", parents=[common_args], help="a node's recent history per metric: sparkline, min/max/last"
    )
    h.add_argument("cluster", help="cluster name, as configured")
    h.add_argument("node", help="node name")
    h.add_argument("--metric", choices=METRICS, help="one metric (default: all)")
    h.add_argument(
        "--since",
        type=durations.flag(),
        default=6 * 3600.0,
        help="how far back, e.g. 30m, 6h, 2d (default 6h)",
    )
    common.add_output(h)
    h.set_defaults(func=cmd_history)
