"""The Gradio app: `build_app(services)` wires the handlers into Blocks; no logic lives here.

    >>> demo = build_app(build_services(load_settings()))   # doctest: +SKIP
    >>> serve(demo, settings)                               # doctest: +SKIP
"""

# No `from __future__ import annotations`: Gradio reads handler hints (gr.EventData,
# gr.Progress, gr.Request, the API's types) at run time.

import functools
import time
from collections.abc import Iterator
from typing import Any

import gradio as gr

from newsrag.errors import NewsragError
from newsrag.settings import Settings
from rag.answering import Assistant
from rag.generators import generator_names
from rag.services import Services
from ui.brief import brief_tab
from ui.chat import EMPTY_PANE, AskForm, ChatHandlers, check_question
from ui.conversations import Conversations
from ui.fresh import LAST_LOOK_KEY, render_count, window
from ui.guard import guarded, guarded_stream
from ui.library import SORTS, VIEWS, LibraryHandlers, render_library, render_report
from ui.render import ChatTurn, escape, plural, render_sources, render_transcript
from ui.style import EXAMPLES_JS, LIBRARY_JS, RAW_DATES_JS, SOURCE_PANE_JS, TRANSCRIPT_JS
from ui.watch_panel import REFRESH_S, WatchPanel, feeds_tab

NO_CHANGE = gr.skip


def build_app(services: Services, assistant: Assistant | None = None) -> gr.Blocks:
    """The whole UI over already-built services: Chat, Ingest, Library and Brief tabs, and an
    API."""
    chat = ChatHandlers(assistant or Assistant(services))
    library = LibraryHandlers(services)
    conversations = Conversations(services.settings)
    feeds = WatchPanel(services)
    with gr.Blocks(title="newsrag", analytics_enabled=False) as demo:
        browser_id = gr.BrowserState("", storage_key="newsrag-browser",
                                     secret=conversations.browser_secret())
        header = gr.HTML(_header(chat, feeds), elem_id="nr-header")
        # "New since you last looked" (Library and Feeds tabs) counts from this browser's last
        # "Mark all as seen"; both tabs refresh their feed parts on one timer.
        last_look = gr.BrowserState(0.0, storage_key=LAST_LOOK_KEY)
        timer = gr.Timer(REFRESH_S)
        with gr.Sidebar(label="History", open=True, elem_id="nr-sidebar", width=260):
            side = _sidebar()
        with gr.Tab("Chat", id="chat"):
            sources_box, examples = _chat_tab(chat, conversations, browser_id, side)
        with gr.Tab("Ingest", id="ingest"):
            ingested = _ingest_tab(library)
        with gr.Tab("Library", id="library"):
            filters, table, outlets, deleted, count = _library_tab(library, chat, feeds,
                                                                   last_look, timer)
        with gr.Tab("Brief", id="brief"):
            brief_tab(services)
        with gr.Tab("Feeds", id="feeds"):
            feeds_tab(feeds, header, lambda: _header(chat, feeds), last_look, timer)

        # After anything that changes the library: the counts, the table, the source filters.
        def refresh(*values: Any) -> tuple[Any, ...]:
            choices = chat.source_choices()
            return (_header(chat, feeds), _library(library, *values), gr.update(choices=choices),
                    gr.update(choices=choices), render_examples(chat.examples()),
                    render_count(services.index.catalog, values[-1] or None))

        updated = [header, table, sources_box, outlets, examples, count]
        for changed in (ingested, deleted):
            changed.then(guarded(refresh), filters, updated, api_visibility="private")
        demo.load(guarded(refresh), filters, updated, api_visibility="private")

        def start(browser: str, request: gr.Request) -> tuple[str, Any, str]:
            browser = conversations.browser(browser)
            owner = conversations.owner(browser, request)
            empty = not conversations.store.list(owner)
            note = '<div class="nr-note">No conversations yet.</div>' if empty else ""
            return browser, conversations.history_update(owner), note

        demo.load(guarded(start), [browser_id], [browser_id, side.history, side.note],
                  api_visibility="private")
        _api(chat)
    return demo


def _header(chat: ChatHandlers, feeds: WatchPanel) -> str:
    services = chat.assistant.services
    stats = services.index.catalog.stats()
    generator = services.settings.generation.generator
    return (f'<div class="nr-header"><h1>newsrag</h1><span class="nr-status">'
            f"{plural(stats['articles'], 'article')} · {plural(stats['chunks'], 'chunk')} · "
            "answers by "
            f"{escape(generator)}{_feeds_note(feeds)}</span></div>")


