"""`cluster test`: can nodewatch reach this cluster, and may its credentials do each read a scan needs?

Asked with SelfSubjectAccessReviews, which any authenticated user may create: the API server answers for the
credentials themselves, without nodewatch trying each read.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import urllib3
from kubernetes import client as k8s_client
from kubernetes.client.exceptions import ApiException


@dataclass(frozen=True)
class Need:
    verb: str
    resource: str
    group: str = ""
    subresource: str = ""
    required: bool = True
    why: str = ""

    @property
    def label(self) -> str:
        full = f"{self.resource}/{self.subresource}" if self.subresource else self.resource
        return f"{self.verb} {full}" + (f".{self.group}" if self.group else "")


NEEDS = (
    Need("list", "nodes", why="node capacity, conditions, taints (scan fails without it)"),
    Need("list", "pods", why="requests, limits and pod counts per node (scan fails without it)"),
    Need("list", "events", required=False, why="FailedScheduling / Evicted events"),
    Need("list", "nodes", "metrics.k8s.io", required=False, why="CPU and memory usage (metrics-server)"),
    Need("list", "pods", "metrics.k8s.io", required=False, why="top pods per node"),
    Need("get", "nodes", subresource="proxy", required=False, why="disk figures (collect.diskStats only)"),
)


@dataclass(frozen=True)
class Check:
    need: Need
    allowed: bool
    reason: str


class Unreachable(Exception):
    """The API server did not answer, or rejected the credentials (``rejected``)."""

    def __init__(self, reason: str, rejected: bool = False) -> None:
        super().__init__(reason)
        self.rejected = rejected


def describe(exc: BaseException) -> str:
    """A connection failure as "host:port: cause" without the URL's query or any header."""
    pool = getattr(exc, "pool", None)
    where = f"{pool.host}:{pool.port}" if pool is not None and getattr(pool, "host", None) else ""
    inner = getattr(exc, "reason", None) or exc
    text = str(inner)
    if isinstance(inner, urllib3.exceptions.NewConnectionError) or "Failed to establish" in text:
        cause = text.rsplit("Failed to establish a new connection: ", 1)[-1]
    elif isinstance(inner, urllib3.exceptions.NameResolutionError):
        cause = "DNS name not resolved"
    elif isinstance(inner, urllib3.exceptions.ReadTimeoutError | urllib3.exceptions.ConnectTimeoutError):
        cause = "no answer in time"
    elif isinstance(inner, urllib3.exceptions.SSLError):
        cause = f"TLS error ({text.split(': ', 1)[-1][:200]})"
    elif isinstance(inner, urllib3.exceptions.ProtocolError):
        cause = "connection broken"
    else:
        cause = type(inner).__name__
    return f"{where}: {cause}" if where else cause


def _why(err: Exception) -> tuple[str, bool]:
    if isinstance(err, ApiException):
        if err.status in (401,):
            return "credentials rejected (HTTP 401 Unauthorized)", True
        if err.status:
            return f"HTTP {err.status} {err.reason or ''}".strip(), False
        return f"TLS or connection error: {describe(err)}", False
    return f"unreachable: {describe(err)}", False


VERSION_MAX = 64 * 1024  # a real /version answer is ~300 bytes


def version_text(doc: object) -> str:
    """What to call the API server from its /version JSON, whichever fields it has (it may lack platform,
    buildDate, even gitVersion); raises ValueError when it is no /version answer at all."""
    if not isinstance(doc, dict):
        raise ValueError("not a JSON object")
    git = doc.get("gitVersion")
    if isinstance(git, str) and git.strip():
        return git.strip()[:80]
    major, minor = doc.get("major"), doc.get("minor")
    if isinstance(major, str) and isinstance(minor, str) and (major or minor):
        return f"v{major}.{minor}"[:80]
    return "(version not given)"


def version(api: k8s_client.ApiClient, timeout: float = 10.0) -> str:
    """The API server's version from /version, read as plain JSON: the client's model refuses an answer
    without every field (a pydantic traceback for a server that leaves out ``platform``)."""
    try:
        # without preloading, the client hands back the urllib3 response (its stubs say VersionInfo)
        resp: Any = k8s_client.VersionApi(api).get_code(_request_timeout=timeout, _preload_content=False)
        raw = resp.read(VERSION_MAX + 1)
        if len(raw) > VERSION_MAX:
            resp.close()  # the rest is not read: this connection cannot be reused
        else:
            resp.release_conn()
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        reason, rejected = _why(err)
        raise Unreachable(reason, rejected) from None
    except ValueError:
        # e.g. http.client's "Invalid header value": its message would print the header, a credential
        raise Unreachable("the request could not be sent (invalid credentials in the kubeconfig)") from None
    if len(raw) > VERSION_MAX:
        raise Unreachable(f"/version answer larger than {VERSION_MAX} bytes: not a Kubernetes API server")
    try:
        return version_text(json.loads(raw))
    except ValueError:
        raise Unreachable(
            "/version did not answer Kubernetes version JSON: not a Kubernetes API server"
        ) from None


def check(api: k8s_client.ApiClient, needs: tuple[Need, ...] = NEEDS, timeout: float = 10.0) -> list[Check]:
    authz = k8s_client.AuthorizationV1Api(api)
    out = []
    for need in needs:
        body = k8s_client.V1SelfSubjectAccessReview(
            spec=k8s_client.V1SelfSubjectAccessReviewSpec(
                resource_attributes=k8s_client.V1ResourceAttributes(
                    verb=need.verb,
                    resource=need.resource,
                    group=need.group,
                    subresource=need.subresource or None,
                )
            )
        )
        try:
            status = authz.create_self_subject_access_review(body, _request_timeout=timeout).status
        except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
            reason, rejected = _why(err)
            if rejected or not isinstance(err, ApiException):
                raise Unreachable(reason, rejected) from None
            out.append(Check(need, False, f"could not ask: {reason}"))
            continue
        except ValueError:
            # an answer the client's models refuse (pydantic's ValidationError is a ValueError)
            out.append(Check(need, False, "could not ask: the answer was not a SelfSubjectAccessReview"))
            continue
        if status is None:
            out.append(Check(need, False, "the API server gave no answer"))
            continue
        out.append(Check(need, bool(status.allowed), str(status.reason or status.evaluation_error or "")))
    return out
