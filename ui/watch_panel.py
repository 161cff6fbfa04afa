"""The Feeds tab and the watcher run inside the UI process (`newsrag ui --watch`).

The tab reads `<data_dir>/watch.sqlite3`, so it shows the sources of whichever watcher works
on this data dir: the UI's own thread, or a `newsrag watch` process beside it. It lists each
source's state and errors, and the articles that arrived since this browser last looked.

    >>> watch = BackgroundWatch(services).start()     # doctest: +SKIP
    >>> watch.close()                                 # doctest: +SKIP
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from typing import TYPE_CHECKING

from ingest.watch import Watcher, watch_lock
from ingest.watch_state import SourceState, WatchState
from newsrag.errors import ConfigError
from rag.answer_layout import day
from ui.fresh import arrived_since, clock, window
from ui.guard import guarded
from ui.render import escape, plural

if TYPE_CHECKING:
    import gradio as gr

    from rag.services import Services

LOG = logging.getLogger("newsrag.watch")
NEW_LIMIT = 50
REFRESH_S = 5.0


class BackgroundWatch:
    """The watcher in a daemon thread of this process, holding the one-watcher lock."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.sources = services.settings.watch.sources_with_intervals()
        if not self.sources:
            raise ConfigError("ui.watch (newsrag ui --watch) needs [watch] sources in "
                              "config.toml (or NEWSRAG_WATCH__SOURCES)")
        self.stop = threading.Event()
        self._locks = ExitStack()
        self._thread: threading.Thread | None = None

    def start(self) -> BackgroundWatch:
        self._locks.enter_context(watch_lock(self.services.settings.resolved_data_dir()))
        self._thread = threading.Thread(target=self._run, name="newsrag-watch", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        watcher = Watcher(self.services.settings, self.sources, self.services.index, self.stop)
        while not self.stop.is_set():
            try:
                watcher.run()
            except Exception:  # a bug must not end watching for the UI's lifetime
                LOG.exception("watcher failed; retrying in a minute")
                self.stop.wait(60)

    def close(self) -> None:
        self.stop.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
        self._locks.close()


class WatchPanel:
    """What the Feeds tab and the header show."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.path = services.settings.resolved_data_dir() / "watch.sqlite3"
        self._state: WatchState | None = None

    def states(self) -> list[SourceState]:
        if self._state is None:
            if not self.path.exists():
                return []
            self._state = WatchState(self.path)
        return self._state.sources()

    def header_note(self) -> str:
        """ "feeds polled 14:02 · 12 new, 1 updated", or "" when nothing is watched."""
        states = self.states()
        polls = [s.last_poll for s in states if s.last_poll]
        if not polls:
            return ""
        new = sum(s.new_articles for s in states)
        updated = sum(s.updated_articles for s in states)
        failing = sum(s.failures > 0 for s in states)
        problem = f" · {plural(failing, 'source')} failing" if failing else ""
        return f"feeds polled {clock(max(polls))} · {new} new, {updated} updated{problem}"

    def render_sources(self, compact: bool = False) -> str:
        """The sources table; `compact` (the Library's) keeps source, status and last poll,
        and is empty when nothing is watched."""
        states = self.states()
        if not states:
            return "" if compact else (
                '<div class="nr-note">No source watched yet: run <code>newsrag watch '
                "FEED</code>, or <code>newsrag ui --watch</code> with [watch] sources.</div>")
        heads = _COMPACT if compact else _COLUMNS
        head = "".join(f"<th>{h}</th>" for h in heads)
        rows = "".join(_source_row(s, heads) for s in states)
        css = "nr-library nr-feeds" + (" nr-feeds-compact" if compact else "")
        caption = ("<caption>Watched sources (details in the Feeds tab)</caption>"
                   if compact else "")
        return (f'<table class="{css}">{caption}<thead><tr>{head}</tr></thead>'
                f"<tbody>{rows}</tbody></table>")

    def render_new(self, last_look: float | None) -> str:
        since, when = window(last_look)
        records = arrived_since(self.services.index.catalog, since, NEW_LIMIT + 1)
        if not records:
            return f'<div class="nr-note">Nothing new {when}.</div>'
        items = "".join(
            f"<li><strong>{escape(r.article.title or 'Untitled')}</strong> · "
            f"{escape(r.article.source or '-')} · {escape(day(r.article.published))}</li>"
            for r in records[:NEW_LIMIT])
        count = (f"The {NEW_LIMIT} newest articles" if len(records) > NEW_LIMIT
                 else plural(len(records), "article"))
        return (f'<div class="nr-note">{count} new {when}</div>'
                f'<ul class="nr-new">{items}</ul>')


_COLUMNS = ("Source", "Kind", "Status", "Last poll", "Next", "New", "Updated")
_COMPACT = ("Source", "Status", "Last poll")


def _source_row(s: SourceState, columns: tuple[str, ...] = _COLUMNS) -> str:
    status = s.last_status + (f" ({s.failures}×): {s.last_error}" if s.failures else "")
    cells = {"Source": s.source, "Kind": s.kind or "?", "Status": status,
             "Last poll": clock(s.last_poll), "Next": clock(s.next_due),
             "New": s.new_articles, "Updated": s.updated_articles}
    css = ' class="nr-error"' if s.failures else ""
    return "<tr>" + "".join(f"<td{css if c == 'Status' else ''}>{escape(cells[c])}</td>"
                            for c in columns) + "</tr>"


def feeds_tab(panel: WatchPanel, header: gr.HTML, header_html: Callable[[], str],
              last_look: gr.BrowserState, timer: gr.Timer) -> None:
    """Sources with their state, and "New since you last looked" (per browser, the same last
    look as the Library's); both refresh on `timer`, and so does the header's feed line."""
    import gradio as gr

    sources = gr.HTML(panel.render_sources, elem_id="nr-feeds")
    gr.Markdown("### New since you last looked")
    fresh = gr.HTML(elem_id="nr-feeds-new")
    seen = gr.Button("Mark all as seen", size="sm", elem_id="nr-feeds-seen")

    def refresh(look: float) -> tuple[str, str, str]:
        return header_html(), panel.render_sources(), panel.render_new(look or None)

    def mark(_: float) -> tuple[float, str]:
        now = time.time()
        return now, panel.render_new(now)

    timer.tick(guarded(refresh), [last_look], [header, sources, fresh],
               api_visibility="private", show_progress="hidden")
    seen.click(guarded(mark), [last_look], [last_look, fresh], api_visibility="private")