def _feeds_note(feeds: WatchPanel) -> str:
    note = feeds.header_note()
    return f" · {escape(note)}" if note else ""


class _Side:
    """The history sidebar's components."""

    def __init__(self) -> None:
        self.new_chat = gr.Button("New chat", variant="secondary", elem_id="nr-new-chat")
        self.history = gr.Radio([], label="Conversations", elem_id="nr-history",
                                elem_classes="nr-history")
        self.name = gr.Textbox(label="Name of this conversation", elem_id="nr-chat-name",
                               max_lines=1)
        with gr.Row():
            self.rename = gr.Button("Rename", size="sm", elem_id="nr-rename")
            self.delete = gr.Button("Delete", size="sm", variant="stop", elem_id="nr-delete-chat")
        with gr.Row():
            self.export_md = gr.DownloadButton("Markdown", size="sm", interactive=False,
                                               elem_id="nr-export-md")
            self.export_json = gr.DownloadButton("JSON", size="sm", interactive=False,
                                                 elem_id="nr-export-json")
        self.note = gr.HTML("", elem_id="nr-history-note")


def _sidebar() -> _Side:
    gr.HTML('<div class="nr-pane-label">History</div>')
    return _Side()


def _chat_tab(chat: ChatHandlers, conversations: Conversations, browser_id: gr.BrowserState,
              side: _Side) -> tuple[gr.Dropdown, gr.HTML]:
    settings = chat.assistant.services.settings
    turns = gr.State([])
    chat_id = gr.State("")
    with gr.Row(equal_height=False, elem_id="nr-chat-row"):
        with gr.Column(scale=3, elem_id="nr-main"):
            transcript = gr.HTML(render_transcript([]), elem_id="nr-transcript",
                                 js_on_load=TRANSCRIPT_JS)
            with gr.Row(elem_id="nr-input-row"):
                question = gr.Textbox(placeholder="Ask about the news…", show_label=False,
                                      scale=8, elem_id="nr-question", max_lines=4)
                send = gr.Button("Ask", variant="primary", scale=0, min_width=70,
                                 elem_id="nr-ask")
                stop = gr.Button("Stop", size="sm", scale=0, min_width=50, elem_id="nr-stop")
                again = gr.Button("Regenerate", size="sm", scale=0, min_width=90,
                                  elem_id="nr-regenerate")
            question_error = gr.HTML("", elem_id="nr-question-error")
            examples = gr.HTML(render_examples(chat.examples()), elem_id="nr-examples",
                               js_on_load=EXAMPLES_JS)
            with gr.Accordion("Settings", open=False, elem_id="nr-settings") as settings_box:
                generator = gr.Dropdown(generator_choices(settings),
                                        value=settings.generation.generator, label="Generator")
                k = gr.Slider(1, 50, value=settings.retrieval.k, step=1,
                              label="Chunks retrieved (k)")
                with gr.Row():
                    since = gr.DateTime(label="Since", include_time=False, type="string",
                                        elem_id="nr-since")
                    until = gr.DateTime(label="Until", include_time=False, type="string",
                                        elem_id="nr-until")
                    as_of = gr.DateTime(label="As of (default today)", include_time=False,
                                        type="string", elem_id="nr-as-of")
                date_error = gr.HTML("", elem_id="nr-date-error")
                sources = gr.Dropdown([], multiselect=True, label="Only these sources",
                                      allow_custom_value=True)
                checks = gr.Checkbox(False, label="Show checks (support of every sentence, "
                                                  "dropped sentences)", elem_id="nr-checks")
        with gr.Column(scale=2, elem_id="nr-side"):
            pane = gr.HTML(EMPTY_PANE, elem_id="nr-source", elem_classes="nr-pane",
                           js_on_load=SOURCE_PANE_JS)
            sources_panel = gr.HTML(render_sources([]), elem_id="nr-sources")
    form = [generator, k, since, until, sources, checks, as_of]
    shown = [question, transcript, turns, sources_panel, question_error, date_error,
             settings_box]
    exports = [chat_id, side.history, side.name, side.export_md, side.export_json]

    def save(turns_now: list[ChatTurn], current: str, browser: str, request: gr.Request
             ) -> tuple[Any, ...]:
        owner = conversations.owner(browser, request)
        return (*conversations.saved(owner, current, turns_now), "")

    asks: list[Any] = []
    ask = guarded_stream(functools.partial(_ask, chat))
    for trigger in (question.submit, send.click):
        asks.append(trigger(ask, [question, turns, *form], shown, show_progress="hidden",
                            js=RAW_DATES_JS,
                            concurrency_limit=settings.ui.concurrency,
                            api_visibility="private"))

    def ask_example(turns_now: list[ChatTurn], generator_now: str, k_now: float, since_now: str,
                    until_now: str, sources_now: list[str] | None, checks_now: bool,
                    as_of_now: str, evt: gr.EventData) -> Iterator[tuple[Any, ...]]:
        yield from _ask(chat, str(evt.question), turns_now, generator_now, k_now, since_now,
                        until_now, sources_now, checks_now, as_of_now)

    asks.append(examples.click(guarded_stream(ask_example), [turns, *form], shown,
                               show_progress="hidden", js=RAW_DATES_JS,
                               concurrency_limit=settings.ui.concurrency,
                               api_visibility="private"))
    asks.append(again.click(guarded_stream(functools.partial(_regenerate, chat)),
                            [turns, *form], shown, show_progress="hidden", js=RAW_DATES_JS,
                            concurrency_limit=settings.ui.concurrency,
                            api_visibility="private"))
    saving = guarded(save)
    for event in asks:
        event.then(saving, [turns, chat_id, browser_id], [*exports, side.note],
                   api_visibility="private")
    stop.click(guarded(_stopped), [turns, checks], [turns, transcript], cancels=asks,
               api_visibility="private").then(
        saving, [turns, chat_id, browser_id], [*exports, side.note], api_visibility="private")

    def open_citation(turns_now: list[ChatTurn], evt: gr.EventData) -> tuple[str, Any]:
        turn = int(evt.turn)
        try:
            shown = chat.open_citation(turns_now, turn, int(evt.n))
        except NewsragError as exc:  # said in the pane, nothing else is covered
            return _inline(str(exc)), NO_CHANGE()
        return shown, chat.turn_sources(turns_now, turn)

    transcript.click(guarded(open_citation), [turns], [pane, sources_panel],
                     show_progress="hidden", api_visibility="private")
    checks.change(guarded(chat.rerender), [turns, checks], [transcript],
                  api_visibility="private")

    fresh = [turns, transcript, sources_panel, pane, question, question_error, *exports]

    def new_chat(browser: str, request: gr.Request) -> tuple[Any, ...]:
        history = conversations.history_update(conversations.owner(browser, request))
        return ([], render_transcript([]), render_sources([]), EMPTY_PANE, "", "",
                *conversations.cleared(history))

    side.new_chat.click(guarded(new_chat), [browser_id], fresh, api_visibility="private")

    def open_chat(picked: str, checks_now: bool, browser: str, request: gr.Request
                  ) -> tuple[Any, ...]:
        owner = conversations.owner(browser, request)
        try:
            loaded = conversations.store.load(owner, picked)
        except NewsragError as exc:  # deleted in another tab: said under the list
            keep = [NO_CHANGE()] * (len(fresh) - len(exports))
            return (*keep, NO_CHANGE(), conversations.history_update(owner), NO_CHANGE(),
                    NO_CHANGE(), NO_CHANGE(), _inline(str(exc)))
        turns_now = list(loaded.turns)
        return (turns_now, render_transcript(turns_now, checks_now), render_sources([]),
                EMPTY_PANE, "", "", *conversations.exported(owner, loaded), "")

    side.history.input(guarded(open_chat), [side.history, checks, browser_id],
                       [*fresh, side.note], api_visibility="private")

    def rename(current: str, name: str, browser: str, request: gr.Request) -> tuple[Any, ...]:
        owner = conversations.owner(browser, request)
        if not current:
            return (*[NO_CHANGE()] * len(exports), _inline("Ask a question first."))
        return (*conversations.exported(owner, conversations.store.rename(owner, current, name)),
                "")

    side.rename.click(guarded(rename), [chat_id, side.name, browser_id],
                      [*exports, side.note], api_visibility="private")

    def delete(current: str, browser: str, request: gr.Request) -> tuple[Any, ...]:
        owner = conversations.owner(browser, request)
        if current:
            conversations.delete(owner, current)
        return new_chat(browser, request)

    side.delete.click(guarded(delete), [chat_id, browser_id], fresh, api_visibility="private")
    return sources, examples


