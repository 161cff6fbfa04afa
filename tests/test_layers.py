"""The layers contract: kernel ← ingest ← rag ← {ui, eval, cli, serve}, imports read from the
source (module-level and deferred ones alike), so no module reaches up or sideways.

`make lint` runs this file; it fails on the first import against the layers.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
# Each layer may import the layers listed for it (and itself); nothing else of ours.
ALLOWED = {
    "kernel": set(),
    "ingest": {"kernel"},
    "rag": {"kernel", "ingest"},
    "eval": {"kernel", "ingest", "rag"},
    "ui": {"kernel", "ingest", "rag"},
    "serve": {"kernel", "ingest", "rag", "ui"},  # `serve --ui` mounts the Gradio app
    "cli": {"kernel", "ingest", "rag", "eval", "ui", "serve", "watch"},
    "bench": {"kernel", "ingest", "rag", "eval", "ui", "serve", "cli"},
}
PACKAGES = ("newsrag", "ingest", "rag", "eval", "ui", "serve", "bench", "tests")


def layer_of(module: str) -> str | None:
    """The layer a dotted module name belongs to (None: not ours)."""
    top = module.split(".")[0]
    if top == "newsrag":
        return "cli" if module == "newsrag.cli" or module.startswith("newsrag.cli.") else "kernel"
    return top if top in PACKAGES else None


def imports_of(path: Path) -> Iterator[tuple[int, str]]:
    """(line, module) for every absolute import in a file, at any depth."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.lineno, node.module


def violations(root: Path) -> list[str]:
    """Every import under `root` that goes against ALLOWED, as "file:line: a -> b"."""
    found = []
    for path in sorted(root.glob("*/**/*.py")):
        relative = path.relative_to(root)
        module = ".".join(relative.with_suffix("").parts)
        source = layer_of(module)
        if source is None or source == "tests" or relative.parts[0] not in PACKAGES:
            continue
        for line, imported in imports_of(path):
            target = layer_of(imported)
            if target is not None and target != source and target not in ALLOWED[source]:
                found.append(f"{relative}:{line}: {source} -> {target} ({imported})")
    return found


def test_every_import_follows_the_layers() -> None:
    assert violations(REPO) == []


@pytest.mark.parametrize(("module", "imported", "layer"), [
    ("newsrag/settings.py", "rag.models", "kernel -> rag"),
    ("ingest/chunk.py", "rag.search", "ingest -> rag"),
    ("rag/search.py", "ui.render", "rag -> ui"),
    ("eval/metrics.py", "ui.render", "eval -> ui"),
    ("bench/x.py", "tests.fakes", "bench -> tests"),
    ("ingest/embed.py", "newsrag.cli.app", "ingest -> cli"),
])
def test_an_import_against_the_layers_is_caught(tmp_path: Path, module: str, imported: str,
                                                layer: str) -> None:
    path = tmp_path / module
    path.parent.mkdir(parents=True)
    # A deferred import counts too: it is a dependency all the same.
    path.write_text(f"def later() -> None:\n    from {imported} import thing\n")
    assert violations(tmp_path) == [f"{module}:2: {layer} ({imported})"]


def module_imports(path: Path, known: set[str]) -> set[str]:
    """Our modules that `path` imports when it is imported: top-level statements only
    (deferred imports in functions and TYPE_CHECKING blocks run later, so cannot cycle)."""
    found: set[str] = set()
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found & known


def import_cycles(root: Path) -> list[list[str]]:
    """Groups of our modules that import one another at import time (Tarjan's SCC)."""
    files = {".".join(p.relative_to(root).with_suffix("").parts).removesuffix(".__init__"): p
             for p in root.glob("*/**/*.py") if p.relative_to(root).parts[0] in PACKAGES}
    graph = {module: module_imports(path, set(files)) - {module}
             for module, path in files.items()}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph[module]:
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            group = []
            while (member := stack.pop()) != module:
                group.append(member)
            if group:
                cycles.append(sorted([module, *group]))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_no_module_imports_itself_through_others() -> None:
    assert import_cycles(REPO) == []


def test_an_import_cycle_is_caught(tmp_path: Path) -> None:
    (tmp_path / "rag").mkdir()
    (tmp_path / "rag" / "a.py").write_text("from rag.b import thing\n")
    (tmp_path / "rag" / "b.py").write_text("import rag.c\n")
    (tmp_path / "rag" / "c.py").write_text("from rag import a\n")
    assert import_cycles(tmp_path) == [["rag.a", "rag.b", "rag.c"]]


if __name__ == "__main__":  # python -m tests.test_layers: the check's figures, for the record
    print(f"imports against the layers: {len(violations(REPO))}; "
          f"import-time cycles: {len(import_cycles(REPO))}")
