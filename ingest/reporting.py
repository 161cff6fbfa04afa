"""How `newsrag ingest` reports a run: a text summary for people, JSON for programs.

The text report names every skip until 20 of one reason were shown, then counts the rest (a
JSON Lines file of 200,000 broken records must not print 200,000 lines); `--verbose` shows
them all, and `--json` always lists every item with its outcome.

    >>> reason_kind("text too short (12 characters)")
    'text too short'
    >>> reason_kind("duplicate article id 'story-1': already stored from /data/a.jsonl")
    'duplicate article id'
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict

from ingest.models import IngestReport, Skip
from newsrag.terminal import safe_line

SHOWN_PER_REASON = 20
# What varies between skips of one kind: quoted ids and values, numbers, and details after
# a colon or in parentheses.
_DETAILS = re.compile(r"\s*(?:'[^']*'|\"[^\"]*\"|\(.*|:.*|\d[\d,.]*)")


def reason_kind(reason: str) -> str:
    """The kind of a skip reason, for grouping: the reason without its particulars."""
    return _DETAILS.sub("", reason).strip() or reason[:40]


def text_report(report: IngestReport, verbose: bool = False) -> Iterator[str]:
    """The lines of the text report: one summary line, then skips and warnings."""
    yield (f"added {len(report.added)}, updated {len(report.updated)}, unchanged "
           f"{report.unchanged}, skipped {len(report.skipped)}, deleted {len(report.deleted)}; "
           f"{report.chunks} chunks embedded in {report.seconds:.1f} s")
    yield from _listed(report.skipped, "skipped", verbose)
    yield from _listed(report.warnings, "warning", verbose)


def _listed(items: list[Skip], label: str, verbose: bool) -> Iterator[str]:
    shown: Counter[str] = Counter()
    for item in items:
        kind = reason_kind(item.reason)
        shown[kind] += 1
        if verbose or shown[kind] <= SHOWN_PER_REASON:
            yield f"  {label} {safe_line(item.location)}: {safe_line(item.reason)}"
    for kind, count in shown.items():
        if not verbose and count > SHOWN_PER_REASON:
            yield (f"  … and {count - SHOWN_PER_REASON:,} more {label} for "
                   f"\"{safe_line(kind)}\" (--verbose or --json lists them all)")


def json_report(report: IngestReport) -> str:
    """Counts and every item's outcome (added, updated, unchanged, skipped, deleted,
    warning) with its location, article id and reason."""
    # ASCII only: a file name may hold characters a terminal would act on.
    return json.dumps({
        "added": len(report.added), "updated": len(report.updated),
        "unchanged": report.unchanged, "skipped": len(report.skipped),
        "deleted": len(report.deleted), "warnings": len(report.warnings),
        "chunks": report.chunks, "seconds": round(report.seconds, 3),
        "items": [asdict(outcome) for outcome in report.outcomes],
    }, indent=2)