def _inline(message: str) -> str:
    """An error shown under the field it is about (empty when all is well)."""
    if not message:
        return ""
    return f'<div class="nr-inline-error" role="alert">{escape(message)}</div>'


def _ask(chat: ChatHandlers, question: str, turns: list[ChatTurn], generator: str, k: float,
         since: str | None, until: str | None, sources: list[str] | None, checks: bool,
         as_of: str | None) -> Iterator[tuple[Any, ...]]:
    form = AskForm(generator, int(k), since or "", until or "", tuple(sources or ()), checks,
                   as_of or "")
    problem, dates = check_question(question or "", form)
    if problem or dates:  # shown beside the field; the transcript and the box stay as they are
        yield (NO_CHANGE(), NO_CHANGE(), NO_CHANGE(), NO_CHANGE(), _inline(problem),
               _inline(dates), gr.update(open=True) if dates else NO_CHANGE())
        return
    for view in chat.ask(question, turns, form):
        yield "", view.transcript, view.turns, view.sources, "", "", NO_CHANGE()


def _regenerate(chat: ChatHandlers, turns: list[ChatTurn], *form: Any
                ) -> Iterator[tuple[Any, ...]]:
    if not turns:
        yield (NO_CHANGE(), NO_CHANGE(), NO_CHANGE(), NO_CHANGE(),
               _inline("Nothing to regenerate yet: ask a question first."), "", NO_CHANGE())
        return
    last = turns[-1]
    yield from _ask(chat, last.question, turns[:-1], *form)


