"""`nodewatch demo --duration`: the README's first command, run as a user would, stops by itself with a summary."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
NODEWATCH = str(Path(sys.executable).with_name("nodewatch"))


def figures_masked(line: str) -> str:
    """A delivered line with its figures (97%, 19s, 94.5%) masked: they vary a little from run to run."""
    return re.sub(r"\d+(\.\d+)?", "N", line)


def readme_demo_lines() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = text.split("`make demo` prints one line per delivered message", 1)[1].split("```", 2)[1]
    lines = [line for line in block.splitlines() if line.startswith("[")]
    assert len(lines) >= 3
    return lines


def test_demo_delivers_to_every_channel_and_stops_cleanly(redis_url: str) -> None:
    env = dict(os.environ, REDIS_URL=redis_url, PYTHONUNBUFFERED="1")
    out = subprocess.run(
        # long enough for the README's example lines (the memory leak escalates at about 75 s)
        [NODEWATCH, "demo", "--duration", "120", "--no-flower", "--dashboard-port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stdout + out.stderr
    lines = out.stdout.splitlines()
    # the dashboard's URL comes first
    assert re.match(
        r"demo: dashboard on http://127\.0\.0\.1:\d+/fleet \(user demo, password \S+\)$", lines[0]
    ), lines[:3]
    delivered = [line for line in lines if re.match(r"^\[(slack|dingtalk|wecom)\] ", line)]
    assert {line.split("]")[0][1:] for line in delivered} == {"slack", "dingtalk", "wecom"}, out.stdout
    # the scenario's node that loses its kubelet at t=20s is reported on every channel
    assert any("demo-notready-1" in line for line in delivered if line.startswith("[dingtalk]"))
    # the README's example lines are what the demo prints, but for their figures
    shown = {figures_masked(line) for line in delivered}
    for line in readme_demo_lines():
        assert figures_masked(line) in shown, (line, out.stdout)
    (summary,) = [line for line in lines if line.startswith("demo summary:")]
    m = re.match(
        r"demo summary: (\d+) messages delivered .* (\d+) scans, (\d+) retries, (\d+) dead letters", summary
    )
    assert m, summary
    assert int(m.group(1)) == len(delivered) and int(m.group(2)) >= 5 and m.group(4) == "0"
    # every child is gone: no kubesim/chatsim/worker left behind from this run
    leftovers = subprocess.run(
        ["pgrep", "-f", "nodewatch-demo-"], capture_output=True, text=True
    ).stdout.split()
    assert leftovers == []
