"""Config of noise reduction across workers (docs/noise.md): flapping, storms, keep-firing-for, inhibition."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from worker.model import Severity, policies
from worker.settings.base import RuleName, Strict


class InhibitSettings(Strict):
    """While a source rule is pending or fires, the target rules on the same node (or anywhere in the cluster) do not page.
    Every name must be a rule (worker/model/rules.py): a typo fails the load instead of never inhibiting."""

    source_rules: list[RuleName] = Field(min_length=1)
    target_rules: list[RuleName] = Field(min_length=1)
    equal: Literal["node", "cluster"] = "node"
    # the least severity of a source that inhibits (a disk at warning does not explain DiskPressure)
    source_severity: Literal["warning", "critical"] = "warning"


class NoiseSettings(Strict):
    flap_window: float = Field(default=1800.0, gt=0)
    flap_threshold: int = Field(default=4, ge=2)
    flap_quiet: float = Field(default=900.0, gt=0)
    storm_min: int = Field(
        default=3, ge=2
    )  # this many nodes firing one rule in one scan -> one grouped message
    group_interval: float = Field(default=300.0, ge=0)  # later changes to a storm are batched this long
    # resolve only after the condition is gone this long: a dip merges into one incident (resolved + firing pairs
    # were most of the sketch's noise in the replays, bench/README.md)
    keep_firing_for: float = Field(default=600.0, ge=0)
    inhibit: list[InhibitSettings] | None = None  # None: the built-in rules (NotReady mutes that node's load)

    def flap_policy(self) -> policies.FlapPolicy:
        return policies.FlapPolicy(self.flap_window, self.flap_threshold, self.flap_quiet)

    def inhibit_rules(self) -> tuple[policies.InhibitRule, ...]:
        if self.inhibit is None:
            return policies.DEFAULT_INHIBIT
        return tuple(
            policies.InhibitRule(
                tuple(i.source_rules), tuple(i.target_rules), i.equal, Severity.parse(i.source_severity)
            )
            for i in self.inhibit
        )
