"""The Ingest and Library tabs: upload and links, the article table, its reader and
"New since you last looked"."""

# No `from __future__ import annotations`: Gradio reads handler hints (gr.EventData,
# gr.Progress, gr.Request, the API's types) at run time.

import functools
import time
from typing import Any

import gradio as gr

from ui.chat import ChatHandlers
from ui.fresh import render_count, window
from ui.guard import guarded, inline_error
from ui.library import SORTS, VIEWS, LibraryHandlers, render_library, render_report
from ui.render import plural
from ui.style import LIBRARY_JS
from ui.watch_panel import WatchPanel

NO_CHANGE = gr.skip


def ingest_tab(library: LibraryHandlers) -> Any:
    extensions = library.services.settings.ingest.extensions
    gr.Markdown("Upload article files or paste links; re-ingesting an unchanged article "
                "costs nothing.")
    files = gr.File(file_count="multiple", file_types=list(extensions),
                    label="Files (" + " ".join(extensions) + ")", elem_id="nr-files")
    urls = gr.Textbox(lines=3, label="URLs (one per line)", elem_id="nr-urls",
                      placeholder="https://example.com/news/story.html")
    start = gr.Button("Ingest", variant="primary", elem_id="nr-ingest")
    problem = gr.HTML("", elem_id="nr-ingest-error")
    report = gr.HTML(elem_id="nr-report")

    # Gradio injects the progress tracker through this default.
    def run(paths: list[str] | None, links: str,
            progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        if not paths and not (links or "").strip():
            return NO_CHANGE(), NO_CHANGE(), NO_CHANGE(), inline_error(
                "Choose files to upload or paste URLs first.")
        done = library.ingest_and_check(paths or [], links or "",
                                        on_progress=lambda text: progress((0, None), desc=text))
        return render_report(done), None, "", ""

    return start.click(guarded(run), [files, urls], [report, files, urls, problem],
                       concurrency_limit=1, api_visibility="private")


def library_tab(library: LibraryHandlers, chat: ChatHandlers, feeds: WatchPanel,
                 last_look: gr.BrowserState, timer: gr.Timer
                 ) -> tuple[list[Any], gr.HTML, gr.Dropdown, Any, gr.HTML]:
    catalog = library.services.index.catalog
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            with gr.Row():
                search = gr.Textbox(label="Search titles", elem_id="nr-library-search",
                                    scale=2)
                sort = gr.Dropdown([(label, key) for key, label in SORTS.items()],
                                   value="newest", label="Sort", elem_id="nr-library-sort",
                                   scale=1)
                view = gr.Dropdown([(label, key) for key, label in VIEWS.items()],
                                   value="all", label="Show", elem_id="nr-library-view",
                                   scale=2)
            with gr.Row():
                outlets = gr.Dropdown([], multiselect=True, label="Outlets",
                                      elem_id="nr-library-outlets", scale=2)
                since = gr.DateTime(label="Published since", include_time=False,
                                    type="string", elem_id="nr-library-since", scale=1)
                until = gr.DateTime(label="until", include_time=False, type="string",
                                    elem_id="nr-library-until", scale=1)
            with gr.Row(elem_id="nr-library-new-row"):
                count = gr.HTML(elem_id="nr-library-new", scale=3)
                seen = gr.Button("Mark all as seen", size="sm", scale=0, min_width=140,
                                 elem_id="nr-library-seen")
            watched = gr.HTML(functools.partial(feeds.render_sources, compact=True),
                              elem_id="nr-library-sources")
            table = gr.HTML(elem_id="nr-library", js_on_load=LIBRARY_JS)
        with gr.Column(scale=2, elem_id="nr-reader-column"):
            reader = gr.HTML('<div class="nr-note">Click a title to read the article here.'
                             "</div>", elem_id="nr-reader", elem_classes="nr-reader")
    filters = [search, sort, outlets, since, until, view, last_look]
    listing = guarded(functools.partial(library_table, library))
    for control in (search, sort, outlets, view):
        control.change(listing, filters, [table], api_visibility="private")
    for day_field in (since, until):
        day_field.change(listing, filters, [table], api_visibility="private")

    def feed_parts(look: float) -> tuple[str, str]:
        return render_count(catalog, look or None), feeds.render_sources(compact=True)

    def mark(query: str, order: str, wanted: list[str] | None, first: str | None,
             last: str | None, shown: str, _: float) -> tuple[Any, ...]:
        now = time.time()
        table_now = library_table(library, query, order, wanted, first, last, shown, now)
        return now, render_count(catalog, now), table_now

    timer.tick(guarded(feed_parts), [last_look], [count, watched], api_visibility="private",
               show_progress="hidden")
    seen.click(guarded(mark), filters, [last_look, count, table], api_visibility="private")

    def act(query: str, order: str, wanted: list[str] | None, first: str | None,
            last: str | None, shown: str, look: float, evt: gr.EventData) -> tuple[str, Any]:
        data = evt._data or {}
        if "read" in data:
            return NO_CHANGE(), chat.open_article(str(data["read"]))
        if "delete_many" in data:
            removed = library.delete_many([i for i in str(data["delete_many"]).split(",") if i])
            gr.Info(f"{plural(len(removed), 'article')} deleted.")
        else:
            library.delete(str(data["delete"]))
            gr.Info("Article deleted.")
        return library_table(library, query, order, wanted, first, last, shown, look), NO_CHANGE()

    deleted = table.click(guarded(act), filters, [table, reader], api_visibility="private")
    return filters, table, outlets, deleted, count


def library_table(library: LibraryHandlers, query: str, sort: str = "newest",
             outlets: list[str] | None = None, since: str | None = None,
             until: str | None = None, view: str = "all", look: float = 0.0) -> str:
    """The table; in the "new" view only what arrived since this browser's last look."""
    after, when = window(look or None) if view == "new" else (None, "")
    records = library.articles(query or "", sort or "newest", outlets or (), since or "",
                               until or "", after)
    filtered = bool(outlets or since or until)
    empty = f"Nothing new {when}." if when and not (query or filtered) else ""
    return render_library(records, query or "", filtered or bool(when), empty)

