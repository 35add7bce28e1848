"""Alert lifecycle decisions, table-driven with explicit ``now`` (as Alertmanager's dedup tests)."""

from __future__ import annotations

import pytest

from worker.model import Finding, NotificationKind, Severity
from worker.model.alerts import AlertState
from worker.rules.lifecycle import step, vanished

W, C, INFO = Severity.WARNING, Severity.CRITICAL, Severity.INFO
FIRING, REPEAT, ESC, RES = (
    NotificationKind.FIRING,
    NotificationKind.REPEAT,
    NotificationKind.ESCALATED,
    NotificationKind.RESOLVED,
)


def finding(sev: Severity | None, hold: float = 0.0) -> Finding:
    return Finding("c", "n1", "cpu_usage", sev, hold_for=hold)


FP = finding(None).fingerprint


def state(status: str, sev: Severity, since: float = 0.0, sent: Severity | None = None) -> AlertState:
    fired = since if status == "firing" else None
    return AlertState(
        FP, "n1", "cpu_usage", status, sev, since, fired, sent or (sev if status == "firing" else None)
    )


CASES = [
    # (name, prev, finding, now, in_cooldown, expected send, expected status or None)
    ("fine stays quiet", None, finding(None), 100, False, None, None),
    ("fires at once without for", None, finding(W), 100, False, FIRING, "firing"),
    ("pending while for runs", None, finding(W, hold=60), 100, False, None, "pending"),
    ("pending not yet due", state("pending", W, since=100), finding(W, 60), 159, False, None, "pending"),
    (
        "pending fires when for elapsed",
        state("pending", W, since=100),
        finding(W, 60),
        160,
        False,
        FIRING,
        "firing",
    ),
    (
        "pending cleared never fired",
        state("pending", W, since=100),
        finding(None, 60),
        130,
        False,
        None,
        None,
    ),
    # time at warning counts towards critical's shorter for-duration (the defaults: 900 s warning, 540 s critical)
    (
        "pending at warning, critical once the critical for has passed since the start",
        state("pending", W, since=100),
        finding(C, 540),
        640,
        False,
        FIRING,
        "firing",
    ),
    (
        "pending at warning, critical too soon",
        state("pending", W, since=100),
        finding(C, 540),
        639,
        False,
        None,
        "pending",
    ),
    (
        "pending at critical, back at warning: warning's longer for applies",
        state("pending", C, since=100),
        finding(W, 900),
        700,
        False,
        None,
        "pending",
    ),
    ("firing silent in cooldown", state("firing", W), finding(W), 500, True, None, "firing"),
    ("firing repeats after cooldown", state("firing", W), finding(W), 500, False, REPEAT, "firing"),
    ("warning to critical at once", state("firing", W), finding(C), 10, True, ESC, "firing"),
    ("critical to warning is not news", state("firing", C), finding(W), 10, True, None, "firing"),
    ("resolved once", state("firing", C), finding(None), 10, True, RES, None),
    (
        "info reported once, never repeated",
        state("firing", INFO),
        finding(INFO),
        10**6,
        False,
        None,
        "firing",
    ),
    ("info needs no resolved notice", state("firing", INFO), finding(None), 10, False, None, None),
]


@pytest.mark.parametrize(
    ("name", "prev", "f", "now", "cool", "send", "status"), CASES, ids=[c[0] for c in CASES]
)
def test_step(
    name: str,
    prev: AlertState | None,
    f: Finding,
    now: float,
    cool: bool,
    send: NotificationKind | None,
    status: str | None,
) -> None:
    out = step(prev, f, now, cool)
    assert out.send == send, out.reason
    assert (out.state.status if out.state else None) == status
    assert out.reason


def test_critical_to_warning_then_back_does_not_escalate_twice() -> None:
    s = step(state("firing", W), finding(C), 10, True).state
    assert s is not None and s.sent_severity == C
    s = step(s, finding(W), 20, True).state
    assert s is not None and s.sent_severity == C
    assert step(s, finding(C), 30, True).send is None


def test_a_reminder_at_warning_after_critical_does_not_make_the_next_critical_an_escalation() -> None:
    """replay-day's day-nab-1 hovers around 90 % for a day: every 4-h reminder fell at warning, and the next
    critical scan sent 'escalated' again, two messages per reminder."""
    told_critical = step(state("firing", W), finding(C), 10, True).state
    assert told_critical is not None
    reminder = step(told_critical, finding(W), 20, False)  # cooldown over, the value at warning now
    assert reminder.send == NotificationKind.REPEAT
    assert reminder.state is not None and reminder.state.sent_severity == C
    assert step(reminder.state, finding(C), 30, True).send is None
    assert step(reminder.state, finding(C), 30, False).send == NotificationKind.REPEAT


def test_vanished_firing_alert_is_resolved_with_reason() -> None:
    out = vanished(state("firing", C), "node removed")
    assert out.send == RES and out.reason == "node removed" and out.state is None
    assert vanished(state("pending", C), "node removed").send is None


def test_state_round_trips_json() -> None:
    s = state("firing", C, since=12.5, sent=W)
    assert AlertState.from_json(s.to_json()) == s


def test_keep_firing_for_merges_a_dip_into_one_incident() -> None:
    on = step(None, finding(C), 0, False).state
    assert on is not None and on.active_at == 0
    dip = step(on, finding(None), 120, True, keep_firing_for=300)
    assert dip.send is None and dip.state == on and "resolves at 300" in dip.reason
    back = step(dip.state, finding(C), 180, True, keep_firing_for=300)
    assert back.send is None and back.state is not None and back.state.active_at == 180
    assert step(back.state, finding(None), 479, True, keep_firing_for=300).send is None
    assert step(back.state, finding(None), 480, True, keep_firing_for=300).send == RES
