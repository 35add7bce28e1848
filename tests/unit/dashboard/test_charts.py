"""The server-drawn SVG: a history's line, its warning/critical/kubelet lines, the predicted line to the limit
when worker/predict gives one and none when it refuses; never more than MAX_POINTS points; bars by level."""

from __future__ import annotations

import re

from worker.dashboard import charts
from worker.predict.kubelet import Limit
from worker.predict.outcome import Prediction, Refusal

NOW = 1_000_000.0
WORDS = {
    "warning": "warning",
    "critical": "critical",
    "limit": "limit",
    "predicted": "predicted",
    "empty": "none",
}


def prediction(eta_s: float) -> Prediction:
    return Prediction(eta_s, eta_s * 0.9, eta_s * 1.1, 0.99, 83.0, 1.0, Limit(90.0, "nodefs.available<10%"),
                      "trend", NOW - 86400, "rising")  # fmt: skip


def test_a_history_with_its_lines_and_the_predicted_fill() -> None:
    points = [(NOW - 60 * i, 80.0 + (600 - i) * 0.005) for i in range(600, 0, -1)]
    svg = str(charts.history(points, NOW - 6 * 3600, NOW, 80.0, 88.0, 90.0, prediction(7 * 3600), WORDS))
    assert (
        svg.count('class="line warn"')
        == svg.count('class="line crit"')
        == svg.count('class="line limit"')
        == 1
    )
    assert svg.count('class="predicted"') == 1 and "predicted 7.0 h" in svg
    (drawn,) = re.findall(r'<polyline class="series" points="([^"]+)"', svg)
    assert len(drawn.split()) == charts.MAX_POINTS  # 600 points thinned


def test_no_predicted_line_when_the_predictor_refuses_and_a_note_when_empty() -> None:
    refused = Refusal("not_rising", "flat")
    svg = str(charts.history([(NOW - 60, 40.0), (NOW, 41.0)], NOW - 3600, NOW, 70, 90, None, refused, WORDS))
    assert 'class="predicted"' not in svg and 'class="line limit"' not in svg
    assert ">none<" in str(charts.history([], NOW - 3600, NOW, 70, 90, None, None, WORDS))


def test_bars_by_level() -> None:
    assert 'class="bar crit"' in charts.bar(95, 70, 90) and 'class="bar warn"' in charts.bar(75, 70, 90)
    assert 'class="bar ok"' in charts.bar(10, 70, 90) and "–" in charts.bar(None)
    assert "width:100%" in charts.bar(130)
