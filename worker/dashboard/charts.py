"""Inline SVG drawn on the server: a node's history of one metric with its warning, critical and kubelet lines
and, where ``trend.predict`` gives one, the predicted line to exhaustion; and the usage bars of the node table.
Pure: points and lines in, markup out (escaped by the template engine's ``Markup`` only after being built from
numbers and fixed words here)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from markupsafe import Markup, escape

from worker.dashboard import views
from worker.predict import trend

W, H = 640, 170
PAD_L, PAD_R, PAD_T, PAD_B = 36, 10, 10, 22
MAX_POINTS = 320  # what a chart draws at most: a week of 60 s scans is ~10,000 points


def level_class(value: float | None, warning: float | None, critical: float | None) -> str:
    if value is None:
        return "none"
    if critical is not None and value >= critical:
        return "crit"
    if warning is not None and value >= warning:
        return "warn"
    return "ok"


def bar(value: float | None, warning: float | None = None, critical: float | None = None) -> Markup:
    """A usage bar with its figure: a div whose width is the percentage (no script needed)."""
    if value is None:
        return Markup('<span class="bar none">–</span>')
    width = max(0.0, min(100.0, value))
    cls = level_class(value, warning, critical)
    return Markup(f'<span class="bar {cls}"><i style="width:{width:.0f}%"></i><b>{value:.0f}%</b></span>')


def _clock(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%H:%M")


def history(
    points: Sequence[tuple[float, float]],
    since: float,
    now: float,
    warning: float | None,
    critical: float | None,
    limit: float | None,
    outcome: trend.Outcome | None,
    labels: dict[str, str],
) -> Markup:
    """One metric's chart. ``labels``: the words it writes (warning, critical, limit, predicted), in the page's
    language. The prediction is drawn from the fitted level now to the limit, the x axis stretched to show it
    as far as the history's span again; beyond that the line leaves the chart and the text says when."""
    pts = views.thin(points, MAX_POINTS)
    if pts:  # a history shorter than the window fills the chart
        since = max(since, pts[0][0])
    span = max(now - since, 60.0)
    predicted = outcome if isinstance(outcome, trend.Prediction) else None
    t_end = now  # stretched to the limit when the prediction lands within one more span, else by one span
    if predicted is not None:
        t_end = now + min(predicted.eta_s, span)
    lines = [v for v in (warning, critical, limit) if v is not None]
    values = [v for _, v in pts]
    top = max([100.0, *lines, *values])
    # from a little below the lowest of the series and the lines: a fill from 80 to 84 % must show as a rise
    low = max(0.0, (min([*values, *lines], default=0.0) - 10) // 10 * 10)

    def x(t: float) -> float:
        return PAD_L + (t - since) / (t_end - since) * (W - PAD_L - PAD_R)

    def y(v: float) -> float:
        return PAD_T + (1 - (v - low) / (top - low)) * (H - PAD_T - PAD_B)

    out = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" xmlns="http://www.w3.org/2000/svg">']
    for v in (low, (low + top) / 2, top):
        out.append(f'<line class="grid" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(v):.1f}" y2="{y(v):.1f}"/>')
        out.append(f'<text class="axis" x="{PAD_L - 4}" y="{y(v) + 4:.1f}" text-anchor="end">{v:.0f}%</text>')
    for t in (since, since + (now - since) / 2, now):
        out.append(f'<text class="axis" x="{x(t):.1f}" y="{H - 6}" text-anchor="middle">{_clock(t)}</text>')
    for value, cls, word in ((warning, "warn", labels["warning"]), (critical, "crit", labels["critical"]),
                             (limit, "limit", labels["limit"])):  # fmt: skip
        if value is not None:
            out.append(f'<line class="line {cls}" x1="{PAD_L}" x2="{W - PAD_R}" y1="{y(value):.1f}" '
                       f'y2="{y(value):.1f}"><title>{escape(word)} {value:.0f}%</title></line>')  # fmt: skip
    if pts:
        path = " ".join(f"{x(t):.1f},{y(v):.1f}" for t, v in pts)
        out.append(f'<polyline class="series" points="{path}"/>')
    else:
        out.append(
            f'<text class="empty" x="{W / 2}" y="{H / 2}" text-anchor="middle">{escape(labels["empty"])}</text>'
        )
    if predicted is not None and limit is not None:
        t1 = min(now + predicted.eta_s, t_end)
        v1 = predicted.level + predicted.rate_per_h * (t1 - now) / 3600.0
        out.append(f'<line class="predicted" x1="{x(now):.1f}" y1="{y(predicted.level):.1f}" x2="{x(t1):.1f}" '
                   f'y2="{y(min(v1, top)):.1f}"/>')  # fmt: skip
        out.append(f"<title>{escape(labels['predicted'])} {trend.human(predicted.eta_s)}</title>")
    out.append("</svg>")
    return Markup("".join(out))
