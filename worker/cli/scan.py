"""``nodewatch scan``: read each configured cluster (or one) and judge it with the worker's own code; no Redis.

The reads and the rules are the worker's (``pipeline.read``, then ``evaluate`` with the cluster's thresholds and
profile, as ``pipeline.run_scan`` does), so what ``scan`` shows is what a worker would find now — before the
for-durations, cooldowns and silences that decide what is sent. Nothing is written anywhere.

Exit: 1 when any finding is critical, else 2 when a cluster's kubeconfig is refused or missing, else 3 when a
cluster cannot be read (unreachable, credentials rejected, out of time), else 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker import clusters, pipeline, settings
from worker.cli import common
from worker.clusters import kubeconfig
from worker.collect import errors as collect_errors
from worker.model import ClusterSample, Finding, Severity
from worker.rules.evaluate import evaluate

PARALLEL = 8  # clusters read at once: reads wait on the network, not on this machine


@dataclass
class Scanned:
    spec: clusters.ClusterSpec
    sample: ClusterSample | None = None
    findings: list[Finding] = field(default_factory=list)
    error: str = ""
    code: int = common.EXIT_OK

    @property
    def critical(self) -> bool:
        return any(f.severity == Severity.CRITICAL for f in self.findings)


def _adhoc_name(path: str, context: str | None) -> str:
    """An ad-hoc kubeconfig's cluster is called what kubectl calls it, the context it uses; else its file."""
    try:
        data = kubeconfig.parse("scan", kubeconfig.read_file("scan", path))
    except clusters.ClusterConfigError:
        data = {}  # the scan's own read fails next, with the reason
    return kubeconfig.active(data, context)[0] or Path(path).stem


def targets(cfg: settings.Settings, args: argparse.Namespace) -> list[clusters.ClusterSpec]:
    if args.kubeconfig:
        if args.cluster:
            raise common.CliError("give --cluster NAME or --kubeconfig FILE, not both", common.EXIT_CONFIG)
        # the operator's own kubeconfig, read as kubectl reads it (credential files included)
        name = args.name or _adhoc_name(args.kubeconfig, args.context)
        return [
            clusters.ClusterSpec(
                name,
                cfg.check_interval,
                args.kubeconfig,
                args.context,
                source="cli",
                origin=args.kubeconfig,
                local_files=True,
                scan_budget=cfg.cluster_budget(),
            )
        ]
    if args.name:
        raise common.CliError("--name names the cluster of --kubeconfig FILE", common.EXIT_CONFIG)
    reg = common.registry(cfg)
    for problem in reg.problems:
        print(f"nodewatch: skipped: {problem}", file=sys.stderr)
    if not args.cluster:
        if args.context:
            raise common.CliError("--context needs --cluster NAME or --kubeconfig FILE", common.EXIT_CONFIG)
        return reg.specs
    spec = reg.by_name().get(args.cluster)
    if spec is None:
        known = ", ".join(s.name for s in reg.specs) or "none"
        raise common.CliError(f"no cluster named {args.cluster} (configured: {known})", common.EXIT_CONFIG)
    return [dataclasses.replace(spec, context=args.context) if args.context else spec]


def scan_one(cfg: settings.Settings, spec: clusters.ClusterSpec, now: datetime) -> Scanned:
    try:
        sample = pipeline.read(cfg, spec, now)
    except clusters.ClusterConfigError as err:
        return Scanned(spec, error=str(err), code=common.EXIT_CONFIG)
    except collect_errors.CollectError as err:
        return Scanned(spec, error=f"scan of {spec.name} failed: {err}", code=common.EXIT_UNAVAILABLE)
    findings = evaluate(
        sample, lambda n: cfg.thresholds_for(spec.name, n.labels, spec.threshold_profile), {}, now
    )
    return Scanned(spec, sample, findings)


def exit_code(results: list[Scanned]) -> int:
    if any(r.critical for r in results):
        return common.EXIT_FAIL
    codes = {r.code for r in results}
    return next((c for c in (common.EXIT_CONFIG, common.EXIT_UNAVAILABLE) if c in codes), common.EXIT_OK)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 1)


def _finding(f: Finding) -> dict[str, Any]:
    return {"rule": f.rule, "severity": f.severity.label if f.severity else None, "summary": f.summary}


def node_rows(sample: ClusterSample, findings: list[Finding]) -> list[dict[str, Any]]:
    by_node: dict[str, list[Finding]] = {}
    for f in findings:
        if f.severity is not None:
            by_node.setdefault(f.node, []).append(f)
    rows = []
    for n in sample.nodes:
        alloc, req = n.allocatable, n.requests
        nodefs = n.disk.nodefs if n.disk else None
        imagefs = n.disk.imagefs if n.disk else None
        rows.append(
            {
                "node": n.name,
                "ready": n.ready,
                "unschedulable": n.unschedulable,
                "cpu_pct": _round(n.cpu_pct),
                "memory_pct": _round(n.memory_pct),
                "usage_unavailable": n.usage_unavailable or None,
                "pods": n.pod_count,
                "pods_allocatable": alloc.pods,
                "pods_pct": _round(n.pods_pct),
                "cpu_requests_pct": _round(n.pct(req.cpu_m, alloc.cpu_m)),
                "memory_requests_pct": _round(n.pct(req.memory, alloc.memory)),
                "cpu_limits_pct": _round(n.pct(n.limits.cpu_m, alloc.cpu_m)),
                "memory_limits_pct": _round(n.pct(n.limits.memory, alloc.memory)),
                "nodefs_pct": _round(nodefs.used_pct) if nodefs else None,
                "nodefs_inodes_pct": _round(nodefs.inodes_used_pct) if nodefs else None,
                "imagefs_pct": _round(imagefs.used_pct) if imagefs else None,
                "disk_unavailable": n.disk_unavailable or None,
                "findings": [_finding(f) for f in by_node.get(n.name, [])],
            }
        )
    return rows


