"""Kubeconfig credentials: file paths refused outside the config file, header values checked, nothing echoed.

Pure checks (``check_credentials``, ``header_problem``, ``version_text``) from tables, and ``build``/``load`` on
real files in a temporary directory: no API server is needed to refuse a kubeconfig.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from worker import clusters, settings
from worker.clusters import access, kubeconfig

TOKEN = "s3cr3t-token-0d9f"
FILE_CONTENT = "root:$6$saltsalt$hashedpasswordhash:19000:0:99999:7:::"


def doc(user: dict[str, Any] | None = None, cluster: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": {"server": "http://127.0.0.1:1"} | (cluster or {})}],
        "users": [{"name": "u", "user": {"token": TOKEN} if user is None else user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "ctx",
    }


@pytest.mark.parametrize(
    ("section", "field", "entry"),
    [
        ("user", "tokenFile", {"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}),
        (
            "user",
            "client-certificate",
            {"client-certificate": "/etc/pki/client.crt", "client-key-data": "eA=="},
        ),
        ("user", "client-key", {"client-certificate-data": "eA==", "client-key": "/etc/pki/client.key"}),
        ("cluster", "certificate-authority", {"certificate-authority": "/etc/pki/ca.crt"}),
    ],
)
def test_a_credential_file_path_is_refused_naming_cluster_and_field(
    section: str, field: str, entry: dict[str, Any]
) -> None:
    data = doc(user=entry) if section == "user" else doc(cluster=entry)
    with pytest.raises(kubeconfig.ClusterConfigError) as err:
        kubeconfig.check_credentials("prod", data, local_files=False)
    msg = str(err.value)
    assert msg.startswith("cluster prod: ") and f"sets {field}," in msg and "refused" in msg, msg
    assert "allowLocalCredentialFiles" in msg and "client-certificate-data" in msg
    kubeconfig.check_credentials("prod", data, local_files=True)  # the config file may allow it


def test_a_file_path_in_an_unused_entry_is_refused_too() -> None:
    data = doc()
    data["users"].append({"name": "other", "user": {"tokenFile": "/etc/shadow"}})
    with pytest.raises(kubeconfig.ClusterConfigError, match="user 'other' sets tokenFile"):
        kubeconfig.check_credentials("prod", data, local_files=False)


def test_inline_credentials_pass() -> None:
    data = doc(
        user={"client-certificate-data": "eA==", "client-key-data": "eA=="},
        cluster={"certificate-authority-data": "eA=="},
    )
    kubeconfig.check_credentials("prod", data, local_files=False)
    kubeconfig.check_credentials("prod", doc(), local_files=False)
    kubeconfig.check_credentials(
        "prod", doc(user={"username": "admin", "password": "pa ss"}), local_files=False
    )


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        (TOKEN + "\n", "contains a line break"),
        (TOKEN + "\r\nX-Injected: 1", "contains a line break"),
        (TOKEN + "\x00", "non-printable"),
        (TOKEN + "\x7f", "non-printable"),
        (TOKEN + "é", "non-ASCII"),
        (12345, "is not a string"),
        (TOKEN, None),
        ("Bearer " + TOKEN, None),
    ],
)
def test_header_values_are_checked_and_never_repeated(value: object, problem: str | None) -> None:
    got = kubeconfig.header_problem(value)
    assert (got is None) if problem is None else (got is not None and problem in got)
    if problem is not None and isinstance(value, str):
        with pytest.raises(kubeconfig.ClusterConfigError) as err:
            kubeconfig.check_credentials("prod", doc(user={"token": value}), local_files=False)
        assert "user 'u': token " in str(err.value) and TOKEN not in str(err.value)


def test_build_refuses_a_token_file_for_a_secret_without_reading_it(tmp_path: Path) -> None:
    secret_file = tmp_path / "token"
    secret_file.write_text(FILE_CONTENT + "\n")
    text = yaml.safe_dump(doc(user={"tokenFile": str(secret_file)}))
    with pytest.raises(kubeconfig.ClusterConfigError) as err:
        kubeconfig.build("evil", text, None, allow_exec=False, cache_as="unit-evil")
    assert "sets tokenFile" in str(err.value) and FILE_CONTENT not in str(err.value)


def test_an_allowed_token_file_is_trimmed_like_kubectl_and_a_bad_one_never_echoed(tmp_path: Path) -> None:
    good = tmp_path / "good"
    good.write_text(TOKEN + "\n")  # `echo $TOKEN > file`
    api = kubeconfig.build(
        "own", yaml.safe_dump(doc(user={"tokenFile": "good"})), None, False, str(tmp_path), "unit-own", True
    )
    assert api.configuration.api_key["BearerToken"] == f"Bearer {TOKEN}"
    bad = tmp_path / "bad"
    bad.write_text(FILE_CONTENT + "\nsecond line\n")  # the hub's /etc/shadow, say
    with pytest.raises(kubeconfig.ClusterConfigError) as err:
        kubeconfig.build(
            "own", yaml.safe_dump(doc(user={"tokenFile": str(bad)})), None, False, None, "unit-own", True
        )
    assert "tokenFile" in str(err.value) and "line break" in str(err.value)
    assert "root:" not in str(err.value) and "second line" not in str(err.value)
    with pytest.raises(kubeconfig.ClusterConfigError, match="cannot read tokenFile"):
        kubeconfig.build(
            "own",
            yaml.safe_dump(doc(user={"tokenFile": str(tmp_path / "none")})),
            None,
            False,
            None,
            "x",
            True,
        )


def test_only_config_file_clusters_get_local_files_and_only_when_allowed(tmp_path: Path) -> None:
    d = tmp_path / "clusters"
    d.mkdir()
    (d / "dir-one.yaml").write_text(yaml.safe_dump(doc()))
    (tmp_path / "own.yaml").write_text(yaml.safe_dump(doc()))
    base = {"clustersDir": str(d), "clusters": [{"name": "own", "kubeconfig": str(tmp_path / "own.yaml")}]}
    for allow in (False, True):
        cfg = settings.parse(base | {"allowLocalCredentialFiles": allow}, env={})
        specs = clusters.load(cfg).by_name()
        assert specs["own"].local_files is allow
        assert specs["dir-one"].local_files is False


def test_cluster_list_warnings_say_why_a_kubeconfig_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dir-two.yaml"
    path.write_text(
        yaml.safe_dump(doc(user={"tokenFile": "/var/run/secrets/kubernetes.io/serviceaccount/token"}))
    )
    spec = clusters.ClusterSpec("dir-two", 60, str(path), source="directory")
    (warning,) = clusters.warnings(spec)
    assert warning.startswith("kubeconfig user 'u' sets tokenFile") and "refused" in warning


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"major": "1", "minor": "30", "gitVersion": "v1.30.2", "platform": "linux/amd64"}, "v1.30.2"),
        ({"major": "1", "minor": "30", "gitVersion": "v1.30.2"}, "v1.30.2"),  # no platform
        ({"major": "1", "minor": "29"}, "v1.29"),
        ({}, "(version not given)"),
        ({"gitVersion": 7}, "(version not given)"),
    ],
)
def test_version_text_takes_whatever_fields_there_are(answer: dict[str, Any], expected: str) -> None:
    assert access.version_text(answer) == expected


@pytest.mark.parametrize("answer", [[], "v1.30", None, 3])
def test_version_text_refuses_what_is_no_version_answer(answer: object) -> None:
    with pytest.raises(ValueError):
        access.version_text(answer)
