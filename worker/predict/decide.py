"""From a prediction to a severity, with hysteresis on the ETA so that an alert does not flap. Pure.

Like ``worker/rules/lifecycle.step`` it is handed everything (the prediction, the horizons, the severity decided
last time) and returns the decision with its reason, so "why did (or didn't) it page?" has an answer.

- **critical** when the ETA is within ``critical_s`` [4 h], **warning** within ``warning_s`` [24 h] — node-mixin's
  NodeFilesystemSpaceFillingUp horizons;
- only when the fitted level is at least ``floor`` [60 % used — node-mixin's "< 40 % available"], so a nearly
  empty disk filling fast is not a page;
- only with a ``confidence`` of at least ``min_confidence`` [0.75] to start (clear fills score ~1.0, a noisy
  short stretch ~0.5-0.7); a firing one is kept down to half that;
- **hysteresis**: a severity is kept until the ETA moves out past its horizon plus ``clear_margin`` [25 %]
  (critical held up to 5 h, warning up to 30 h), so an ETA wobbling around 4 h does not flap;
- a refusal that brings no new evidence (``too_few_points``, ``stale``, ``past_limit``) keeps the severity it
  had;
- ``step`` and ``poor_fit`` keep it **until the last predicted ETA** (``hold_until``, kept with the previous
  decision's finding) has passed: a burst on top of a fill, or a noisy stretch, is no evidence that the fill
  stopped — clearing there restarted the alert after every burst of a bursty fill and lost its lead time;
- every other refusal (not rising, stopped, fell, daily cycle, GC will clean) clears it: each says the fill
  ended; ``fell`` that it was evicted, rotated or cleaned, so the next rise is a new alert (and the replay scores
  its exhaustion apart).
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.model import Severity
from worker.predict import trend

HOLDS = frozenset({trend.TOO_FEW, trend.STALE, trend.PAST_LIMIT})
HOLDS_UNTIL_ETA = frozenset({trend.STEP, trend.POOR_FIT})


@dataclass(frozen=True)
class Horizons:
    warning_s: float = 24 * 3600.0
    critical_s: float = 4 * 3600.0
    floor: float = 60.0
    min_confidence: float = 0.75
    clear_margin: float = 0.25


HORIZONS = Horizons()


@dataclass(frozen=True)
class Decision:
    severity: Severity | None
    reason: str


def decide(
    prediction: trend.Outcome,
    thresholds: Horizons,
    previous: Severity | None,
    now: float,
    hold_until: float | None = None,
) -> Decision:
    """The severity of a predictive alert now, given the one decided at the previous scan and, while that one
    was active, the time its last ETA pointed at (``hold_until``, epoch seconds like ``now``)."""
    h = thresholds
    if isinstance(prediction, trend.Refusal):
        if previous is not None and prediction.code in HOLDS:
            return Decision(previous, f"kept {previous.label}: {prediction.reason}")
        if (
            previous is not None
            and prediction.code in HOLDS_UNTIL_ETA
            and hold_until is not None
            and now < hold_until
        ):
            left = trend.human(hold_until - now)
            return Decision(
                previous, f"kept {previous.label} until the last ETA (~{left}): {prediction.reason}"
            )
        return Decision(
            None, ("cleared: " if previous is not None else "no prediction: ") + prediction.reason
        )
    p = prediction
    if p.level < h.floor:
        return Decision(None, f"below the usage floor ({p.level:.1f} % < {h.floor:g} %): {p.reason}")
    needed = h.min_confidence if previous is None else h.min_confidence / 2
    if p.confidence < needed:
        return Decision(None, f"not sure enough ({p.confidence:.0%} < {needed:.0%}): {p.reason}")
    eta = trend.human(p.eta_s)
    if p.eta_s <= h.critical_s:
        return Decision(Severity.CRITICAL, f"within {trend.human(h.critical_s)}: {p.reason}")
    if previous == Severity.CRITICAL and p.eta_s <= h.critical_s * (1 + h.clear_margin):
        return Decision(
            Severity.CRITICAL,
            f"kept critical: ~{eta} is within {trend.human(h.critical_s)} + {h.clear_margin:.0%}: {p.reason}",
        )
    if p.eta_s <= h.warning_s:
        return Decision(Severity.WARNING, f"within {trend.human(h.warning_s)}: {p.reason}")
    if previous is not None and p.eta_s <= h.warning_s * (1 + h.clear_margin):
        return Decision(
            Severity.WARNING,
            f"kept warning: ~{eta} is within {trend.human(h.warning_s)} + {h.clear_margin:.0%}: {p.reason}",
        )
    beyond = f"{trend.human(h.warning_s)}" + (f" + {h.clear_margin:.0%}" if previous is not None else "")
    return Decision(None, f"~{eta} is beyond {beyond}: {p.reason}")
