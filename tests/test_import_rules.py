"""The import rule of docs/architecture.md, as import-linter contracts in pyproject.toml: an upward import or a
cycle between a room's modules fails here, naming the import."""

from __future__ import annotations

import ast
import subprocess
import sys
import tomllib
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())


def test_the_import_linter_contracts_are_kept() -> None:
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_every_package_is_placed_in_the_layers() -> None:
    """A new room must be placed in the import order, or nothing would check its imports."""
    packages = {name.rstrip("*") for name in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    linter = PYPROJECT["tool"]["importlinter"]
    layered = {
        name.strip()
        for contract in linter["contracts"]
        if contract["type"] == "layers" and not contract.get("containers")
        for layer in contract["layers"]
        for name in layer.split("|")
    }
    assert packages == set(linter["root_packages"]) == layered


def test_nothing_imports_the_entry_point() -> None:
    """main.py is the top: it parses arguments and dispatches; no module may import it."""
    importers = []
    for package in PYPROJECT["tool"]["importlinter"]["root_packages"]:
        for path in (REPO / package).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                if any(name == "main" or name.startswith("main.") for name in names):
                    importers.append(str(path.relative_to(REPO)))
    assert not importers, importers


def test_an_upward_import_breaks_the_contracts(tmp_path: Path) -> None:
    """The contracts catch what they are for: memory importing the agent fails, naming the import."""
    for package in PYPROJECT["tool"]["importlinter"]["root_packages"]:
        for path in (REPO / package).rglob("*.py"):
            target = tmp_path / path.relative_to(REPO)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text((REPO / "pyproject.toml").read_text())
    segments = tmp_path / "memory" / "segments.py"
    segments.write_text(segments.read_text() + "\nfrom agent.session import Session  # an upward import\n")
    lint = Path(sys.executable).parent / "lint-imports"
    result = subprocess.run([str(lint), "--no-cache"], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert result.returncode != 0 and "memory.segments -> agent.session" in result.stdout, result.stdout[-3000:]
