"""kubesim and chatsim are test doubles installed apart from nodewatch (never in its wheel or image): where they are,
or one line saying how to get them. Found without importing them: the product never loads a simulator itself."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from worker.cli import common

INSTALL = "pip install -e ./kubesim -e ./chatsim in a nodewatch checkout (make demo and make test do it)"


def require(command: str, *names: str) -> None:
    """A CliError naming ``command`` and what it lacks, unless every simulator in ``names`` can be imported."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        raise common.CliError(
            f"nodewatch {command} needs the simulator{'s' if len(missing) > 1 else ''} {' and '.join(missing)}, "
            f"which the nodewatch package does not contain: {INSTALL}",
            common.EXIT_UNAVAILABLE,
        )


def kubesim_scenario(name: str) -> Path:
    """kubesim's own scenario ``name`` (kubesim/scenarios/NAME.yaml), wherever kubesim is installed."""
    require("demo", "kubesim")
    spec = importlib.util.find_spec("kubesim")
    assert spec is not None and spec.submodule_search_locations is not None
    return Path(next(iter(spec.submodule_search_locations))) / "scenarios" / f"{name}.yaml"
