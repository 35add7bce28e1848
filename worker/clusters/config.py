"""Config of the cluster sources that live outside the config file: the hub's kubeconfig Secrets.

Kept in worker/clusters so the registry's config grows without touching the core config; ``worker.settings``
holds one field of this type (``hub``). It imports nothing of nodewatch, so the settings module may import it.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

CLUSTER_LABEL = "nodewatch.io/cluster"
DEFAULT_SELECTOR = f"{CLUSTER_LABEL}=true"


class HubSettings(BaseModel):
    """Where the cluster Secrets live and how the hub reads them.

    The hub is the cluster nodewatch runs in. Inside a pod its service account is used (it needs get/list/watch
    on Secrets in its own namespace only); outside, ``kubeconfig`` (+ ``context``) points at the hub.
    """

    model_config = ConfigDict(extra="forbid", populate_by_name=True, alias_generator=to_camel, frozen=True)

    # read cluster Secrets; None = only when ``kubeconfig`` is given (in a pod, say ``secrets: true``)
    secrets: bool | None = None
    namespace: str | None = None  # default: the pod's namespace, else "nodewatch"
    kubeconfig: str | None = None  # run the hub outside a cluster
    context: str | None = None
    label_selector: str = DEFAULT_SELECTOR
    watch: bool = True  # keep a watch open (one per worker process) instead of a list per registry read
    request_timeout: float = Field(default=10.0, gt=0)
    resync_seconds: float = Field(default=600.0, gt=0)  # full re-list even while the watch is healthy

    @property
    def enabled(self) -> bool:
        return self.secrets if self.secrets is not None else self.kubeconfig is not None
