"""The `>>>` examples in the library's docstrings run, so they stay true. An example that
needs a store or a model is marked `# doctest: +SKIP` (it is read, not run); every other one
runs here."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
LIBRARY = ("newsrag", "ingest", "rag", "eval", "ui")
WITH_EXAMPLES = sorted(
    ".".join(path.relative_to(REPO).with_suffix("").parts)
    for package in LIBRARY for path in (REPO / package).rglob("*.py")
    if ">>> " in path.read_text(encoding="utf-8"))


def test_the_library_has_examples() -> None:
    assert len(WITH_EXAMPLES) >= 10, WITH_EXAMPLES


@pytest.mark.parametrize("module_name", WITH_EXAMPLES)
def test_docstring_examples(module_name: str) -> None:
    module = importlib.import_module(module_name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
