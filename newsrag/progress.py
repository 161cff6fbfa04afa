"""A progress display for long ingests (stderr, only on a terminal)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ingest.models import IngestReport

OnEvent = Callable[[str, "IngestReport"], None]


@contextmanager
def ingest_progress(enabled: bool) -> Iterator[OnEvent | None]:
    """Yields an event callback that keeps a live status line, or None when disabled."""
    if not enabled:
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    # The total is unknown until every source is parsed, so the bar pulses.
    columns = (SpinnerColumn(), BarColumn(), TextColumn("{task.description}"),
               TimeElapsedColumn())
    with Progress(*columns, console=Console(stderr=True), transient=True) as progress:
        task = progress.add_task("ingesting", total=None)

        def on_event(kind: str, report: IngestReport) -> None:
            progress.update(task, description=(
                f"ingesting: {len(report.added)} added, {len(report.updated)} updated, "
                f"{report.unchanged} unchanged, {len(report.skipped)} skipped, "
                f"{report.chunks} chunks embedded"))

        yield on_event
