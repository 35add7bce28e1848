"""The simulators are installed apart from nodewatch: a command that needs one and does not find it says so in one
line, with how to install it, before it starts anything."""

from __future__ import annotations

import importlib.util
from importlib.machinery import ModuleSpec

import pytest

from worker import cli
from worker.cli import common, simulators


@pytest.fixture
def without_simulators(monkeypatch: pytest.MonkeyPatch) -> None:
    real = importlib.util.find_spec

    def find_spec(name: str, package: str | None = None) -> ModuleSpec | None:
        return None if name in ("kubesim", "chatsim") else real(name, package)

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)


def test_require_names_the_command_what_is_missing_and_how_to_install_it(without_simulators: None) -> None:
    with pytest.raises(common.CliError) as err:
        simulators.require("demo", "kubesim", "chatsim")
    assert str(err.value).startswith("nodewatch demo needs the simulators kubesim and chatsim")
    assert "pip install -e ./kubesim -e ./chatsim" in str(err.value)
    assert err.value.code == common.EXIT_UNAVAILABLE


@pytest.mark.parametrize(
    ("argv", "missing"),
    [
        (["replay", "--scenario", "replay-day"], "the simulator kubesim,"),
        (["demo", "--duration", "1", "--no-flower"], "the simulators kubesim and chatsim,"),
        (["demo", "--kubeconfig", "/nonexistent", "--no-flower"], "the simulator chatsim,"),
    ],
)
def test_replay_and_demo_stop_before_starting_anything(
    without_simulators: None, argv: list[str], missing: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(argv) == common.EXIT_UNAVAILABLE
    err = capsys.readouterr().err
    assert err.startswith(f"nodewatch: nodewatch {argv[0]} needs {missing}") and err.count("\n") == 1


def test_kubesim_scenarios_are_found_where_kubesim_is_installed() -> None:
    assert simulators.kubesim_scenario("demo").is_file()
