"""Property: a kubeconfig from anywhere (a Secret, the clusters directory, ``cluster add``) is accepted or refused
with ``ClusterConfigError`` — never another exception — and no message ever repeats a token, a password or
certificate data."""

from __future__ import annotations

import base64

import yaml
from helpers_property import PROPERTY, json_values
from hypothesis import given
from hypothesis import strategies as st

from worker.clusters import kubeconfig
from worker.clusters.kubeconfig import ClusterConfigError

# credentials long and odd enough that finding one in a message is never a coincidence
secrets = st.text(min_size=8, max_size=40).map(lambda s: f"S3CR3T-{s}")
names = st.sampled_from(["c", "u", "ctx", "prod", ""]) | st.text(max_size=8) | json_values
odd = json_values | secrets

cluster_entries = st.fixed_dictionaries(
    {"name": names},
    optional={
        "cluster": st.fixed_dictionaries(
            {},
            optional={
                "server": st.sampled_from(["https://10.0.0.1:6443", "http://attacker", "", "::"]) | odd,
                "certificate-authority-data": secrets.map(lambda s: base64.b64encode(s.encode()).decode())
                | odd,
                "certificate-authority": st.sampled_from(["/etc/ca.pem", ""]) | odd,
                "insecure-skip-tls-verify": st.booleans() | odd,
            },
        )
        | odd
    },
)
user_entries = st.fixed_dictionaries(
    {"name": names},
    optional={
        "user": st.fixed_dictionaries(
            {},
            optional={
                "token": secrets
                | secrets.map(lambda s: s + "\n")
                | secrets.map(lambda s: s + "\r\nX: y")
                | odd,
                "tokenFile": st.sampled_from(["/var/run/secrets/kubernetes.io/serviceaccount/token"]) | odd,
                "username": secrets | odd,
                "password": secrets | secrets.map(lambda s: s + "\x00") | odd,
                "client-certificate-data": secrets | odd,
                "client-key-data": secrets | odd,
                "client-certificate": odd,
                "client-key": odd,
                "exec": st.just({"command": "curl", "args": ["http://attacker"]}) | odd,
                "auth-provider": st.just({"name": "oidc"}) | odd,
            },
        )
        | odd
    },
)
context_entries = st.fixed_dictionaries(
    {"name": names},
    optional={"context": st.fixed_dictionaries({}, optional={"cluster": names, "user": names}) | odd},
)
kubeconfigs = st.fixed_dictionaries(
    {},
    optional={
        "apiVersion": st.just("v1") | odd,
        "kind": st.just("Config") | odd,
        "clusters": st.lists(cluster_entries, max_size=3) | odd,
        "users": st.lists(user_entries, max_size=3) | odd,
        "contexts": st.lists(context_entries, max_size=3) | odd,
        "current-context": names,
    },
)


def _secret_values(doc: object) -> list[str]:
    """Every credential the generator planted anywhere in ``doc``."""
    if isinstance(doc, dict):
        return [s for v in doc.values() for s in _secret_values(v)]
    if isinstance(doc, list):
        return [s for v in doc for s in _secret_values(v)]
    if isinstance(doc, str) and "S3CR3T-" in doc:
        return [doc, doc.strip(), doc[doc.index("S3CR3T-") :].splitlines()[0] if doc.strip() else doc]
    return []


def _no_secret_in(message: str, doc: object) -> None:
    for s in _secret_values(doc):
        assert s not in message, "a credential was repeated"
        b64 = base64.b64encode(s.encode()).decode()
        assert b64 not in message


@PROPERTY
@given(
    doc=kubeconfigs,
    allow_exec=st.booleans(),
    local_files=st.booleans(),
    context=st.none() | st.text(max_size=5),
)
def test_a_kubeconfig_is_checked_without_any_other_exception_or_a_credential_in_the_message(
    doc: dict[str, object], allow_exec: bool, local_files: bool, context: str | None
) -> None:
    text = yaml.safe_dump(doc, allow_unicode=True)
    try:
        data = kubeconfig.parse("prop", text)
        kubeconfig.check_plugins("prop", data, allow_exec)
        kubeconfig.check_credentials("prop", data, local_files)
        kubeconfig.warnings("prop", data, context)  # what `cluster list` shows
        kubeconfig.build("prop", text, context, allow_exec, cache_as="property-test")
    except ClusterConfigError as err:
        assert str(err).startswith("cluster prop: "), str(err)
        _no_secret_in(str(err), doc)


@PROPERTY
@given(
    text=st.text(max_size=200)
    | st.from_regex(r"(clusters: )?[\[{\-:!&*|>%@`\"' a-z0-9\n]{0,60}", fullmatch=True)
)
def test_any_text_is_a_kubeconfig_or_refused_with_cluster_config_error(text: str) -> None:
    try:
        data = kubeconfig.parse("prop", text)
    except ClusterConfigError as err:
        assert str(err) in (
            "cluster prop: kubeconfig is not valid YAML",
            "cluster prop: kubeconfig has no clusters",
        )
        return
    assert isinstance(data, dict) and data.get("clusters")


def test_yaml_that_the_parser_itself_chokes_on_is_said_to_be_invalid() -> None:
    # PyYAML raises ValueError for a timestamp-shaped scalar that is no date, and RecursionError for deep nesting:
    # both were tracebacks from `cluster add`, `cluster list` and every scan
    for text in ("clusters: [x]\nwhen: 2001-13-01\n", "[" * 5000, "clusters: 2024-02-30"):
        try:
            kubeconfig.parse("prop", text)
        except ClusterConfigError as err:
            assert str(err) == "cluster prop: kubeconfig is not valid YAML"
        else:
            raise AssertionError(text)


header_safe = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=8, max_size=40)


@PROPERTY
@given(token=header_safe, tail=st.sampled_from(["\n", "\r\nX-Injected: 1", "\x00", "\u00e9", "\t"]))
def test_a_token_unfit_for_a_header_is_refused_and_never_echoed(token: str, tail: str) -> None:
    token = f"S3CR3T-{token}"
    doc = {
        "clusters": [{"name": "c", "cluster": {"server": "https://10.0.0.1:6443"}}],
        "users": [{"name": "u", "user": {"token": token + tail}}],
        "contexts": [{"name": "x", "context": {"cluster": "c", "user": "u"}}],
        "current-context": "x",
    }
    try:
        kubeconfig.check_credentials("prop", kubeconfig.parse("prop", yaml.safe_dump(doc)), local_files=False)
    except ClusterConfigError as err:
        assert token not in str(err) and "user 'u': token" in str(err)
    else:
        raise AssertionError("accepted")
