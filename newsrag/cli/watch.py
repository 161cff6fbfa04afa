"""`newsrag watch`: keep feeds, pages and folders current.

    $ newsrag watch https://example.org/feed.xml --every 10m
    $ newsrag watch urls.txt ~/news --once
    $ newsrag watch --status --json
"""

from __future__ import annotations

import json
import signal
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

import click

from newsrag.errors import ConfigError, NewsragError
from newsrag.settings import Settings, load_settings, parse_duration
from newsrag.terminal import safe

if TYPE_CHECKING:
    from ingest.watch import CycleResult
    from ingest.watch_state import SourceState


def _settings(ctx: click.Context) -> Settings:
    return load_settings(getattr(ctx.find_root().obj, "config", None))


def _interval(every: str | None) -> float | None:
    try:
        return parse_duration(every) if every else None
    except ValueError as exc:
        raise ConfigError(f"--every: {exc}") from None


def watched_sources(settings: Settings, sources: Sequence[str], every: str | None
                    ) -> list[tuple[str, float]]:
    """(source, interval) from the command line, else from [watch] sources."""
    interval = _interval(every)
    if sources:
        return [(s, interval or parse_duration(settings.watch.every)) for s in sources]
    configured = settings.watch.sources_with_intervals()
    return [(s, interval or i) for s, i in configured]


@click.command(name="watch")
@click.argument("sources", nargs=-1)
@click.option("--every", default=None, metavar="DURATION",
              help="Time between polls of each source: 10s, 15m, 1h (default: watch.every).")
@click.option("--once", is_flag=True, help="Poll every source once, then exit.")
@click.option("--status", is_flag=True, help="List every watched source's state and exit.")
@click.option("--json", "as_json", is_flag=True, help="With --status: print JSON.")
@click.pass_context
def watch_command(ctx: click.Context, sources: tuple[str, ...], every: str | None,
                  once: bool, status: bool, as_json: bool) -> None:
    """Poll RSS/Atom feeds, web pages, URL lists and folders; ingest what is new or changed."""
    settings = _settings(ctx)
    if status:
        _print_status(settings, as_json)
        return
    specs = watched_sources(settings, sources, every)
    if not specs:
        raise ConfigError("nothing to watch: name a feed, page, URL list or folder, "
                          "or list them in [watch] sources")
    from ingest.watch import Watcher, watch_lock
    from rag.services import build_services  # switches offline before any model loads

    with watch_lock(settings.resolved_data_dir()):
        services = build_services(settings)
        stop = threading.Event()
        _stop_on_signals(stop)
        watcher = Watcher(settings, specs, services.index, stop)
        click.echo(f"watching {len(specs)} source(s); Ctrl-C stops", err=True)
        watcher.run(once=once, on_cycle=_print_cycle)
        if once and all(s.last_status == "error" for s in _states(watcher, specs)):
            raise NewsragError("every source failed (see `newsrag watch --status`)")


def _states(watcher: Any, specs: list[tuple[str, float]]) -> list[SourceState]:
    from ingest.watch import expand_sources

    return [watcher.state.source(s) for s, _ in expand_sources(specs)]


def _stop_on_signals(stop: threading.Event) -> None:
    def handle(signum: int, frame: object) -> None:
        if stop.is_set():  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        click.echo("stopping after the current step…", err=True)
        stop.set()

    signal.signal(signal.SIGINT, handle)
    signal.signal(signal.SIGTERM, handle)


def _print_cycle(results: list[CycleResult]) -> None:
    for result in results:
        state = result.state
        line = state.last_error if state.last_status == "error" else state.last_status
        click.echo(f"{_clock(time.time())}  {safe(state.source)}  {safe(line)}")


def _clock(seconds: float | None) -> str:
    return datetime.fromtimestamp(seconds).strftime("%Y-%m-%d %H:%M:%S") if seconds else "-"


def _print_status(settings: Settings, as_json: bool) -> None:
    from ingest.watch_state import WatchState

    path = settings.resolved_data_dir() / "watch.sqlite3"
    states = WatchState(path).sources() if path.exists() else []
    if as_json:
        click.echo(json.dumps([s.as_dict() for s in states], indent=2))
        return
    for s in states:
        problem = f"  ({s.failures} failure(s): {s.last_error})" if s.failures else ""
        click.echo(f"{safe(s.source)}\n  {s.kind or '?'}, every {s.every_s:g} s; "
                   f"last poll {_clock(s.last_poll)}: {safe(s.last_status)}; "
                   f"next {_clock(s.next_due)}; {s.new_articles} new, "
                   f"{s.updated_articles} updated{safe(problem)}")
    click.echo(f"{len(states)} source(s) watched" if states else
               "no source watched yet (newsrag watch SOURCE...)")
