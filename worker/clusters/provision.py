"""A read-only identity for nodewatch in a watched cluster, made through its API, and the kubeconfig that uses it.

``nodewatch cluster kubeconfig-for --context CTX`` runs this with the operator's own (admin) kubeconfig: it
creates, or brings up to date, what ``deploy/kubernetes/watched`` holds — a ServiceAccount, a ClusterRole of
get/list/watch on nodes, pods and events and get/list on metrics.k8s.io, its binding, and a Secret of type
``kubernetes.io/service-account-token`` — waits for the cluster's token controller to fill that Secret, and returns
a kubeconfig carrying only the cluster's address, its CA and that token. ``kubelet_proxy`` adds the optional
``nodes/proxy`` grant of ``deploy/kubernetes/watched-kubelet`` (sensitive: see there). A test keeps these objects and
the manifests the same.

The operator's kubeconfig may use exec plugins or credential files: it is theirs, read on their machine, never
stored. What is stored — the returned kubeconfig — holds an inline token only, as `cluster add` requires.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import urllib3
import yaml
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config
from kubernetes.client.exceptions import ApiException

from worker.clusters.kubeconfig import ClusterConfigError

NAME = "nodewatch-reader"
KUBELET_NAME = "nodewatch-kubelet-reader"
TOKEN_SECRET = f"{NAME}-token"
TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_ANNOTATION = "kubernetes.io/service-account.name"
RBAC_GROUP = "rbac.authorization.k8s.io"
READER_RULES: list[dict[str, Any]] = [
    {"apiGroups": [""], "resources": ["nodes", "pods", "events"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": ["metrics.k8s.io"], "resources": ["nodes", "pods"], "verbs": ["get", "list"]},
]
KUBELET_RULES: list[dict[str, Any]] = [{"apiGroups": [""], "resources": ["nodes/proxy"], "verbs": ["get"]}]


class ProvisionError(Exception):
    """One line naming the cluster, the object and the API's answer (never a token)."""


@dataclass
class Identity:
    namespace: str
    kubelet_proxy: bool = False
    labels: dict[str, str] = field(default_factory=lambda: {"app.kubernetes.io/part-of": "nodewatch"})

    def objects(self) -> list[tuple[str, dict[str, Any]]]:
        """(resource, body) in the order they are created: the account, the roles, the bindings, the token."""
        meta = {"labels": dict(self.labels)}
        subject = {"kind": "ServiceAccount", "name": NAME, "namespace": self.namespace}
        roles = [(NAME, READER_RULES)] + ([(KUBELET_NAME, KUBELET_RULES)] if self.kubelet_proxy else [])
        out: list[tuple[str, dict[str, Any]]] = [
            ("serviceaccounts", {"apiVersion": "v1", "kind": "ServiceAccount",
                                 "metadata": {"name": NAME, "namespace": self.namespace, **meta}}),
        ]  # fmt: skip
        for name, rules in roles:
            out.append(("clusterroles", {"apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRole",
                                         "metadata": {"name": name, **meta}, "rules": rules}))  # fmt: skip
            out.append(("clusterrolebindings", {
                "apiVersion": f"{RBAC_GROUP}/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name, **meta},
                "roleRef": {"apiGroup": RBAC_GROUP, "kind": "ClusterRole", "name": name}, "subjects": [subject],
            }))  # fmt: skip
        out.append(("secrets", {
            "apiVersion": "v1", "kind": "Secret", "type": TOKEN_TYPE,
            "metadata": {"name": TOKEN_SECRET, "namespace": self.namespace, **meta,
                         "annotations": {SA_ANNOTATION: NAME}},
        }))  # fmt: skip
        return out


def admin_client(kubeconfig_path: str | None, context: str) -> k8s_client.ApiClient:
    """The operator's client for ``context`` (their kubeconfig: $KUBECONFIG or ~/.kube/config by default)."""
    try:
        return k8s_config.new_client_from_config(config_file=kubeconfig_path, context=context)
    except k8s_config.ConfigException as err:
        raise ClusterConfigError(f"context {context}: {str(err).splitlines()[0][:200]}") from None
    except OSError as err:
        raise ClusterConfigError(f"cannot read kubeconfig {kubeconfig_path}: {err.strerror}") from None


def _why(err: Exception) -> str:
    if isinstance(err, ApiException):
        return f"HTTP {err.status} {err.reason or ''}".strip() if err.status else "TLS or connection error"
    return type(err).__name__


