"""``nodewatch alerts why FP`` told as a story: one line per decision, local time, the state it left the alert in,
the reason; a decision repeated scan after scan is one line (``in cooldown ×14 until 22:10``).

Pure: the why-stream's rows, the alert's state and ``now`` in, lines out. The reasons are the decisions' own
(``rules.lifecycle``, ``rules.noise``, the route and delivery stages); this module only names the state each one
leaves the alert in and says their epochs as local times.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo

from worker.cli import timefmt
from worker.model.alerts import AlertState

# the state a decision leaves the alert in, by the start of its reason (first match wins); anything else held
# a message back (a silence, an inhibition, a route, the rate limit, a failed send)
STATES = (
    ("message resolved", "resolved"),
    ("message ", "firing"),
    ("pending until", "pending"),
    ("cleared while pending", "cleared"),
    ("cleared, resolves", "clearing"),
    ("cleared", "cleared"),
    ("resolved", "resolved"),
    ("node ", "closed"),
    ("cluster removed", "closed"),
    ("acknowledged", "acked"),
    ("in cooldown", "firing"),
    ("repeat interval", "firing"),
    ("info is reported once", "firing"),
    ("flapping", "flapping"),
    ("stable again", "firing"),
)
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


@dataclass(frozen=True)
class Decision:
    at: float  # epoch seconds (the why-stream entry's id)
    cluster: str
    reason: str


def state_after(reason: str) -> str:
    return next((state for prefix, state in STATES if reason.startswith(prefix)), "held")


def collapse(decisions: list[Decision]) -> list[tuple[Decision, Decision, int]]:
    """Runs of the same decision (the same words, whatever the figures) as (first, last, count)."""
    runs: list[tuple[Decision, Decision, int]] = []
    for d in sorted(decisions, key=lambda d: d.at):
        if runs:
            first, last, n = runs[-1]
            if first.cluster == d.cluster and _DIGITS.sub("#", last.reason) == _DIGITS.sub("#", d.reason):
                runs[-1] = (first, d, n + 1)
                continue
        runs.append((d, d, 1))
    return runs


def headline(fp: str, cluster: str, st: AlertState, tz: tzinfo, now: float) -> str:
    sent = st.sent_severity.label if st.sent_severity else "nothing sent yet"
    acked = ", acknowledged" if st.acked else ""
    return (
        f"{fp}: {cluster} {st.node or '(cluster)'} {st.rule} is {st.status} {st.severity.label} since "
        f"{timefmt.at(st.since, tz, now)}; last message: {sent}{acked}"
    )


def lines(decisions: list[Decision], tz: tzinfo, now: float) -> list[str]:
    clusters = {d.cluster for d in decisions}
    out = []
    for first, last, n in collapse(decisions):
        reason = humanize(last.reason, tz, now)
        more = f" ×{n} until {timefmt.stamp(last.at, tz, now)}" if n > 1 else ""
        where = f"{first.cluster}  " if len(clusters) > 1 else ""
        out.append(f"{timefmt.stamp(first.at, tz, now)}  {where}{state_after(last.reason):<9} {reason}{more}")
    return out


def humanize(reason: str, tz: tzinfo, now: float) -> str:
    """The reason with its epochs said as local times (``pending until 21:22:05``)."""
    return timefmt.EPOCH.sub(lambda m: timefmt.stamp(float(m.group(1)), tz, now), reason)
