"""ServiceAccounts, RBAC and service-account tokens of one simulated cluster, on the real wire format.

What `nodewatch cluster kubeconfig-for` does to a real cluster, so that it can be tested here: create a
ServiceAccount (``/api/v1/namespaces/NS/serviceaccounts``), a ClusterRole and ClusterRoleBinding (or Role and
RoleBinding) under ``/apis/rbac.authorization.k8s.io/v1``, and a Secret of type
``kubernetes.io/service-account-token`` that the cluster's token controller fills with ``token``, ``ca.crt`` and
``namespace`` — shortly after the create, as a real controller does: the create's answer has no data, a later read
has it. A request bearing such a token is that ServiceAccount's, and is allowed exactly what the RBAC objects bound
to it grant (get/list/watch on a resource, a subresource as ``nodes/proxy``, ``*`` wildcards); the cluster's own
token stays the all-powerful one of the tests (its ``deny`` list aside).

The objects are plain documents (no watch, no paging): they are few, and nodewatch only creates and reads them.
"""

from __future__ import annotations

import base64
import copy
import secrets
import threading
from typing import Any

from kubesim import fleet
from kubesim.clock import rfc3339

TOKEN_TYPE = "kubernetes.io/service-account-token"
SA_ANNOTATION = "kubernetes.io/service-account.name"
RBAC = "rbac.authorization.k8s.io"
# resource -> (kind, namespaced)
KINDS: dict[str, tuple[str, bool]] = {
    "serviceaccounts": ("ServiceAccount", True),
    "clusterroles": ("ClusterRole", False),
    "clusterrolebindings": ("ClusterRoleBinding", False),
    "roles": ("Role", True),
    "rolebindings": ("RoleBinding", True),
}