def _stopped(turns: list[ChatTurn], checks: bool) -> tuple[list[ChatTurn], str]:
    """The unfinished answer, if any, marked as stopped (its streamed text is kept)."""
    from dataclasses import replace

    if turns and turns[-1].answer is None and not turns[-1].error:
        turns = [*turns[:-1], replace(turns[-1], error="Stopped.")]
    return turns, render_transcript(turns, checks)


def render_examples(questions: list[str]) -> str:
    """Example questions as buttons that ask on click."""
    if not questions:
        return ('<div class="nr-note">Examples appear here once articles are ingested '
                "(Ingest tab).</div>")
    buttons = "".join(f'<button type="button" class="nr-example" data-example="{escape(q)}">'
                      f"{escape(q)}</button>" for q in questions)
    return f'<div class="nr-examples" aria-label="Examples">{buttons}</div>'


def generator_choices(settings: Settings) -> list[tuple[str, str]]:
    """(label, name) of each generator; those without their settings say "not configured"."""
    return [(name if ready else f"{name} (not configured)", name)
            for name, ready in generator_names(settings.generation)]


def _ingest_tab(library: LibraryHandlers) -> Any:
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
            return NO_CHANGE(), NO_CHANGE(), NO_CHANGE(), _inline(
                "Choose files to upload or paste URLs first.")
        done = library.ingest_and_check(paths or [], links or "",
                                        on_progress=lambda text: progress((0, None), desc=text))
        return render_report(done), None, "", ""

    return start.click(guarded(run), [files, urls], [report, files, urls, problem],
                       concurrency_limit=1, api_visibility="private")


def _library_tab(library: LibraryHandlers, chat: ChatHandlers, feeds: WatchPanel,
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
    listing = guarded(functools.partial(_library, library))
    for control in (search, sort, outlets, view):
        control.change(listing, filters, [table], api_visibility="private")
    for day_field in (since, until):
        day_field.change(listing, filters, [table], api_visibility="private")

    def feed_parts(look: float) -> tuple[str, str]:
        return render_count(catalog, look or None), feeds.render_sources(compact=True)

    def mark(query: str, order: str, wanted: list[str] | None, first: str | None,
             last: str | None, shown: str, _: float) -> tuple[Any, ...]:
        now = time.time()
        table_now = _library(library, query, order, wanted, first, last, shown, now)
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
        return _library(library, query, order, wanted, first, last, shown, look), NO_CHANGE()

    deleted = table.click(guarded(act), filters, [table, reader], api_visibility="private")
    return filters, table, outlets, deleted, count


def _library(library: LibraryHandlers, query: str, sort: str = "newest",
             outlets: list[str] | None = None, since: str | None = None,
             until: str | None = None, view: str = "all", look: float = 0.0) -> str:
    """The table; in the "new" view only what arrived since this browser's last look."""
    after, when = window(look or None) if view == "new" else (None, "")
    records = library.articles(query or "", sort or "newest", outlets or (), since or "",
                               until or "", after)
    filtered = bool(outlets or since or until)
    empty = f"Nothing new {when}." if when and not (query or filtered) else ""
    return render_library(records, query or "", filtered or bool(when), empty)


def _api(chat: ChatHandlers) -> None:
    """`/ask` for gradio_client and HTTP callers: the Answer as JSON."""

    def ask(question: str, history: list[list[str]] | None = None) -> dict[str, Any]:
        answer = chat.assistant.answer(question, [tuple(pair) for pair in history or []])
        return answer.model_dump(mode="json")

    gr.api(guarded(ask), api_name="ask",
           api_description="Answer a question from the ingested news, with citations.")
