"""The Gradio app: `build_app(services)` wires the handlers into Blocks; no logic lives here.

    >>> demo = build_app(build_services(load_settings()))   # doctest: +SKIP
    >>> serve(demo, settings)                               # doctest: +SKIP
"""

# No `from __future__ import annotations`: Gradio reads handler hints (gr.EventData,
# gr.Progress, gr.Request, the API's types) at run time.

from typing import Any

import gradio as gr

from rag.answering import Assistant
from rag.services import Services
from ui.brief import brief_tab
from ui.chat import ChatHandlers
from ui.chat_tab import chat_tab, render_examples, sidebar
from ui.conversations import Conversations
from ui.fresh import LAST_LOOK_KEY, render_count
from ui.guard import guarded
from ui.library import LibraryHandlers
from ui.library_tab import ingest_tab, library_tab, library_table
from ui.render import escape, plural
from ui.watch_panel import REFRESH_S, WatchPanel, feeds_tab


def build_app(services: Services, assistant: Assistant | None = None) -> gr.Blocks:
    """The whole UI over already-built services: Chat, Ingest, Library, Brief and Feeds tabs, and
    an API."""
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
            side = sidebar()
        with gr.Tab("Chat", id="chat"):
            sources_box, examples = chat_tab(chat, conversations, browser_id, side)
        with gr.Tab("Ingest", id="ingest"):
            ingested = ingest_tab(library)
        with gr.Tab("Library", id="library"):
            filters, table, outlets, deleted, count = library_tab(library, chat, feeds,
                                                                   last_look, timer)
        with gr.Tab("Brief", id="brief"):
            brief_tab(services)
        with gr.Tab("Feeds", id="feeds"):
            feeds_tab(feeds, header, lambda: _header(chat, feeds), last_look, timer)

        # After anything that changes the library: the counts, the table, the source filters.
        def refresh(*values: Any) -> tuple[Any, ...]:
            choices = chat.source_choices()
            return (_header(chat, feeds), library_table(library, *values),
                    gr.update(choices=choices), gr.update(choices=choices),
                    render_examples(chat.examples()),
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


def _api(chat: ChatHandlers) -> None:
    """`/ask` for gradio_client and HTTP callers: the Answer as JSON."""

    def ask(question: str, history: list[list[str]] | None = None) -> dict[str, Any]:
        answer = chat.assistant.answer(question, [tuple(pair) for pair in history or []])
        return answer.model_dump(mode="json")

    gr.api(guarded(ask), api_name="ask",
           api_description="Answer a question from the ingested news, with citations.")

