"""Writes one kubeconfig per simulated cluster: server URL with the cluster's path prefix, token, CA."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import yaml


def write(path: Path, cluster: str, server: str, token: str, ca_pem: bytes | None) -> Path:
    entry: dict[str, object] = {"server": server}
    if ca_pem is not None:
        entry["certificate-authority-data"] = base64.b64encode(ca_pem).decode()
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": entry}],
        "users": [{"name": f"{cluster}-nodewatch", "user": {"token": token}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": f"{cluster}-nodewatch"}}],
        "current-context": cluster,
        "preferences": {},
    }
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        yaml.safe_dump(doc, handle, sort_keys=False)
    return path