class Provisioner:
    """Creates or updates the identity's objects with ``api`` and reads its token back."""

    def __init__(self, api: k8s_client.ApiClient, context: str, timeout: float = 10.0) -> None:
        self.api, self.context, self.timeout = api, context, timeout
        self.core = k8s_client.CoreV1Api(api)
        self.rbac = k8s_client.RbacAuthorizationV1Api(api)

    def _calls(self, resource: str, ns: str) -> tuple[Callable[..., Any], Callable[..., Any]]:
        """(create(body), replace(name, body)) of one kind."""
        t: dict[str, Any] = {"_request_timeout": self.timeout}
        if resource == "serviceaccounts":
            return (lambda b: self.core.create_namespaced_service_account(ns, b, **t),
                    lambda n, b: self.core.replace_namespaced_service_account(n, ns, b, **t))  # fmt: skip
        if resource == "secrets":
            return (lambda b: self.core.create_namespaced_secret(ns, b, **t),
                    lambda n, b: self.core.replace_namespaced_secret(n, ns, b, **t))  # fmt: skip
        if resource == "clusterroles":
            return (lambda b: self.rbac.create_cluster_role(b, **t),
                    lambda n, b: self.rbac.replace_cluster_role(n, b, **t))  # fmt: skip
        return (lambda b: self.rbac.create_cluster_role_binding(b, **t),
                lambda n, b: self.rbac.replace_cluster_role_binding(n, b, **t))  # fmt: skip

    def apply(self, identity: Identity) -> list[str]:
        """Create each object, or bring an existing one up to date; one line per object for the operator."""
        done = []
        for resource, body in identity.objects():
            name = body["metadata"]["name"]
            what = f"{body['kind']} {identity.namespace + '/' if resource in ('serviceaccounts', 'secrets') else ''}{name}"
            create, replace = self._calls(resource, identity.namespace)
            try:
                create(body)
                done.append(f"{what} created")
                continue
            except ApiException as err:
                if err.status != 409:
                    raise ProvisionError(
                        f"context {self.context}: cannot create {what}: {_why(err)}"
                    ) from None
            except (urllib3.exceptions.HTTPError, OSError) as err:
                raise ProvisionError(f"context {self.context}: cannot create {what}: {_why(err)}") from None
            if resource in ("serviceaccounts", "secrets"):
                # an existing account keeps its tokens; an existing token Secret must be this account's
                if resource == "secrets":
                    self._check_token_secret(identity.namespace)
                done.append(f"{what} kept")
                continue
            try:
                replace(name, body)
            except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
                raise ProvisionError(f"context {self.context}: cannot update {what}: {_why(err)}") from None
            done.append(f"{what} updated")
        return done

    def _read_token_secret(self, ns: str) -> Any:
        try:
            return self.core.read_namespaced_secret(TOKEN_SECRET, ns, _request_timeout=self.timeout)
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            raise ProvisionError(
                f"context {self.context}: cannot read Secret {ns}/{TOKEN_SECRET}: {_why(err)}"
            ) from None

    def _check_token_secret(self, ns: str) -> None:
        secret = self._read_token_secret(ns)
        owner = (secret.metadata.annotations or {}).get(SA_ANNOTATION)
        if secret.type != TOKEN_TYPE or owner != NAME:
            raise ProvisionError(
                f"context {self.context}: Secret {ns}/{TOKEN_SECRET} exists but is not {NAME}'s token "
                f"(type {secret.type}); delete it or choose another --namespace"
            )

    def token(self, ns: str, wait: float, sleep: Callable[[float], None] = time.sleep) -> tuple[str, str]:
        """(token, ca.crt PEM or "") once the token controller filled the Secret; ProvisionError after ``wait`` s."""
        deadline = time.monotonic() + wait
        while True:
            data = self._read_token_secret(ns).data or {}
            if data.get("token"):
                return (
                    base64.b64decode(data["token"]).decode(),
                    base64.b64decode(data.get("ca.crt") or "").decode(),
                )
            if time.monotonic() >= deadline:
                raise ProvisionError(
                    f"context {self.context}: Secret {ns}/{TOKEN_SECRET} has no token after {wait:g}s "
                    "(is the token controller running? kube-controller-manager fills it)"
                )
            sleep(0.5)


def kubeconfig_text(api: k8s_client.ApiClient, name: str, token: str, ca_pem: str) -> str:
    """A kubeconfig for ``name`` with the cluster's address, its CA (the token Secret's ca.crt, else the operator's
    CA for that server) and the token inline: what `cluster add` and the hub's Secrets accept."""
    conf = api.configuration
    entry: dict[str, Any] = {"server": conf.host}
    if not ca_pem and conf.ssl_ca_cert:
        ca_pem = Path(conf.ssl_ca_cert).read_text()
    if ca_pem:
        entry["certificate-authority-data"] = base64.b64encode(ca_pem.encode()).decode()
    if conf.host.startswith("https:") and not conf.verify_ssl:
        entry["insecure-skip-tls-verify"] = (
            True  # as the operator's own kubeconfig says; `cluster list` warns
        )
    user = f"{name}-{NAME}"
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": name, "cluster": entry}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name,
    }
    return yaml.safe_dump(doc, sort_keys=False)
