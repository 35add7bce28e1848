"""The runtime wheel built from pyproject.toml is nodewatch alone: no simulator module, no simulator dependency.

kubesim and chatsim are packages of their own (kubesim/pyproject.toml, chatsim/pyproject.toml) that the Makefile
installs for the tests and the demo; the wheel and the image that users run must not carry them.
"""

from __future__ import annotations

import email.parser
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
SIMULATORS = ("kubesim", "chatsim")


@pytest.fixture(scope="module")
def runtime_wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The wheel of the root pyproject.toml, built from a copy of the tree (a build writes build/ and *.egg-info
    where it runs) that keeps kubesim/ and chatsim/ beside worker/, as a checkout does, in pip's isolated build
    environment (the setuptools pyproject.toml asks for)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    shutil.copytree(
        ROOT,
        src,
        ignore=shutil.ignore_patterns(
            ".git",
            ".venv",
            "build",
            "dist",
            "*.egg-info",
            "__pycache__",
            ".*_cache",
            ".nodewatch",
            "tests",
            "bench",
        ),
    )
    out = tmp / "dist"
    pip_wheel = [
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "-q",
        "--no-deps",
        str(src),
        "-w",
        str(out),
    ]
    subprocess.run(
        pip_wheel,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = out.glob("nodewatch-*.whl")
    return zipfile.ZipFile(wheel)


def test_the_runtime_wheel_holds_no_simulator_module(runtime_wheel: zipfile.ZipFile) -> None:
    names = runtime_wheel.namelist()
    tops = {name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")}
    assert tops == {"worker", "tasks", "beat_schedule.py"}, tops
    assert not [n for n in names if any(sim in n for sim in SIMULATORS)]
    # what the runtime does need is there
    assert "worker/notify/templates/zh.yaml" in names and "tasks/scan.py" in names
    # the dashboard's pages, stylesheet and script ship with it (package data, not only modules)
    assert {"worker/dashboard/app.py", "worker/dashboard/templates/fleet.html", "worker/dashboard/static/dashboard.js",
            "worker/dashboard/static/dashboard.css"} <= set(names)  # fmt: skip


def test_the_runtime_wheel_needs_no_simulator_dependency(runtime_wheel: zipfile.ZipFile) -> None:
    (metadata,) = [n for n in runtime_wheel.namelist() if n.endswith(".dist-info/METADATA")]
    meta = email.parser.Parser().parsestr(runtime_wheel.read(metadata).decode())
    runtime = [r for r in meta.get_all("Requires-Dist") or [] if "extra ==" not in r]
    assert runtime and not [r for r in runtime if r.lower().startswith(("cryptography", "nodewatch-"))], (
        runtime
    )


def test_the_image_copies_no_simulator() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    copied = [line for line in dockerfile.splitlines() if line.startswith(("COPY", "ADD"))]
    assert copied and not [line for line in copied if any(sim in line for sim in SIMULATORS)], copied
    assert not [line for line in copied if line.split()[1] == "."], "COPY . would bring the simulators in"


@pytest.mark.slow
def test_a_documented_command_reads_its_data_from_the_installed_wheel(
    runtime_wheel: zipfile.ZipFile, tmp_path: Path
) -> None:
    """``nodewatch replay --sketch-timing`` (docs/noise.md, bench/README.md) works from the wheel, not only from a
    checkout: the wheel unpacked alone on the path (its dependencies and kubesim from this environment), run
    from a directory that is no checkout."""
    assert "worker/replay/sketch-timing.yaml" in runtime_wheel.namelist()
    site = tmp_path / "site"
    runtime_wheel.extractall(site)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run(
        [sys.executable, "-c", "import worker.cli.replay as r; print(r.SKETCH_TIMING)"],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        cwd=elsewhere,
    )
    assert out.returncode == 0 and out.stdout.strip() == str(site / "worker/replay/sketch-timing.yaml"), out
    replay = subprocess.run(
        [sys.executable, "-m", "worker.cli", "replay", "--sketch-timing", "--scenario", "replay-flap",
         "--hours", "0.2", "-o", "json"],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True, text=True, timeout=240, cwd=elsewhere,
    )  # fmt: skip
    assert replay.returncode == 0, replay.stderr[-2000:]
    assert "scenario" in replay.stdout and "Traceback" not in replay.stderr
