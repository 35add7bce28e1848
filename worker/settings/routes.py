"""The routing tree's config: which receivers get which notifications (worker/notify/routing.py walks it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from pydantic import Field, field_validator

from worker.settings.base import RulePattern, Strict, duration


class RouteSettings(Strict):
    """One node of the routing tree; the top-level ``route`` is the default route and matches everything.

    A node matches when every matcher it sets matches (cluster and rule names accept shell globs; a rule glob
    must match some rule of worker/model/rules.py). Children are tried in order; the first match wins unless it
    sets ``continue``. When no child matches, the node's own receivers get the notification. ``sendResolved`` and
    ``repeatInterval`` are inherited by children.
    """

    receiver: str | None = None
    receivers: list[str] = []
    clusters: list[str] = []
    cluster_labels: dict[str, str] = {}
    node_groups: list[str] = []
    rules: list[RulePattern] = []
    severities: list[Literal["info", "warning", "critical"]] = []
    continue_: bool = Field(default=False, alias="continue")
    send_resolved: bool | None = None
    repeat_interval: float | None = None  # seconds after parsing
    routes: list[RouteSettings] = []

    @field_validator("repeat_interval", mode="before")
    @classmethod
    def _repeat(cls, v: object) -> object:
        return duration(v)

    def receiver_names(self) -> list[str]:
        return ([self.receiver] if self.receiver else []) + [r for r in self.receivers if r != self.receiver]


def walk(route: RouteSettings, path: str = "route") -> Iterator[tuple[str, RouteSettings]]:
    """Every node of the tree with its config key (``route``, ``route.routes.0``, ...), parents first."""
    yield path, route
    for i, child in enumerate(route.routes):
        yield from walk(child, f"{path}.routes.{i}")
