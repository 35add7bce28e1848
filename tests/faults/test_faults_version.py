"""`nodewatch cluster test` against API servers whose /version is not what the client's models expect.

A real `nodewatch` process and a stand-in API server on this machine: an answer without ``platform`` (or any other
field) still gives the version, a non-JSON answer a clear FAIL line; never a traceback.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import NODEWATCH, ROOT
from tests.faults.recording_server import Answer, RecordingServer, json_answer

SSAR = {
    "apiVersion": "authorization.k8s.io/v1",
    "kind": "SelfSubjectAccessReview",
    "spec": {"resourceAttributes": {"verb": "list", "resource": "nodes"}},
    "status": {"allowed": True},
}


def api_server(version: Answer) -> Callable[[str, str], Answer | None]:
    def answer(method: str, path: str) -> Answer | None:
        if method == "GET" and path.rstrip("/") == "/version":
            return version
        if method == "POST" and path.startswith("/apis/authorization.k8s.io/v1/selfsubjectaccessreviews"):
            return json_answer(SSAR, 201)
        return None

    return answer


def kubeconfig_for(server: str, path: Path) -> Path:
    doc: dict[str, Any] = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": server}}],
        "users": [{"name": "u", "user": {"token": "standin-token"}}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def cluster_test(kubeconfig: Path, config: Path) -> tuple[int, str]:
    proc = subprocess.run(
        [NODEWATCH, "cluster", "test", "standin", "--kubeconfig", str(kubeconfig), "--config", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    return proc.returncode, proc.stdout + proc.stderr


@pytest.mark.parametrize(
    ("version", "code", "line"),
    [
        (
            json_answer({"major": "1", "minor": "30", "gitVersion": "v1.30.0"}),
            0,
            "ok    reachable: API server v1.30.0",
        ),
        (json_answer({"major": "1", "minor": "28"}), 0, "ok    reachable: API server v1.28"),
        (json_answer({}), 0, "ok    reachable: API server (version not given)"),
        (
            (200, "text/html", b"<html>login</html>"),
            1,
            "FAIL  reachable: /version did not answer Kubernetes version JSON",
        ),
    ],
    ids=["no-platform", "major-minor-only", "empty-object", "html"],
)
def test_cluster_test_survives_a_version_answer_without_platform(
    version: Answer, code: int, line: str, tmp_path: Path, write_config: Callable[..., Path]
) -> None:
    cfg = write_config({"collect": {"requestTimeout": 5}})
    with RecordingServer(api_server(version)) as srv:
        got, out = cluster_test(kubeconfig_for(srv.url, tmp_path / "kc.yaml"), cfg)
        assert any(r.path.rstrip("/") == "/version" for r in srv.requests)
    assert got == code, out
    assert line in out and "Traceback" not in out and "ValidationError" not in out, out
    if code == 0:
        assert "=> scans will work" in out
