"""Contract-test fixtures: one ChatSim per module, reset for each test, and a fresh requests.Session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from chatsim.testing import ChatSim


@pytest.fixture(scope="module")
def _chatsim() -> Iterator[ChatSim]:
    with ChatSim() as chat:
        yield chat


@pytest.fixture
def chat(_chatsim: ChatSim) -> Iterator[ChatSim]:
    _chatsim.reset()
    yield _chatsim
    _chatsim.reset()


@pytest.fixture
def session() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s