def document(r: Scanned, now: datetime) -> dict[str, Any]:
    doc: dict[str, Any] = {"cluster": r.spec.name, "source": r.spec.source, "taken_at": now.isoformat()}
    if r.sample is None:
        return doc | {"error": r.error}
    return doc | {
        "nodes": node_rows(r.sample, r.findings),
        "cluster_findings": [_finding(f) for f in r.findings if f.node == "" and f.severity is not None],
        # listed by the API server but not readable (an unparsable field): no figures, a node_unreadable finding
        "unreadable_nodes": [
            {"node": name, "findings": [_finding(f) for f in r.findings if f.node == name and f.severity]}
            for name in sorted(r.sample.unreadable)
        ],
        "pending_pods": len(r.sample.pending_pods),
        "warnings": list(r.sample.warnings),
        "skipped": list(r.sample.skipped),
    }


COLUMNS = {
    "node": "NODE",
    "ready": "READY",
    "cpu_pct": "CPU%",
    "memory_pct": "MEM%",
    "pods": "PODS",
    "cpu_requests_pct": "CPU-REQ%",
    "memory_requests_pct": "MEM-REQ%",
    "nodefs_pct": "DISK%",
}


WIDE = {
    "pods_pct": "PODS%",
    "cpu_limits_pct": "CPU-LIM%",
    "memory_limits_pct": "MEM-LIM%",
    "nodefs_inodes_pct": "INODES%",
    "imagefs_pct": "IMAGEFS%",
}


def print_table(doc: dict[str, Any], wide: bool = False) -> None:
    rows = doc["nodes"]
    unreadable = f", {len(doc['unreadable_nodes'])} unreadable" if doc["unreadable_nodes"] else ""
    print(f"cluster {doc['cluster']} ({doc['source']}): {len(rows)} node(s){unreadable}")
    columns = COLUMNS | WIDE if wide else COLUMNS
    common.table(
        list(columns.values()), [["-" if row[c] is None else str(row[c]) for c in columns] for row in rows]
    )
    for row in rows:
        for f in row["findings"]:
            print(f"  {f['severity']:<8} {row['node']}: {f['summary']}")
    for row in doc["unreadable_nodes"]:
        for f in row["findings"]:
            print(f"  {f['severity']:<8} {row['node']}: {f['summary']}")
    for f in doc["cluster_findings"]:
        print(f"  {f['severity']:<8} (cluster): {f['summary']}")
    for w in doc["warnings"]:
        print(f"  note: {w}")
    reasons: dict[str, int] = {}
    for row in rows:
        if row["disk_unavailable"]:
            reasons[row["disk_unavailable"]] = reasons.get(row["disk_unavailable"], 0) + 1
    for reason, count in reasons.items():
        hint = "; try --disk" if "diskStats" in reason else ""
        print(f"  note: disk figures unavailable on {count} node(s): {reason}{hint}")


def cmd_scan(args: argparse.Namespace) -> int:
    cfg = common.load_config(args)
    if args.disk:
        cfg = cfg.model_copy(update={"collect": cfg.collect.model_copy(update={"disk_stats": True})})
    specs = targets(cfg, args)
    now = datetime.now(UTC)
    with ThreadPoolExecutor(max(1, min(PARALLEL, len(specs)))) as pool:
        results = list(pool.map(lambda spec: scan_one(cfg, spec, now), specs))
    for r in results:
        if r.error:
            print(f"nodewatch: {r.error}", file=sys.stderr)
    docs = [document(r, now) for r in results]
    one = bool(args.kubeconfig or args.cluster)
    if one and results[0].sample is None:
        return results[0].code
    if not common.emit(args, docs[0] if one else {"clusters": docs}):
        for i, doc in enumerate(d for d in docs if "nodes" in d):
            if i:
                print()
            print_table(doc, common.wide(args))
    return exit_code(results)


def add_parsers(sub: Any, common_args: argparse.ArgumentParser) -> None:
    sc = sub.add_parser(
        "scan",
        parents=[common_args],
        help="read every configured cluster (or one) once and show figures and findings; exit 1 on critical",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sc.add_argument("--cluster", help="only this configured cluster")
    sc.add_argument(
        "--kubeconfig", help="scan the cluster of this kubeconfig file instead (read like kubectl)"
    )
    sc.add_argument("--context", help="the kubeconfig context to use")
    sc.add_argument("--name", help="the --kubeconfig cluster's name (default: its context's name)")
    sc.add_argument("--once", action="store_true", help="scan once and exit (the only mode)")
    sc.add_argument("--disk", action="store_true", help="read disk figures (needs RBAC nodes/proxy)")
    common.add_output(sc)
    sc.set_defaults(func=cmd_scan)
