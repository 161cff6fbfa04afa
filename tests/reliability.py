"""Figures from the reliability suites, gathered for the README table by bench/reliability.py.

A suite calls `record("malformed input", inputs=530, lost=0, ...)` after its assertions pass.
Nothing is written unless NEWSRAG_RELIABILITY_REPORT names a file, so plain test runs stay clean.
"""

from __future__ import annotations

import json
import os
from typing import Any

REPORT_ENV = "NEWSRAG_RELIABILITY_REPORT"


def record(suite: str, **figures: Any) -> None:
    """Append one suite's figures as a JSON line to the report file, if one is set."""
    target = os.environ.get(REPORT_ENV)
    if not target:
        return
    with open(target, "a", encoding="utf-8") as report:
        report.write(json.dumps({"suite": suite, **figures}, sort_keys=True) + "\n")
