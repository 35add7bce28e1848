"""`cluster test`: can nodewatch reach this cluster, and may its credentials do each read a scan needs?

Asked with SelfSubjectAccessReviews, which any authenticated user may create: the API server answers for the
credentials themselves, without nodewatch trying each read.
"""

from __future__ import annotations

from dataclasses import dataclass

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


def _why(err: Exception) -> tuple[str, bool]:
    if isinstance(err, ApiException):
        if err.status in (401,):
            return "credentials rejected (HTTP 401 Unauthorized)", True
        if err.status:
            return f"HTTP {err.status} {err.reason or ''}".strip(), False
        return "TLS or connection error", False
    return f"unreachable: {type(err).__name__}", False


def version(api: k8s_client.ApiClient, timeout: float = 10.0) -> str:
    try:
        info = k8s_client.VersionApi(api).get_code(_request_timeout=timeout)
    except (ApiException, urllib3.exceptions.HTTPError, OSError) as err:
        reason, rejected = _why(err)
        raise Unreachable(reason, rejected) from None
    return str(info.git_version)


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
        if status is None:
            out.append(Check(need, False, "the API server gave no answer"))
            continue
        out.append(Check(need, bool(status.allowed), str(status.reason or status.evaluation_error or "")))
    return out
