"""Run the reliability and security suites and print their figures as one Markdown table.

    .venv/bin/python -m bench.reliability            # every suite (about 10 minutes here)
    .venv/bin/python -m bench.reliability --only crash

Each suite asserts its own guarantees (a failing suite fails this run); the figures come from
`tests.reliability.record`, written only after a suite's assertions passed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SUITES = {
    "malformed": ["tests/test_malformed_corpus.py", "tests/test_segment_chunk.py"],
    "crash": ["tests/test_crash_safety.py"],
    "bad-state": ["tests/test_bad_state.py", "tests/test_settings.py"],
    "sessions": ["tests/test_ui_sessions.py", "tests/test_concurrent_ingest.py"],
    "injection": ["tests/test_prompt_injection.py"],
    "integrity": ["tests/test_integrity.py", "tests/test_screen_attacks.py"],
    "output": ["tests/test_output_safety.py", "tests/test_eval_html.py"],
    "access": ["tests/test_ui_auth.py", "tests/test_fetch_security.py"],
    "watch": ["tests/test_watch.py", "tests/test_watch_cli.py", "tests/test_watch_ui.py"],
}


def run_suite(name: str, files: list[str], report: Path) -> tuple[bool, float]:
    """Run one suite's test files under pytest; whether it passed and how long it took."""
    started = time.monotonic()
    env = {**os.environ, "NEWSRAG_RELIABILITY_REPORT": str(report)}
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *files],
                          cwd=REPO, env=env, capture_output=True, text=True)
    tail = done.stdout.strip().splitlines()[-1:] or ["(no output)"]
    print(f"{name}: {tail[0]}", file=sys.stderr)
    return done.returncode == 0, time.monotonic() - started


def table(rows: list[dict[str, object]], runs: dict[str, tuple[bool, float]]) -> str:
    """The Markdown table: one row per recorded figure set, with its suite's command."""
    lines = ["| suite | figures | lost | passed | command |", "|---|---|---|---|---|"]
    for row in rows:
        name, group = str(row.pop("suite")), str(row.pop("group"))
        lost = row.pop("lost", "")
        figures = ", ".join(f"{key.replace('_', ' ')} {_show(value)}"
                            for key, value in sorted(row.items()))
        passed, seconds = runs[group]
        lines.append(f"| {name} | {figures} | {lost} | {'yes' if passed else 'NO'} "
                     f"({seconds:.0f} s) | `bench/reliability.py --only {group}` |")
    return "\n".join(lines)


def _show(value: object) -> str:
    return f"{value:,.2f}".rstrip("0").rstrip(".") if isinstance(value, float) else str(value)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", action="append", choices=sorted(SUITES),
                        help="run only this suite (repeatable)")
    args = parser.parse_args()
    rows: list[dict[str, object]] = []
    runs: dict[str, tuple[bool, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        for group in args.only or list(SUITES):
            report = Path(scratch) / f"{group}.jsonl"
            runs[group] = run_suite(group, SUITES[group], report)
            if report.exists():
                rows += [{**json.loads(line), "group": group}
                         for line in report.read_text().splitlines()]
    print(table(rows, runs))
    return 0 if all(passed for passed, _ in runs.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
