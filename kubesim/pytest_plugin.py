"""pytest fixtures that start kubesim processes: `kubesim_factory` and `kubesim_server`."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from kubesim.testing import KubesimProcess


@pytest.fixture
def kubesim_factory() -> Iterator[Callable[..., KubesimProcess]]:
    """Call with KubesimProcess's keyword arguments; every process started is stopped at teardown."""
    started: list[KubesimProcess] = []

    def start(**kwargs: Any) -> KubesimProcess:
        proc = KubesimProcess(**kwargs).start()
        started.append(proc)
        return proc

    yield start
    for proc in started:
        proc.stop()


@pytest.fixture(scope="module")
def kubesim_server() -> Iterator[KubesimProcess]:
    """One cluster named "test" with nodes test-1..3 (the e2e-like shape), shared by a test module."""
    from kubesim.scenario import SCENARIOS_DIR

    with KubesimProcess(scenario=SCENARIOS_DIR / "test.yaml") as proc:
        yield proc
