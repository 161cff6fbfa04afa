"""Figures from the reliability suites, gathered by bench/reliability.py for its table
(docs/benchmarks.md, "Reliability and security").

A suite calls `record("malformed input", inputs=530, lost=0, ...)` after its assertions pass.
Nothing is written unless NEWSRAG_RELIABILITY_REPORT names a file, so plain test runs stay clean.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any

REPORT_ENV = "NEWSRAG_RELIABILITY_REPORT"


def record(suite: str, **figures: Any) -> None:
    """Append one suite's figures as a JSON line to the report file, if one is set."""
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    with open(target, "a", encoding="utf-8") as report:
        report.write(json.dumps({"suite": suite, **figures}, sort_keys=True) + "\n")


class Figures(dict[str, Any]):
    """A suite's figures, filled in by its tests as they pass and recorded by the conftest hook
    at the end of the run — only if every test of the module passed and `complete` holds (for
    example, the whole module ran, not a -k selection)."""

    def __init__(self, suite: str, complete: Callable[[dict[str, Any]], bool] = bool,
                 **fixed: Any) -> None:
        super().__init__()
        self.suite, self.complete, self.fixed = suite, complete, fixed
        self.module = sys._getframe(1).f_globals["__name__"]
        SUITES.append(self)


SUITES: list[Figures] = []


def record_suites(failed_files: set[str]) -> None:
    """Record every suite whose module ran to completion with no failure."""
    for figures in SUITES:
        path = figures.module.replace(".", "/") + ".py"
        if path not in failed_files and figures.complete(figures):
            record(figures.suite, **figures, **figures.fixed)
