"""The Chat tab and the history sidebar: the components and their wiring."""

# No `from __future__ import annotations`: Gradio reads handler hints (gr.EventData,
# gr.Progress, gr.Request, the API's types) at run time.

import functools
from collections.abc import Iterator
from typing import Any

import gradio as gr

from newsrag.errors import NewsragError
from newsrag.settings import Settings
from rag.generators import generator_names
from ui.chat import EMPTY_PANE, AskForm, ChatHandlers, check_question
from ui.conversations import Conversations
from ui.guard import guarded, guarded_stream, inline_error
from ui.render import ChatTurn, escape, render_sources, render_transcript
from ui.style import EXAMPLES_JS, RAW_DATES_JS, SOURCE_PANE_JS, TRANSCRIPT_JS

NO_CHANGE = gr.skip


class Side:
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


def sidebar() -> Side:
    gr.HTML('<div class="nr-pane-label">History</div>')
    return Side()


def chat_tab(chat: ChatHandlers, conversations: Conversations, browser_id: gr.BrowserState,
              side: Side) -> tuple[gr.Dropdown, gr.HTML]:
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
            return inline_error(str(exc)), NO_CHANGE()
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
                    NO_CHANGE(), NO_CHANGE(), inline_error(str(exc)))
        turns_now = list(loaded.turns)
        return (turns_now, render_transcript(turns_now, checks_now), render_sources([]),
                EMPTY_PANE, "", "", *conversations.exported(owner, loaded), "")

    side.history.input(guarded(open_chat), [side.history, checks, browser_id],
                       [*fresh, side.note], api_visibility="private")

    def rename(current: str, name: str, browser: str, request: gr.Request) -> tuple[Any, ...]:
        owner = conversations.owner(browser, request)
        if not current:
            return (*[NO_CHANGE()] * len(exports), inline_error("Ask a question first."))
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


def _ask(chat: ChatHandlers, question: str, turns: list[ChatTurn], generator: str, k: float,
         since: str | None, until: str | None, sources: list[str] | None, checks: bool,
         as_of: str | None) -> Iterator[tuple[Any, ...]]:
    form = AskForm(generator, int(k), since or "", until or "", tuple(sources or ()), checks,
                   as_of or "")
    problem, dates = check_question(question or "", form)
    if problem or dates:  # shown beside the field; the transcript and the box stay as they are
        yield (NO_CHANGE(), NO_CHANGE(), NO_CHANGE(), NO_CHANGE(), inline_error(problem),
               inline_error(dates), gr.update(open=True) if dates else NO_CHANGE())
        return
    for view in chat.ask(question, turns, form):
        yield "", view.transcript, view.turns, view.sources, "", "", NO_CHANGE()


def _regenerate(chat: ChatHandlers, turns: list[ChatTurn], *form: Any
                ) -> Iterator[tuple[Any, ...]]:
    if not turns:
        yield (NO_CHANGE(), NO_CHANGE(), NO_CHANGE(), NO_CHANGE(),
               inline_error("Nothing to regenerate yet: ask a question first."), "", NO_CHANGE())
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

