"""Hostile article text and metadata never act on the terminal or the page: CLI and UI, end to end.

The eval HTML report has its own escaping tests in tests/test_eval_html.py.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import pytest

from ingest.pipeline import ingest
from newsrag.errors import IngestError
from newsrag.settings import Settings
from rag.answering import Assistant
from rag.services import build_services
from tests.clirunner import run_cli
from tests.reliability import record
from ui.chat import AskForm, ChatHandlers
from ui.guard import as_ui_error, guarded

ESC, BEL, CSI8 = "\x1b", "\x07", "\x9b"
TERMINAL_ATTACKS = {
    "clear screen": f"{ESC}[2J{ESC}[H",
    "window title": f"{ESC}]0;PWNED{BEL}",
    "hyperlink": f"{ESC}]8;;http://evil.example/{ESC}\\click{ESC}]8;;{ESC}\\",
    "8-bit CSI": f"{CSI8}31m",
    "colour": f"{ESC}[31;1m",
    "right-to-left override": "\u202etxt.exe\u202c",
    "backspaces": "safe\b\b\b\bevil",
    "carriage return": "visible\roverwritten",
}
MARKUP_ATTACKS = ["<script>window.__pwned=1</script>", '<img src=x onerror="alert(2)">',
                  "![tracker](http://evil.example/p.png)", "[click](javascript:alert(3))",
                  "{{constructor.constructor('alert(4)')()}}"]
# C0 controls except tab and newline, DEL, C1 controls, and bidi embeddings/overrides/isolates.
UNSAFE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
QUESTION = "When did the Port Vantor harbour reopen?"


def _hostile_record() -> dict[str, object]:
    attacks = " ".join(TERMINAL_ATTACKS.values())
    sentences = [f"The Port Vantor harbour reopened on Monday {value} after the storm."
                 for value in [*TERMINAL_ATTACKS.values(), *MARKUP_ATTACKS]]
    return {
        "id": "port-vantor-harbour",
        "title": f"Port Vantor harbour reopens {attacks} {MARKUP_ATTACKS[0]}",
        "text": " ".join(sentences) + " Ferries resumed at noon, the harbour master said.",
        "authors": [f"Jane {ESC}[31mDoe", f"{MARKUP_ATTACKS[1]}"],
        "source": f"Evil{ESC}]8;;http://x{BEL} Times",
        "url": f"https://news.example/harbour{ESC}[1m?x=<script>",
        "published": "2026-11-30",
    }


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostile") / "hostile.jsonl"
    path.write_text(json.dumps(_hostile_record(), ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def _tags(page: str) -> list[tuple[str, list[tuple[str, str | None]]]]:
    found: list[tuple[str, list[tuple[str, str | None]]]] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            found.append((tag, attrs))

    Collector().feed(page)
    return found


def _assert_inert(output: str, where: str) -> None:
    found = UNSAFE.findall(output)
    assert not found, f"{where}: unsafe characters reached the terminal: {found!r}"


@pytest.mark.slow
def test_cli_output_carries_no_terminal_controls(corpus: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    assert run_cli("ingest", str(corpus), data_dir=data).returncode == 0
    commands = [("list",), ("list", "--json"), ("show", "port-vantor-harbour"),
                ("show", "--sentences", "port-vantor-harbour"), ("search", "Port Vantor harbour"),
                ("search", "--json", "Port Vantor harbour"), ("ask", "--show-checks", QUESTION),
                ("ask", "--json", QUESTION), ("ask", "--stream", QUESTION),
                ("show", f"missing{ESC}]0;PWNED{BEL}{ESC}[2J"),
                ("ingest", str(tmp_path / f"no{ESC}[2Jsuch{CSI8}1m.txt"))]
    for command in commands:
        done = run_cli(*command, data_dir=data)
        _assert_inert(done.stdout + done.stderr, " ".join(command))
    forger = tmp_path / "forger"
    forger.mkdir()
    (forger / "empty\n  skipped forged.txt: all good.txt").write_bytes(b"")
    report = run_cli("ingest", str(forger), data_dir=data).stdout
    assert report.count("\n  skipped ") == 1, "a file name forged a report line"
    chat = run_cli("chat", data_dir=data, stdin=f"{QUESTION}\n/sources\n")
    _assert_inert(chat.stdout + chat.stderr, "chat")
    answered = run_cli("ask", QUESTION, data_dir=data).stdout
    assert "Port Vantor harbour reopened on Monday" in answered, answered
    record("output safety: terminal", attacks=len(TERMINAL_ATTACKS) + len(MARKUP_ATTACKS),
           commands=len(commands) + 1, passed_through=0)


def test_ui_shows_hostile_articles_as_text(corpus: Path, make_settings: Callable[..., Settings]) -> None:
    settings: Settings = make_settings()
    services = build_services(settings)
    ingest([str(corpus)], settings, services.index)
    chat = ChatHandlers(Assistant(services))
    view = list(chat.ask(QUESTION, [], AskForm()))[-1]
    answer = view.turns[0].answer
    assert answer is not None and answer.citations, "the hostile article must be answerable"
    pages = [view.transcript, view.sources]
    pages += [chat.open_citation(view.turns, 0, c.n) for c in answer.citations]
    for page in pages:
        tags = _tags(page)
        assert not {tag for tag, _ in tags} & {"script", "img", "iframe", "object", "svg"}, page
        assert not [name for _, attrs in tags for name, _ in attrs if name.startswith("on")]
        hrefs = [value or "" for _, attrs in tags for name, value in attrs if name == "href"]
        assert all(href.startswith(("https://", "http://", "#")) for href in hrefs), hrefs
        assert "{{" not in page and "${" not in page  # Gradio fills HTML through a template
        _assert_inert(page, "UI page")
    record("output safety: UI", pages=len(pages), attacks=len(MARKUP_ATTACKS), rendered_as_code=0)


def test_ui_error_messages_are_escaped() -> None:
    message = as_ui_error(IngestError(f"bad file {MARKUP_ATTACKS[1]}.txt")).message
    assert "<" not in message and ">" not in message and "onerror" in message


@pytest.mark.slow
def test_error_toast_shows_markup_as_text(tmp_path: Path) -> None:
    # Gradio renders a gr.Error's message as HTML: a file name must not become an element.
    import gradio as gr

    from tests.uiserver import chromium, free_port

    @guarded
    def fail() -> str:
        raise IngestError('cannot read <b id="injected">evil</b><img src=x id="img">.txt')

    with gr.Blocks() as demo:
        button, out = gr.Button("Fail"), gr.Textbox()
        button.click(fail, None, out)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        with chromium(tmp_path / "profile") as context:
            page = context.new_page()
            page.goto(f"http://127.0.0.1:{port}/")
            page.get_by_role("button", name="Fail", exact=True).click()
            page.get_by_text("cannot read", exact=False).wait_for(timeout=30_000)
            assert page.locator("#injected, #img").count() == 0
            assert '<b id="injected">evil</b>' in page.inner_text("body")
    finally:
        demo.close()
