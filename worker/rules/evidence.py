"""Evidence, not a fixed wait: whether a pending alert has seen enough to fire. Pure, ``now`` handed in.

A fixed for-duration treats a node at 99 % like one hovering at 90.5 %: both wait the whole time. This is a
one-sided CUSUM (Page, 1954) of how far the value is above the critical line, in units of ``scale``, less an
``allowance`` per minute, summed over the time between scans and never below zero: a node far above the line
reaches the ``decision`` level in a couple of scans, one barely above it never does and waits out the rule's
for-duration, which stays the upper bound. A scan below the line takes evidence away, so a value crossing the
line back and forth builds little, and a scan across the line from the previous one counts half the time between
them. The sum and the last reading live in the pending alert's state (``AlertState.evidence`` and ``excess``, in
the per-fingerprint hash) and are forgotten with it when the condition clears. docs/noise.md gives the parameters'
reasons and the replays that measured them.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.model.policies import EvidencePolicy


@dataclass(frozen=True)
class Verdict:
    """The new running sum, whether the alert may fire now, and why (for ``alerts why``)."""

    evidence: float
    fire: bool
    reason: str


def accumulate(
    prev: float,
    excess: float | None,
    elapsed: float,
    policy: EvidencePolicy,
    prev_excess: float | None = None,
) -> float:
    """The sum after a scan ``elapsed`` seconds after the previous one saw the alert pending (``prev_excess``: what
    that one read, None if unknown).

    The first scan of an episode (``elapsed`` 0) adds nothing: one reading says nothing about how long it lasts.
    A scan on the other side of the line from the previous one counts half the time since it: the value crossed
    somewhere in between, on average halfway, so a node at 85 % that jumps to 100 % has not been there a minute.
    """
    if excess is None or elapsed <= 0:
        return prev
    if prev_excess is not None and (prev_excess < 0) != (excess < 0):
        elapsed /= 2
    gain = (excess / policy.scale - policy.allowance) * elapsed / 60.0
    return max(0.0, prev + gain)


def decide(
    prev: float,
    excess: float | None,
    since: float,
    last_seen: float | None,
    now: float,
    hold_for: float,
    policy: EvidencePolicy | None,
    prev_excess: float | None = None,
) -> Verdict:
    """Fire when the for-duration has passed (``hold_for`` since ``since``) or the evidence reached the decision
    level. ``last_seen`` is the previous scan that saw the alert pending (None for the first) and ``prev_excess``
    what it read; ``policy`` None means the fixed for-duration alone."""
    waited = now - since
    if policy is None or excess is None:
        if waited >= hold_for:
            return Verdict(prev, True, f"for {hold_for:.0f}s")
        return Verdict(prev, False, f"pending until {since + hold_for:.0f} (for {hold_for:.0f}s)")
    evidence = accumulate(prev, excess, 0.0 if last_seen is None else now - last_seen, policy, prev_excess)
    if waited >= hold_for:
        return Verdict(evidence, True, f"for {hold_for:.0f}s")
    if evidence >= policy.decision:
        return Verdict(evidence, True, f"evidence {evidence:.1f} >= {policy.decision:g} after {waited:.0f}s")
    return Verdict(
        evidence,
        False,
        f"pending until {since + hold_for:.0f} (for {hold_for:.0f}s) or evidence {policy.decision:g} "
        f"(now {evidence:.1f})",
    )
