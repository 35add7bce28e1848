"""Typed failures of a cluster read: the scan of that cluster stops, the others carry on.

Messages name the cluster, the request path and the HTTP status or socket error, never a token, a header or
kubeconfig contents.
"""

from __future__ import annotations


class CollectError(Exception):
    """A cluster could not be read at all (base class)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ClusterUnreachable(CollectError):
    """Connection refused, DNS, TLS, timeout or a 5xx from the API server: temporary, retry next interval."""


class CredentialsRejected(CollectError):
    """401 or 403 on a read the scan cannot do without (the node or pod list): fix the credentials or RBAC."""


class RequestFailed(CollectError):
    """One optional read failed with an HTTP status (metrics, summary, events); carries the status."""

    def __init__(self, reason: str, status: int) -> None:
        super().__init__(reason)
        self.status = status


class ListUnreadable(ClusterUnreachable):
    """The node or pod list answered but cannot be read (``items: null``, not a list): a failed scan, never an
    empty cluster."""


class ScanTimeout(CollectError):
    """The scan used up its budget (``scanBudget``); ``phase`` says what it was doing then."""

    def __init__(self, reason: str, phase: str) -> None:
        super().__init__(reason)
        self.phase = phase
