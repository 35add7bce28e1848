"""`nodewatch demo --duration`: the README's first command, run as a user would, stops by itself with a summary."""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.conftest import ROOT, Proc
from tests.polling import wait

pytestmark = pytest.mark.slow


def figures_masked(line: str) -> str:
    """A delivered line with its figures (97%, 19s, 94.5%) masked: they vary a little from run to run."""
    return re.sub(r"\d+(\.\d+)?", "N", line)


def readme_demo_lines() -> list[str]:
    text = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    block = text.split("`make demo` prints one line per delivered message", 1)[1].split("```", 2)[1]
    lines = [line for line in block.splitlines() if line.startswith("[")]
    assert len(lines) >= 3
    return lines


def delivered_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if re.match(r"^\[(slack|dingtalk|wecom)\] ", line)]


def headline(line: str) -> str:
    return figures_masked(line).split("] ", 1)[1]


def everything_shown(output: str) -> bool:
    """Every channel, the NotReady node on DingTalk and each README line's headline delivered."""
    delivered = delivered_lines(output.splitlines())
    channels = {line.split("]")[0][1:] for line in delivered}
    shown = {headline(line) for line in delivered}
    notready = any("demo-notready-1" in line for line in delivered if line.startswith("[dingtalk]"))
    return (
        channels == {"slack", "dingtalk", "wecom"}
        and notready
        and all(headline(line) in shown for line in readme_demo_lines())
    )


def test_demo_delivers_to_every_channel_and_stops_cleanly(
    redis_url: str, nodewatch_proc: Callable[..., Proc], tmp_path: Path
) -> None:
    unused = tmp_path / "unused.yaml"  # the demo writes its own config for the processes it starts
    unused.write_text("{}\n")
    demo = nodewatch_proc(
        # long enough for the README's example lines (the memory leak escalates at about 75 s)
        "demo",
        "--duration",
        "120",
        "--flower-port",
        "0",
        "--dashboard-port",
        "0",
        config=unused,
    )
    # first the dashboard's URL, then how to look at it: the commands as they run from another terminal,
    # Flower's password, and the timings it shortens
    demo.wait_for_line("demo: logs in", timeout=90)
    lines = demo.output().splitlines()
    assert re.match(
        r"demo: dashboard on http://127\.0\.0\.1:\d+/fleet \(user demo, password \S+\)$", lines[0]
    ), lines[:3]
    head = lines[1:]
    assert head[0].startswith("demo: Redis ") and head[0].endswith(
        "To look at it from another terminal while it runs:"
    )
    export = head[1].strip()
    m = re.fullmatch(r"export REDIS_URL=(\S+) NODEWATCH_CONFIG=(\S+)", export)
    assert m and m.group(1) == redis_url, head
    look_env = dict(os.environ, REDIS_URL=m.group(1), NODEWATCH_CONFIG=m.group(2))
    assert re.fullmatch(r"  \S*nodewatch alerts list +# open alerts, with their fingerprints", head[2]), head
    assert re.fullmatch(r"  Flower: http://127\.0\.0\.1:0 \(user demo, password \S{12}\)", head[6]), head
    assert head[7].startswith(
        "demo: timings shortened for a first look, defaults in brackets: scans every 5s (1m)"
    )
    # the printed command answers while the demo runs, once the first message is out
    demo.wait_for_line("[dingtalk]", timeout=120)
    listed = subprocess.run(
        [*head[2].split("#")[0].split()], env=look_env, capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert listed.returncode == 0 and listed.stdout.split()[:2] == ["FINGERPRINT", "CLUSTER"], listed
    assert listed.stdout.splitlines()[-1].endswith("alert(s) in 1 cluster(s)"), listed
    # Stopping by itself at --duration is tests/faults/test_faults_localredis.py's (a 25 s demo); this one stops it
    # with SIGTERM (what `kill` sends) as soon as it printed everything checked below, else it stops at the 120 s
    # and the checks say what is missing. Both ways out run the same shutdown and summary.
    wait(
        lambda: demo.proc.poll() is not None or everything_shown(demo.output()),
        240,
        "the README's lines",
        every=0.5,
    )
    if demo.proc.poll() is None:
        demo.proc.send_signal(signal.SIGTERM)
    assert demo.proc.wait(60) == 0, demo.output()
    lines = demo.output().splitlines()
    delivered = delivered_lines(lines)
    assert {line.split("]")[0][1:] for line in delivered} == {"slack", "dingtalk", "wecom"}, demo.output()
    # the scenario's node that loses its kubelet at t=20s is reported on every channel
    assert any("demo-notready-1" in line for line in delivered if line.startswith("[dingtalk]"))
    # the README's example lines are what the demo prints, but for their figures
    # (on one channel at least: which receiver gets a message first within the 120 s is timing, not wording)
    shown = {headline(line) for line in delivered}
    for line in readme_demo_lines():
        assert headline(line) in shown, (line, demo.output())
    (summary,) = [line for line in lines if line.startswith("demo summary:")]
    m = re.match(
        r"demo summary: (\d+) messages delivered .* (\d+) scans, (\d+) retries, (\d+) dead letters", summary
    )
    assert m, summary
    assert int(m.group(1)) == len(delivered) and int(m.group(2)) >= 5 and m.group(4) == "0"
    # every child is gone: no kubesim/chatsim/worker of this run (its own directory) left behind
    workdir = demo.wait_for_line("demo: logs in").split()[3].rstrip(";")
    leftovers = subprocess.run(["pgrep", "-f", workdir], capture_output=True, text=True).stdout.split()
    assert leftovers == []
