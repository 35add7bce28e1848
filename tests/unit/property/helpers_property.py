"""Strategies shared by the property tests of outside input: JSON-ish values, and real documents mutated at a few
random places (a value replaced, a key dropped, a key added)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "k8s-samples"

# modest example counts keep the suite fast; no example database written into the work tree
PROPERTY = settings(
    max_examples=200, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)

# what a JSON parser can hand back (no NaN or infinities: they are not JSON; numbers past a float are tried
# separately, as raw text)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=24)
    # strings that look like what Kubernetes puts in these fields, so the parsers get past their first check
    | st.sampled_from(["", "0", "1", "100m", "16Gi", "1.5", "1e3", "NaN", "Infinity", "-1", "1n", "²n", "Ki"])
    | st.from_regex(
        r"[-+]?[0-9]{0,4}(\.[0-9]{0,3})?([eE][-+]?[0-9]{1,3})?(m|n|u|k|M|G|Ki|Mi|Gi|Ei)?", fullmatch=True
    )
)
json_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
# Kubernetes-ish keys, so a generated document names the fields the readers look at
K8S_KEYS = [
    "kind", "apiVersion", "metadata", "items", "name", "namespace", "labels", "spec", "status", "continue",
    "capacity", "allocatable", "cpu", "memory", "pods", "ephemeral-storage", "conditions", "type", "taints",
    "key", "effect", "usage", "timestamp", "window", "containers", "initContainers", "resources", "requests",
    "limits", "nodeName", "phase", "node", "fs", "runtime", "imageFs", "capacityBytes", "usedBytes",
    "availableBytes", "podRef", "workingSetBytes", "usageNanoCores", "involvedObject", "reason", "source",
    "host", "lastTimestamp", "overhead", "restartPolicy", "unschedulable", "creationTimestamp",
]  # fmt: skip
k8s_values = st.recursive(
    json_scalars,
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.sampled_from(K8S_KEYS) | st.text(max_size=6), children, max_size=5)
    ),
    max_leaves=20,
)
k8s_documents = st.dictionaries(st.sampled_from(K8S_KEYS) | st.text(max_size=6), k8s_values, max_size=6)


def load(name: str) -> Any:
    text = (SAMPLES / name).read_text()
    return yaml.safe_load(text) if name.endswith(".yaml") else json.loads(text)


def samples(prefix: str) -> list[str]:
    return sorted(p.name for p in SAMPLES.iterdir() if p.name.startswith(prefix))


def paths(doc: Any, at: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place inside ``doc`` (dict keys and list indexes), parents before children."""
    out = [at] if at else []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out += paths(v, (*at, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out += paths(v, (*at, i))
    return out


def _parent(doc: Any, path: tuple[Any, ...]) -> Any:
    for step in path[:-1]:
        doc = doc[step]
    return doc


@st.composite
def mutated(draw: st.DrawFn, doc: Any, max_changes: int = 3) -> Any:
    """``doc`` (deep-copied) with 1..max_changes places replaced by any JSON value, dropped, or given an extra
    key."""
    out = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, max_changes))):
        places = paths(out)
        if not places:
            break
        path = draw(st.sampled_from(places))
        parent = _parent(out, path)
        action = draw(st.sampled_from(["replace", "replace", "drop", "add"]))
        if action == "replace" or (action == "drop" and isinstance(parent, list)):
            parent[path[-1]] = draw(k8s_values)
        elif action == "drop":
            del parent[path[-1]]
        elif isinstance(parent[path[-1]], dict):
            parent[path[-1]][draw(st.sampled_from(K8S_KEYS) | st.text(max_size=6))] = draw(k8s_values)
        else:
            parent[path[-1]] = draw(k8s_values)
    return out


QUANTITY_KEYS = frozenset({"cpu", "memory", "pods", "ephemeral-storage"})
odd_quantities = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "sNaN",
        "1e999999",
        "1E1000000",
        "²n",
        "١",
        "",
        "lots",
        "1.5.5",
        "1Ki1",
        "-1",
    ]
)


@st.composite
def bad_quantity(draw: st.DrawFn, doc: Any) -> Any:
    """``doc`` (deep-copied) with one of its quantities (a cpu, memory, pods or ephemeral-storage value) replaced
    by any JSON scalar: where real answers go wrong most ("NaN", "1e999999", "²n", a list)."""
    out = copy.deepcopy(doc)
    places = [p for p in paths(out) if p[-1] in QUANTITY_KEYS]
    if places:
        path = draw(st.sampled_from(places))
        _parent(out, path)[path[-1]] = draw(
            odd_quantities | json_scalars | st.lists(json_scalars, max_size=2)
        )
    return out


def raw(doc: Any) -> bytes:
    return json.dumps(doc).encode()
