"""`cluster add|test` with kubeconfigs that name credential files or carry broken tokens (kubesim, real HTTP).

A kubeconfig from `cluster add` (Secret or clusters-dir file) may carry inline credentials only: a file path is
refused before anything is written. A config-file cluster may use files with ``allowLocalCredentialFiles: true``
(a token file's trailing newline trimmed, as kubectl does). Nothing printed holds a token or a file's content.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s_client

from kubesim.testing import KubesimProcess
from worker.clusters import kubeconfig

HUB, NS = "sim-1", "nodewatch"
SHADOW = "root:$6$c0ffee$notarealhashbutsecretenough:19000:0:99999:7:::"


@pytest.fixture(scope="module")
def sim() -> Iterator[KubesimProcess]:
    with KubesimProcess(clusters=2, nodes=1, pods_per_node=0, speed=0) as proc:
        yield proc


def sim_doc(sim: KubesimProcess, cluster: str = "sim-2") -> dict[str, Any]:
    return yaml.safe_load(sim.kubeconfigs[cluster].read_text())  # type: ignore[no-any-return]


def token_of(sim: KubesimProcess, cluster: str = "sim-2") -> str:
    return str(sim_doc(sim, cluster)["users"][0]["user"]["token"])


def reading_token_file(sim: KubesimProcess, tmp_path: Path, content: str, name: str) -> Path:
    """sim-2's kubeconfig (written as NAME.yaml) with its token moved to a file NAME-token holding ``content``."""
    token_file = tmp_path / f"{name}-token"
    token_file.write_text(content)
    doc = sim_doc(sim)
    doc["users"][0]["user"] = {"tokenFile": str(token_file)}
    out = tmp_path / f"{name}.yaml"
    out.write_text(yaml.safe_dump(doc))
    return out


def hub_secrets(sim: KubesimProcess) -> list[str]:
    api = kubeconfig.build("hub", sim.kubeconfigs[HUB].read_text(), None, False, cache_as="test-hub-reader")
    return [s.metadata.name for s in k8s_client.CoreV1Api(api).list_namespaced_secret(NS).items]


def test_add_refuses_a_credential_file_before_writing_anything(
    sim: KubesimProcess,
    run: Callable[..., tuple[int, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    kc = reading_token_file(sim, tmp_path, token_of(sim) + "\n", "evil")
    d = tmp_path / "clusters"
    cfg = write_config(
        {
            "clustersDir": str(d),
            "hub": {"kubeconfig": str(sim.kubeconfigs[HUB]), "namespace": NS},
            "allowLocalCredentialFiles": True,  # for `clusters:` only: never for what `cluster add` writes
        }
    )
    before = hub_secrets(sim)
    for target in ("secret", "directory"):
        code, out = run(
            "cluster", "add", "evil", "--kubeconfig", str(kc), "--to", target, "--config", str(cfg)
        )
        assert code == 2, out
        assert "cluster evil: kubeconfig user" in out and "sets tokenFile" in out and "refused" in out, out
        assert token_of(sim) not in out
    assert not d.exists() and hub_secrets(sim) == before
    ca = sim_doc(sim)
    ca["clusters"][0]["cluster"]["certificate-authority"] = "/etc/ssl/private/hub-ca.key"
    (tmp_path / "ca.yaml").write_text(yaml.safe_dump(ca))
    code, out = run("cluster", "add", "ca", "--kubeconfig", str(tmp_path / "ca.yaml"), "--to", "directory",
                    "--config", str(cfg))  # fmt: skip
    assert code == 2 and "kubeconfig cluster" in out and "sets certificate-authority" in out, out
    assert not d.exists()


def test_cluster_test_of_a_kubeconfig_file_refuses_what_add_would_refuse(
    sim: KubesimProcess,
    run: Callable[..., tuple[int, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    kc = reading_token_file(sim, tmp_path, token_of(sim) + "\n", "evil")
    cfg = write_config({"allowLocalCredentialFiles": True})
    code, out = run("cluster", "test", "evil", "--kubeconfig", str(kc), "--config", str(cfg))
    assert code == 2 and "FAIL  kubeconfig: kubeconfig user" in out and "sets tokenFile" in out, out
    assert token_of(sim) not in out


def test_a_config_file_cluster_may_use_a_token_file_only_when_allowed(
    sim: KubesimProcess,
    run: Callable[..., tuple[int, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    kc = reading_token_file(sim, tmp_path, token_of(sim) + "\n", "own")  # `echo > file` leaves a newline
    clusters_cfg = {"clusters": [{"name": "own", "kubeconfig": str(kc)}]}
    code, out = run("cluster", "test", "own", "--config", str(write_config(clusters_cfg, "strict.yaml")))
    assert (
        code == 2 and "FAIL  kubeconfig" in out and "tokenFile" in out and "allowLocalCredentialFiles" in out
    )
    allowed = write_config(clusters_cfg | {"allowLocalCredentialFiles": True}, "allowed.yaml")
    code, out = run("cluster", "test", "own", "--config", str(allowed))
    assert code == 0 and "ok    reachable: API server" in out and "=> scans will work" in out, out
    assert token_of(sim) not in out
    # a file that is no token (the hub's /etc/shadow, say): refused, never printed
    shadow = reading_token_file(sim, tmp_path, SHADOW + "\nsecond line\n", "shadow")
    kc.write_text(shadow.read_text())
    code, out = run("cluster", "test", "own", "--config", str(allowed))
    assert code == 2 and "the token in tokenFile" in out and "contains a line break" in out, out
    assert "root:" not in out and "second line" not in out and "$6$" not in out


@pytest.mark.parametrize(
    "bad",
    [f"{SHADOW}\n", f"tok\r\nX-Injected: {SHADOW}", f"tok\x00{SHADOW}"],
    ids=["trailing-newline", "header-injection", "nul"],
)
def test_an_inline_token_unfit_for_a_header_is_refused_and_never_echoed(
    bad: str,
    sim: KubesimProcess,
    run: Callable[..., tuple[int, str]],
    write_config: Callable[..., Path],
    tmp_path: Path,
) -> None:
    doc = sim_doc(sim)
    doc["users"][0]["user"]["token"] = bad
    kc = tmp_path / "bad.yaml"
    kc.write_text(yaml.safe_dump(doc))
    add_cfg = write_config({"clustersDir": str(tmp_path / "d")}, "add.yaml")
    own_cfg = write_config(
        {"clusters": [{"name": "own", "kubeconfig": str(kc)}], "allowLocalCredentialFiles": True}
    )
    outputs = [
        run("cluster", "add", "bad", "--kubeconfig", str(kc), "--config", str(add_cfg)),
        run("cluster", "test", "bad", "--kubeconfig", str(kc), "--config", str(add_cfg)),
        run("cluster", "test", "own", "--config", str(own_cfg)),
    ]
    for code, out in outputs:
        assert code == 2 and "user '" in out and "token contains" in out and "refused" in out, out
        assert "root:" not in out and "$6$" not in out and "X-Injected" not in out and "Traceback" not in out
    assert not (tmp_path / "d").exists()
