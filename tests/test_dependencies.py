"""Every third-party package the code imports is declared in pyproject.toml, so an install from the project's
own metadata (not only through the lock) has what the code needs."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = [name.rstrip("*") for name in tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]]
SOURCE_ROOTS = (*PACKAGES, "benchmarks", "main.py")
LOCAL = {*PACKAGES, "benchmarks", "main", "tests"}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> tuple[set[str], set[str]]:
    """Distribution names of the main dependencies, and of every extra."""
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    names = lambda specs: {_normal(re.split(r"[<>=!~\[; ]", spec, maxsplit=1)[0]) for spec in specs}  # noqa: E731
    extras = set().union(*(names(group) for group in project.get("optional-dependencies", {}).values()))
    return names(project["dependencies"]), extras


def _imports() -> dict[str, set[str]]:
    """Top-level module name -> files importing it, over the source (not the tests)."""
    found: dict[str, set[str]] = {}
    roots = [REPO / root for root in SOURCE_ROOTS if (REPO / root).exists()]
    files = [p for root in roots for p in (root.rglob("*.py") if root.is_dir() else [root])]
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                modules = [node.module]
            else:
                continue
            for module in modules:
                top = module.split(".")[0]
                if top not in sys.stdlib_module_names and top not in LOCAL:
                    found.setdefault(top, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_imported_package_is_declared() -> None:
    main, extras = _declared()
    owners = packages_distributions()
    missing = {}
    for module, files in _imports().items():
        dists = {_normal(d) for d in owners.get(module, [])}
        if not dists:
            continue  # not installed here: an optional backend (vllm, llama_cpp) whose import is guarded
        if not dists & (main | extras):
            missing[module] = (sorted(dists), sorted(files)[:3])
    assert not missing, f"imported but not declared in pyproject.toml: {missing}"


def test_test_only_servers_are_not_runtime_dependencies() -> None:
    main, extras = _declared()
    assert "fastapi" not in main and "fastapi" in extras
