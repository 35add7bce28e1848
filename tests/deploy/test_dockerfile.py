"""The Dockerfile as the deploy issue asks (the image itself is built and run by .ci/image in CI): the base is a
build argument, the build is multi-stage, the image runs as 10001 with a HEALTHCHECK and carries no simulator."""

from __future__ import annotations

import re

from tests.deploy.conftest import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
INSTRUCTIONS = [line for line in DOCKERFILE.splitlines() if line and not line.startswith((" ", "#"))]


def test_the_base_is_a_build_argument_and_the_build_has_two_stages() -> None:
    assert INSTRUCTIONS[0].startswith("ARG BASE=") and ":latest" not in INSTRUCTIONS[0]
    froms = [line for line in INSTRUCTIONS if line.startswith("FROM ")]
    assert froms == ["FROM ${BASE} AS build", "FROM ${BASE}"]
    assert [line for line in INSTRUCTIONS if line.startswith("COPY --from=build")]


def test_the_image_runs_as_10001_with_a_healthcheck() -> None:
    final = DOCKERFILE.split("FROM ${BASE}\n", 1)[1]
    assert re.search(r"^USER 10001:10001$", final, re.M)
    assert re.search(r'^HEALTHCHECK .*CMD \["nodewatch", "health"\]$', final, re.M)


def test_ci_builds_and_smoke_tests_the_image() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    image = (ROOT / ".ci" / "image").read_text()
    assert "bash .ci/image" in run
    for smoke in ("nodewatch --version", "nodewatch config check", "nodewatch scan --kubeconfig"):
        assert smoke in image, smoke
    assert '--build-arg "BASE=$BASE_IMAGE"' in image and "mmdebstrap" in image
