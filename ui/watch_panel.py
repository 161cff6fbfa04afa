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
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from ingest.catalog import ArticleRecord
from ingest.watch import Watcher, watch_lock
from ingest.watch_state import SourceState, WatchState
from newsrag.errors import ConfigError
from rag.answer_layout import day
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
        return f"feeds polled {_clock(max(polls))} · {new} new, {updated} updated{problem}"

    def arrived_since(self, since: float, limit: int = -1) -> list[ArticleRecord]:
        """Articles stored (or updated) after `since` (Unix seconds), newest first."""
        after = datetime.fromtimestamp(since, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        return self.services.index.catalog.ingested_since(after, limit)

    def render_sources(self) -> str:
        states = self.states()
        if not states:
            return ('<div class="nr-note">No source watched yet: run <code>newsrag watch '
                    "FEED</code>, or <code>newsrag ui --watch</code> with [watch] sources."
                    "</div>")
        rows = "".join(_source_row(s) for s in states)
        return ('<table class="nr-library nr-feeds"><thead><tr><th>Source</th><th>Kind</th>'
                "<th>Status</th><th>Last poll</th><th>Next</th><th>New</th><th>Updated</th>"
                f"</tr></thead><tbody>{rows}</tbody></table>")

    def render_new(self, last_look: float | None) -> str:
        since = last_look if last_look else time.time() - 86400
        records = self.arrived_since(since, NEW_LIMIT + 1)
        when = f"since {_clock(last_look)}" if last_look else "in the last 24 hours"
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


def _source_row(s: SourceState) -> str:
    status = s.last_status + (f" ({s.failures}×): {s.last_error}" if s.failures else "")
    css = ' class="nr-error"' if s.failures else ""
    return (f"<tr><td>{escape(s.source)}</td><td>{escape(s.kind or '?')}</td>"
            f"<td{css}>{escape(status)}</td><td>{escape(_clock(s.last_poll))}</td>"
            f"<td>{escape(_clock(s.next_due))}</td><td>{s.new_articles}</td>"
            f"<td>{s.updated_articles}</td></tr>")


def _clock(seconds: float | None) -> str:
    if not seconds:
        return "-"
    moment = datetime.fromtimestamp(seconds)
    today = moment.date() == datetime.now().date()
    return moment.strftime("%H:%M:%S" if today else "%Y-%m-%d %H:%M")


def feeds_tab(panel: WatchPanel, header: gr.HTML, header_html: Callable[[], str]) -> None:
    """Sources with their state, and "New since you last looked" (per browser); both refresh
    every few seconds, and so does the header's feed line."""
    import gradio as gr

    last_look = gr.BrowserState(0.0, storage_key="newsrag-last-look")
    sources = gr.HTML(panel.render_sources, elem_id="nr-feeds")
    gr.Markdown("### New since you last looked")
    fresh = gr.HTML(elem_id="nr-feeds-new")
    seen = gr.Button("Mark all as seen", size="sm", elem_id="nr-feeds-seen")

    def refresh(look: float) -> tuple[str, str, str]:
        return header_html(), panel.render_sources(), panel.render_new(look or None)

    def mark(_: float) -> tuple[float, str]:
        now = time.time()
        return now, panel.render_new(now)

    gr.Timer(REFRESH_S).tick(guarded(refresh), [last_look], [header, sources, fresh],
                             api_visibility="private", show_progress="hidden")
    seen.click(guarded(mark), [last_look], [last_look, fresh], api_visibility="private")
