"""Fixtures of the cluster CLI tests: ``run`` calls `nodewatch ...` in this process (real HTTP, real Redis)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from worker import cli


@pytest.fixture()
def run(
    redis_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Callable[..., tuple[int, str]]:
    """``run("cluster", "list", ...)`` -> (exit code, stdout + stderr)."""
    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.delenv("NODEWATCH_CLUSTERS_DIR", raising=False)

    def go(*argv: str) -> tuple[int, str]:
        try:
            code = cli.main(list(argv))
        except SystemExit as e:
            code = int(e.code or 0)
        out = capsys.readouterr()
        return code, out.out + out.err

    return go
