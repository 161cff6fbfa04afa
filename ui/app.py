"""The Gradio app: `build_app(services)` wires the handlers into Blocks; no logic lives here.

    >>> demo = build_app(build_services(load_settings()))   # doctest: +SKIP
    >>> serve(demo, settings)                               # doctest: +SKIP
"""

# No `from __future__ import annotations`: Gradio reads handler hints (gr.EventData,
# gr.Progress, the API's types) at run time.

import functools
from collections.abc import Iterator
from typing import Any

import gradio as gr

from rag.answering import Assistant
from rag.services import Services
from ui.chat import EMPTY_PANE, AskForm, ChatHandlers
from ui.guard import guarded, guarded_stream
from ui.library import LibraryHandlers, render_library, render_report
from ui.render import ChatTurn, escape, plural, render_sources, render_transcript
from ui.style import LIBRARY_JS, SOURCE_PANE_JS, TRANSCRIPT_JS

GENERATORS = ["extractive", "llama-cpp", "openai", "ollama"]


def build_app(services: Services, assistant: Assistant | None = None) -> gr.Blocks:
    """The whole UI over already-built services: Chat, Ingest and Library tabs, and an API."""
    chat = ChatHandlers(assistant or Assistant(services))
    library = LibraryHandlers(services)
    with gr.Blocks(title="newsrag", analytics_enabled=False) as demo:
        header = gr.HTML(_header(chat), elem_id="nr-header")
        with gr.Tab("Chat", id="chat"):
            sources_box = _chat_tab(chat, services)
        with gr.Tab("Ingest", id="ingest"):
            ingested = _ingest_tab(library)
        with gr.Tab("Library", id="library"):
            search, table, deleted = _library_tab(library)
        # After anything that changes the library: the counts, the table, the source filter.
        refresh = guarded(lambda query: (_header(chat), _library(library, query or ""),
                                         gr.update(choices=chat.source_choices())))
        for changed in (ingested, deleted):
            changed.then(refresh, [search], [header, table, sources_box],
                         api_visibility="private")
        demo.load(refresh, [search], [header, table, sources_box], api_visibility="private")
        _api(chat)
    return demo


def _header(chat: ChatHandlers) -> str:
    services = chat.assistant.services
    stats = services.index.catalog.stats()
    generator = services.settings.generation.generator
    return (f'<div class="nr-header"><h1>newsrag</h1><span class="nr-status">'
            f"{plural(stats['articles'], 'article')} · {plural(stats['chunks'], 'chunk')} · "
            "answers by "
            f"{escape(generator)}</span></div>")


def _chat_tab(chat: ChatHandlers, services: Services) -> gr.Dropdown:
    settings = services.settings
    turns = gr.State([])
    with gr.Row(equal_height=False):
        with gr.Column(scale=3):
            transcript = gr.HTML(render_transcript([]), elem_id="nr-transcript",
                                 js_on_load=TRANSCRIPT_JS, autoscroll=True, min_height=320)
            with gr.Row():
                question = gr.Textbox(placeholder="Ask about the news…", show_label=False,
                                      scale=5, elem_id="nr-question", max_lines=4)
                send = gr.Button("Ask", variant="primary", scale=1, elem_id="nr-ask")
            gr.Examples([[q] for q in settings.ui.examples], [question], label="Examples")
            new_chat = gr.Button("New chat", size="sm", elem_id="nr-new-chat")
            with gr.Accordion("Settings", open=False, elem_id="nr-settings"):
                generator = gr.Dropdown(_generator_choices(settings.generation.generator),
                                        value=settings.generation.generator, label="Generator")
                k = gr.Slider(1, 50, value=settings.retrieval.k, step=1,
                              label="Chunks retrieved (k)")
                with gr.Row():
                    since = gr.Textbox(label="Since (YYYY-MM-DD)", placeholder="any date")
                    until = gr.Textbox(label="Until (YYYY-MM-DD)", placeholder="any date")
                    as_of = gr.Textbox(label="As of (YYYY-MM-DD)", placeholder="today")
                sources = gr.Dropdown([], multiselect=True, label="Only these sources",
                                      allow_custom_value=True)
                checks = gr.Checkbox(False, label="Show checks (support of every sentence, "
                                                  "dropped sentences)", elem_id="nr-checks")
        with gr.Column(scale=2):
            pane = gr.HTML(EMPTY_PANE, elem_id="nr-source", elem_classes="nr-pane",
                           js_on_load=SOURCE_PANE_JS)
            with gr.Accordion("Retrieved sources", open=True):
                sources_panel = gr.HTML(render_sources([]), elem_id="nr-sources")
    form = [generator, k, since, until, sources, checks, as_of]
    ask = guarded_stream(functools.partial(_ask, chat))
    for trigger in (question.submit, send.click):
        trigger(ask, [question, turns, *form], [question, transcript, turns, sources_panel],
                concurrency_limit=settings.ui.concurrency, api_visibility="private")

    def open_citation(turns_so_far: list[ChatTurn], evt: gr.EventData) -> str:
        return chat.open_citation(turns_so_far, int(evt.turn), int(evt.n))

    transcript.click(guarded(open_citation), [turns], [pane], api_visibility="private")
    checks.change(guarded(chat.rerender), [turns, checks], [transcript],
                  api_visibility="private")
    new_chat.click(lambda: ([], render_transcript([]), render_sources([]), EMPTY_PANE, ""),
                   None, [turns, transcript, sources_panel, pane, question],
                   api_visibility="private")
    return sources