class ApiError(Exception):
    """An API answer other than success: code, reason, message, details (what kubesim's server sends as Status)."""

    def __init__(self, code: int, reason: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code, self.reason, self.message, self.details = code, reason, message, details


def _not_found(resource: str, name: str) -> ApiError:
    return ApiError(404, "NotFound", f'{resource} "{name}" not found', {"name": name, "kind": resource})


class Accounts:
    """The ServiceAccounts and RBAC objects of one cluster, and the tokens its token controller issued."""

    def __init__(self, rng: Any, now: Any) -> None:
        self.lock = threading.RLock()
        self.rng = rng
        self.now = now  # () -> epoch seconds (the cluster's clock)
        self.objects: dict[str, dict[str, dict[str, Any]]] = {r: {} for r in KINDS}
        self.tokens: dict[str, tuple[str, str]] = {}  # token -> (namespace, service account)
        self.rv = 1
        self.ca_pem = b""

    # ------------------------------------------------------------ objects

    def _key(self, resource: str, namespace: str, name: str) -> str:
        return f"{namespace}/{name}" if KINDS[resource][1] else name

    def handle(
        self, method: str, resource: str, namespace: str, name: str, body: Any
    ) -> tuple[int, dict[str, Any]]:
        """One request on a collection or an object: (HTTP code, body)."""
        kind, namespaced = KINDS[resource]
        if namespaced != bool(namespace):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        api_version = "v1" if resource == "serviceaccounts" else f"{RBAC}/v1"
        with self.lock:
            store = self.objects[resource]
            if method == "GET" and not name:
                items = [
                    copy.deepcopy(o)
                    for k, o in sorted(store.items())
                    if not namespace or k.startswith(f"{namespace}/")
                ]
                return 200, {"kind": f"{kind}List", "apiVersion": api_version,
                             "metadata": {"resourceVersion": str(self.rv)}, "items": items}  # fmt: skip
            if method == "GET":
                obj = store.get(self._key(resource, namespace, name))
                if obj is None:
                    raise _not_found(resource, name)
                return 200, copy.deepcopy(obj)
            if method == "DELETE":
                if store.pop(self._key(resource, namespace, name), None) is None:
                    raise _not_found(resource, name)
                if resource == "serviceaccounts":
                    self.tokens = {t: sa for t, sa in self.tokens.items() if sa != (namespace, name)}
                return 200, {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                             "details": {"name": name, "kind": resource}}  # fmt: skip
            if (
                method not in ("POST", "PUT")
                or (method == "POST") == bool(name)
                or not isinstance(body, dict)
            ):
                raise ApiError(
                    405, "MethodNotAllowed", "the server does not allow this method on the requested resource"
                )
            meta = body.get("metadata") or {}
            name = name or str(meta.get("name") or "")
            if body.get("kind", kind) != kind or not name:
                raise ApiError(
                    422,
                    "Invalid",
                    f'{kind} "{name}" is invalid: metadata.name: Required value: name is required',
                )
            if meta.get("name", name) != name or (
                namespaced and meta.get("namespace", namespace) != namespace
            ):
                raise ApiError(
                    400, "BadRequest", "the name or namespace of the object does not match the request"
                )
            self._check(resource, kind, name, body)
            key = self._key(resource, namespace, name)
            existing = store.get(key)
            if method == "POST" and existing is not None:
                raise ApiError(409, "AlreadyExists", f'{resource}{"." + RBAC if resource != "serviceaccounts" else ""} "{name}" already exists',
                               {"name": name, "group": "" if resource == "serviceaccounts" else RBAC, "kind": resource})  # fmt: skip
            if method == "PUT" and existing is None:
                raise _not_found(resource, name)
            if (
                method == "PUT"
                and existing is not None
                and existing.get("roleRef") not in (None, body.get("roleRef"))
            ):
                raise ApiError(
                    422,
                    "Invalid",
                    f'{kind}.{RBAC} "{name}" is invalid: roleRef: Invalid value: cannot change roleRef',
                )
            self.rv += 1
            obj = {k: copy.deepcopy(v) for k, v in body.items() if k not in ("metadata", "status")}
            obj |= {"kind": kind, "apiVersion": api_version}
            obj["metadata"] = {
                "name": name,
                **({"namespace": namespace} if namespaced else {}),
                "uid": existing["metadata"]["uid"] if existing else fleet.new_uid(self.rng),
                "resourceVersion": str(self.rv),
                "creationTimestamp": existing["metadata"]["creationTimestamp"]
                if existing
                else rfc3339(self.now()),
                **{k: dict(meta[k]) for k in ("labels", "annotations") if meta.get(k)},
            }
            store[key] = obj
            return (201 if method == "POST" else 200), copy.deepcopy(obj)

    @staticmethod
    def _check(resource: str, kind: str, name: str, body: dict[str, Any]) -> None:
        """What the API server's validation would refuse, for the fields nodewatch sends."""
        if resource in ("clusterroles", "roles"):
            for i, rule in enumerate(body.get("rules") or []):
                if not rule.get("verbs"):
                    raise ApiError(
                        422,
                        "Invalid",
                        f'{kind}.{RBAC} "{name}" is invalid: rules[{i}].verbs: Required value: verbs must contain at least one value',
                    )
        if resource in ("clusterrolebindings", "rolebindings"):
            ref = body.get("roleRef") or {}
            if not ref.get("name") or ref.get("kind") not in ("ClusterRole", "Role"):
                raise ApiError(
                    422, "Invalid", f'{kind}.{RBAC} "{name}" is invalid: roleRef.kind: Unsupported value'
                )

    # ------------------------------------------------------------ token controller

    def token_secret_created(self, namespace: str, annotations: dict[str, str]) -> None:
        """A Secret of type service-account-token was written: refuse one whose ServiceAccount is not named."""
        if not annotations.get(SA_ANNOTATION):
            raise ApiError(
                422, "Invalid", f"Secret is invalid: metadata.annotations[{SA_ANNOTATION}]: Required value"
            )

    def fill(
        self, namespace: str, annotations: dict[str, str], data: dict[str, str]
    ) -> dict[str, str] | None:
        """The token controller's work on a service-account-token Secret: its data once the ServiceAccount exists
        (None: nothing to do yet — no such account, or already filled)."""
        account = annotations.get(SA_ANNOTATION, "")
        with self.lock:
            if data.get("token") or f"{namespace}/{account}" not in self.objects["serviceaccounts"]:
                return None
            token = "sa." + secrets.token_urlsafe(32)
            self.tokens[token] = (namespace, account)
            return {"token": token, "ca.crt": self.ca_pem.decode(), "namespace": namespace}

    def subject(self, authorization: str) -> tuple[str, str] | None:
        """The ServiceAccount whose token a request bears, or None."""
        token = authorization.removeprefix("Bearer ")
        with self.lock:
            sa = self.tokens.get(token) if authorization.startswith("Bearer ") else None
            if sa and f"{sa[0]}/{sa[1]}" in self.objects["serviceaccounts"]:
                return sa
        return None

    # ------------------------------------------------------------ authorization

    def allowed(self, subject: tuple[str, str], verb: str, group: str, resource: str, sub: str = "",
                namespace: str = "") -> bool:  # fmt: skip
        """RBAC as the API server evaluates it, for the subject's bindings: any rule of a bound role that matches."""
        full = f"{resource}/{sub}" if sub else resource
        with self.lock:
            for rules in self._rules_of(subject, namespace):
                for rule in rules:
                    verbs, groups, resources = (
                        rule.get("verbs") or [],
                        rule.get("apiGroups") or [],
                        rule.get("resources") or [],
                    )
                    if (
                        (verb in verbs or "*" in verbs)
                        and (group in groups or "*" in groups)
                        and (
                            full in resources
                            or "*" in resources
                            or (not sub and f"{resource}/*" in resources)
                        )
                    ):
                        return True
        return False

    def _rules_of(self, subject: tuple[str, str], namespace: str) -> list[list[dict[str, Any]]]:
        ns, name = subject
        wanted = {"kind": "ServiceAccount", "name": name, "namespace": ns}
        out = []
        bindings = list(self.objects["clusterrolebindings"].values())
        if namespace:
            bindings += [b for k, b in self.objects["rolebindings"].items() if k.startswith(f"{namespace}/")]
        for b in bindings:
            subjects = [{k: s.get(k) for k in ("kind", "name", "namespace")} for s in b.get("subjects") or []]
            if wanted not in subjects:
                continue
            ref = b.get("roleRef") or {}
            if ref.get("kind") == "ClusterRole":
                role = self.objects["clusterroles"].get(ref.get("name", ""))
            else:
                role = self.objects["roles"].get(f"{b['metadata'].get('namespace')}/{ref.get('name')}")
            if role:
                out.append(role.get("rules") or [])
        return out


def user(subject: tuple[str, str] | None, default: str) -> str:
    return f"system:serviceaccount:{subject[0]}:{subject[1]}" if subject else default


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()
