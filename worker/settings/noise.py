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


class EvidenceSettings(Strict):
    """The evidence rule (docs/noise.md): a pending alert far enough above its critical line fires before its
    for-duration, which stays the upper bound. ``noise.evidence: null`` turns it off (the for-durations alone)."""

    scale: float = Field(default=policies.EvidencePolicy.scale, gt=0)
    allowance: float = Field(default=policies.EvidencePolicy.allowance, ge=0)
    decision: float = Field(default=policies.EvidencePolicy.decision, gt=0)


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
    evidence: EvidenceSettings | None = Field(default_factory=EvidenceSettings)

    def evidence_policy(self) -> policies.EvidencePolicy | None:
        e = self.evidence
        return None if e is None else policies.EvidencePolicy(e.scale, e.allowance, e.decision)

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