def _ask(chat: ChatHandlers, question: str, turns: list[ChatTurn], generator: str, k: float,
         since: str, until: str, sources: list[str] | None, checks: bool, as_of: str
         ) -> Iterator[tuple[Any, ...]]:
    form = AskForm(generator, int(k), since, until, tuple(sources or ()), checks, as_of)
    for view in chat.ask(question, turns, form):
        yield "", view.transcript, view.turns, view.sources


def _generator_choices(configured: str) -> list[str]:
    return GENERATORS if configured in GENERATORS else [configured, *GENERATORS]


def _ingest_tab(library: LibraryHandlers) -> Any:
    extensions = library.services.settings.ingest.extensions
    gr.Markdown("Upload article files or paste links; re-ingesting an unchanged article "
                "costs nothing.")
    files = gr.File(file_count="multiple", file_types=list(extensions),
                    label="Files (" + " ".join(extensions) + ")", elem_id="nr-files")
    urls = gr.Textbox(lines=3, label="URLs (one per line)", elem_id="nr-urls",
                      placeholder="https://example.com/news/story.html")
    start = gr.Button("Ingest", variant="primary", elem_id="nr-ingest")
    report = gr.HTML(elem_id="nr-report")

    # Gradio injects the progress tracker through this default.
    def run(paths: list[str] | None, links: str,
            progress: gr.Progress = gr.Progress()) -> Any:  # noqa: B008
        done = library.ingest(paths or [], links or "",
                              on_progress=lambda text: progress((0, None), desc=text))
        return render_report(done), None, ""

    return start.click(guarded(run), [files, urls], [report, files, urls],
                       concurrency_limit=1, api_visibility="private")


def _library_tab(library: LibraryHandlers) -> tuple[gr.Textbox, gr.HTML, Any]:
    search = gr.Textbox(label="Search titles", elem_id="nr-library-search")
    table = gr.HTML(elem_id="nr-library", js_on_load=LIBRARY_JS)
    search.change(guarded(lambda q: _library(library, q)), [search], [table],
                  api_visibility="private")

    def delete(query: str, evt: gr.EventData) -> str:
        library.delete(str(evt.delete))
        gr.Info("Article deleted.")
        return _library(library, query)

    deleted = table.click(guarded(delete), [search], [table], api_visibility="private")
    return search, table, deleted


def _library(library: LibraryHandlers, query: str) -> str:
    return render_library(library.articles(query or ""), query or "")


def _api(chat: ChatHandlers) -> None:
    """`/ask` for gradio_client and HTTP callers: the Answer as JSON."""

    def ask(question: str, history: list[list[str]] | None = None) -> dict[str, Any]:
        answer = chat.assistant.answer(question, [tuple(pair) for pair in history or []])
        return answer.model_dump(mode="json")

    gr.api(guarded(ask), api_name="ask",
           api_description="Answer a question from the ingested news, with citations.")

