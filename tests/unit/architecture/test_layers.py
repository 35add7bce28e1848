"""The import-linter contracts in pyproject.toml are worth their failing test: each planted violation, made in a
copy of the tree, breaks them (an import a few layers up, one through a helper module, the Celery shells, the
simulators); the unmodified copy keeps them; every room is in a layer; docs/architecture.md's table says what the
layers contract says."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
LINT_IMPORTS = str(Path(sys.executable).with_name("lint-imports"))
CONFIG = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]
(LAYERS,) = [c for c in CONFIG["contracts"] if c["type"] == "layers"]


def parse_layer(layer: str) -> tuple[list[str], bool]:
    """('worker.a | (worker.b)') -> (["worker.a", "worker.b"], independent)."""
    independent = ":" not in layer
    names = re.split(r"[|:]", layer)
    return [name.strip().strip("()") for name in names], independent


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """The packages lint-imports reads and the same configuration, in a directory of their own."""
    for name in CONFIG["root_packages"]:
        shutil.copytree(
            ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info", "build")
        )
    for name in ("pyproject.toml", "beat_schedule.py"):
        shutil.copy(ROOT / name, tmp_path / name)
    return tmp_path


def lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, PYTHONPATH=str(tree))  # the copy, not the installed tree
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache", "--no-logo"],
        cwd=tree,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def plant(tree: Path, module: str, line: str) -> None:
    path = tree / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = path.with_suffix("") / "__init__.py"
    path.write_text(path.read_text() + f"\n{line}\n")


def statuses(output: str) -> dict[str, bool]:
    """Each contract's name -> kept, from lint-imports' report (which wraps a long name over two lines)."""
    report = output.split("dependencies.", 1)[1].split("\nContracts:", 1)[0]
    out: dict[str, bool] = {}
    entry = ""
    for line in report.splitlines():
        if not line.strip() or set(line.strip()) == {"-"}:
            continue
        entry = f"{entry} {line.strip()}".strip()
        found = re.match(r"(.*?) (KEPT|BROKEN)\b", entry)
        if found:
            out[found.group(1)] = found.group(2) == "KEPT"
            entry = ""
    return out


def test_the_unmodified_tree_keeps_every_contract(tree: Path) -> None:
    result = lint_imports(tree)
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(statuses(result.stdout).values()) and len(statuses(result.stdout)) == len(CONFIG["contracts"])


@pytest.mark.parametrize(
    ("where", "line", "broken"),
    [
        # a pure room reaching the top: the layers and the pure-rooms contracts
        ("worker.rules.common", "import worker.pipeline", ["layers:", "pure rooms"]),
        ("worker.model", "import worker.settings", ["layers:", "pure rooms"]),
        ("worker.state.keys", "import worker.pipeline", ["layers:"]),
        ("worker.collect.reader", "from worker.state import keys", ["layers:"]),
        ("worker.settings", "import worker.rules.common", ["layers:"]),
        ("worker.pipeline", "import tasks", ["layers:"]),
        ("worker.notify.redact", "import worker.cli", ["layers:"]),
        ("worker.pipeline", "import kubesim.testing", ["nodewatch imports no simulator"]),
        ("kubesim.cli", "import worker.model", ["kubesim and chatsim import nothing"]),
        ("worker.pipeline", "import beat_schedule", ["beat_schedule"]),
    ],
)
def test_a_planted_violation_breaks_the_contracts(
    tree: Path, where: str, line: str, broken: list[str]
) -> None:
    plant(tree, where, line)
    result = lint_imports(tree)
    assert result.returncode != 0, f"{where}: {line!r} kept every contract\n{result.stdout}"
    kept = statuses(result.stdout)
    assert len(kept) == len(CONFIG["contracts"]), result.stdout
    assert {name for name, ok in kept.items() if not ok} == {n for n in kept if n.startswith(tuple(broken))}


def test_an_indirect_import_through_a_helper_breaks_the_layers(tree: Path) -> None:
    """No indirect-import escape: rules -> a helper module outside every layer -> pipeline is a violation too."""
    (tree / "worker" / "helper.py").write_text('"""planted"""\n\nimport worker.pipeline\n')
    plant(tree, "worker.rules.common", "import worker.helper")
    result = lint_imports(tree)
    assert result.returncode != 0 and "worker.helper" in result.stdout, result.stdout


def test_every_room_of_worker_is_in_a_layer() -> None:
    placed = {name for layer in LAYERS["layers"] for name in parse_layer(layer)[0]}
    rooms = {
        f"worker.{p.stem}"
        for p in (ROOT / "worker").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").exists()
    }
    assert rooms - placed == set(), "a room without a layer: add it to the layers contract and the docs table"
    assert {"tasks"} <= placed


def documented_layers() -> list[tuple[list[str], bool]]:
    """The rows of docs/architecture.md's "Who may import whom" table: the rooms of each and whether they are
    independent ("apart") or may import each other."""
    text = (ROOT / "docs" / "architecture.md").read_text()
    section = text.split("## Who may import whom", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 3 or not cells[0].isdigit():
            continue
        rooms = [
            r.strip("`").removesuffix("/").removesuffix(".py").replace("/", ".")
            for r in re.findall(r"`[^`]+`", cells[1])
        ]
        rows.append((rooms, cells[2] != "may import each other"))
    return rows


def test_the_docs_table_says_what_the_contract_says() -> None:
    contract = [parse_layer(layer) for layer in LAYERS["layers"]]
    assert documented_layers() == contract
