"""Scenario files: YAML describing clusters, node groups and timelines; also the generated "fleet" shape."""

from __future__ import annotations

import copy
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

SCENARIOS_DIR = Path(__file__).parent / "scenarios"


def load(path: str | Path) -> dict[str, Any]:
    """Read a scenario; a bare name such as "demo" means kubesim/scenarios/demo.yaml."""
    p = Path(path)
    if not p.exists() and (SCENARIOS_DIR / f"{path}.yaml").exists():
        p = SCENARIOS_DIR / f"{path}.yaml"
    with open(p, encoding="utf-8") as handle:
        data = yaml.safe_load(handle) or {}
    return normalise(data)


def fleet(clusters: int, nodes: int, pods_per_node: int, prefix: str = "sim", provider: str = "gke",
          noise: float = 0.03) -> dict[str, Any]:  # fmt: skip
    """Many clusters of calm nodes: the shape of CLI runs without --scenario and of benchmarks."""
    return normalise(
        {
            "fleet": {
                "clusters": clusters,
                "prefix": prefix,
                "template": {
                    "provider": provider,
                    "node_groups": [
                        {
                            "name": "pool",
                            "count": nodes,
                            "pods_per_node": pods_per_node,
                            "usage": {
                                "cpu": {"daily": {"mean": 0.35, "amplitude": 0.15}},
                                "memory": 0.45,
                                "disk": 0.4,
                                "noise": noise,
                            },  # fmt: skip
                        }
                    ],
                },
            }
        }
    )


def normalise(data: dict[str, Any]) -> dict[str, Any]:
    """Expand `fleet:` into clusters and check the top-level shape."""
    out: dict[str, Any] = {"seed": data.get("seed", 1), "start": data.get("start"), "clusters": []}
    if "speed" in data:  # the clock's pace for watching (scenario s per real s); --speed overrides it
        out["speed"] = float(data["speed"])
    for cluster in data.get("clusters", []) or []:
        if "name" not in cluster:
            raise ValueError("every cluster needs a name")
        out["clusters"].append(cluster)
    f = data.get("fleet")
    if f:
        template = f.get("template", {})
        width = len(str(int(f["clusters"])))
        for i in range(int(f["clusters"])):
            c = copy.deepcopy(template)
            c["name"] = f"{f.get('prefix', 'sim')}-{i + 1:0{width}d}"
            out["clusters"].append(c)
    names = [c["name"] for c in out["clusters"]]
    if len(set(names)) != len(names):
        raise ValueError("cluster names must be unique")
    if not names:
        raise ValueError("a scenario needs at least one cluster (clusters: or fleet:)")
    return out


def start_epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def trace_ends(data: dict[str, Any]) -> list[tuple[float, str]]:
    """(scenario second, what) at which each trace of a scenario runs out of recording, earliest first.

    Traces that say ``loop: true`` never end. Whoever runs a scenario for a set time (``nodewatch replay``) checks
    it first, so a replay too long for its traces fails at start with the trace named instead of mid-run.
    """
    from kubesim import curves

    out: list[tuple[float, str]] = []

    def walk(node: Any, at: float, where: str) -> None:
        if isinstance(node, dict):
            if "at" in node:
                at = curves.seconds(node["at"])
            spec = node.get("trace")
            if isinstance(spec, dict) and "file" in spec:
                trace, offset = curves.trace_of(spec, str(spec.get("column", "cpu")))
                if not trace.loop:
                    out.append(
                        (at + trace.remaining(offset), f"{where}: trace {trace.name} from row {offset}")
                    )
                return
            for key, value in node.items():
                walk(value, at, f"{where}.{key}" if where else str(key))
        elif isinstance(node, list):
            for i, value in enumerate(node):
                label = value.get("name") or value.get("node") if isinstance(value, dict) else None
                walk(value, at, f"{where}[{label or i}]")

    walk(data.get("clusters", []), 0.0, "clusters")
    return sorted(out)
