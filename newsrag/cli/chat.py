"""Cited answers in the terminal: streamed text, then the laid-out answer
(newsrag/cli/answer_view.py), and the `newsrag chat` REPL.

    $ newsrag chat
    > What will Trump and Putin discuss?
    land and power plants [1]

    [1] "Trump, who is seeking Putin's backing ... land and power plants."
        Trump-Putin Talks Ahead: Will They Agree on a Ceasefire? — 2025-03-17 · TROIB News
    > When is it?
    ...
    (searched for: When is it? (about: Trump, Putin, discuss))
"""

from __future__ import annotations

import contextlib
import re
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click

from newsrag.cli.answer_view import one_line, print_checks, print_sources, print_view
from newsrag.errors import NewsragError
from newsrag.terminal import report_error, safe, terminal_width
from rag.generators import Extractive

if TYPE_CHECKING:
    from rag.answering import AskOptions, Assistant
    from rag.models import Answer

FALLBACK_NOTE = ("(no generated sentence was supported by the sources; "
                 "showing quoted sentences)")
HELP = """Ask a question in plain words; follow-ups may refer to earlier turns.
  /sources  the full citations of the last answer (url, article id, span)
  /reset    forget the conversation so far
  /help     this text
  /quit     leave (also /exit, Ctrl-D)"""


def print_answer(assistant: Assistant, question: str, history: Sequence[tuple[str, Any]],
                 options: AskOptions, live: bool, detailed: bool = False) -> Answer:
    """Print the answer (a model's text as it is written when `live`) and its evidence, and
    return the Answer."""
    # Only a model writes over time; an extractive answer arrives whole, so it is laid out.
    echo = live and not isinstance(assistant.chat_model(options.generator), Extractive)
    live_text = LiveText()
    streamed: list[str] = []
    pending = ""  # one delta held back: a decline arrives as one delta, then the Answer
    with assistant.stream(question, history, options) as stream:  # Ctrl-C: stops the model
        for item in stream:
            if echo and pending:
                live_text.echo(pending)
            streamed.append(item)
            pending = item
        answer = stream.answer
    prose_shown = False
    if echo and streamed and not answer.refused:
        live_text.echo(pending)
        live_text.finish()
        click.echo()
        prose_shown = "".join(streamed) == answer.answer
        if not prose_shown:
            # e.g. grounding = "flag" with a fallback: flagged sentences streamed, then replaced
            click.echo("(the checked answer differs from the streamed text; it reads:)")
    print_view(answer, detailed, prose_shown)
    if answer.fallback:
        click.secho(FALLBACK_NOTE, dim=True, err=True)
    return answer


class LiveText:
    """Streamed text echoed as it comes, broken between words at the terminal's edge (not
    inside a word, as the terminal itself would). A model streams parts of words, so the
    last unfinished word waits for the next delta (or `finish`)."""

    def __init__(self, width: int | None = None) -> None:
        self.width = width or terminal_width()
        self.column = 0
        self.partial = ""

    def echo(self, delta: str) -> None:
        text = safe(delta)
        if self.width is None:
            self._write(text)
            return
        text = self.partial + text
        self.partial = ""
        if text and not text[-1].isspace():
            text, _, self.partial = text.rpartition(" ") if " " in text else ("", "", text)
            text += " " if text else ""
        self._write(self._wrapped(text))

    def finish(self) -> None:
        if self.partial:
            partial, self.partial = self.partial, ""
            self._write(self._wrapped(partial))

    def _write(self, text: str) -> None:
        click.echo(text, nl=False)
        sys.stdout.flush()

    def _wrapped(self, text: str) -> str:
        out = []
        for piece in re.split(r"(\s+)", text):
            if not piece:
                continue
            if piece.isspace():
                if "\n" in piece:
                    self.column = 0
                    out.append("\n")
                elif self.column:
                    out.append(" ")
                    self.column += 1
                continue
            assert self.width is not None
            if self.column and self.column + len(piece) > self.width:
                if out and out[-1] == " ":
                    out.pop()
                out.append("\n")
                self.column = 0
            out.append(piece)
            self.column += len(piece)
        return "".join(out)


class ChatSession:
    """One conversation: its history of (question, answer) pairs and the last Answer."""

    def __init__(self, assistant: Assistant, options: AskOptions,
                 show_checks: bool = False) -> None:
        self.assistant = assistant
        self.options = options
        self.show_checks = show_checks
        self.history: list[tuple[str, Answer]] = []
        self.last: Answer | None = None

    def ask(self, question: str) -> None:
        """Stream the answer, then its sources; an error or Ctrl-C ends only this turn."""
        try:
            answer = print_answer(self.assistant, question, self.history, self.options,
                                  live=True)
        except NewsragError as exc:
            report_error(exc)
            return
        except KeyboardInterrupt:
            click.echo("\n(interrupted)", err=True)
            return
        # The whole Answer: a follow-up carries over its short answer and cited sentences.
        self.history.append((question, answer))
        self.last = answer
        if answer.standalone_question and answer.standalone_question != question:
            click.echo(f"(searched for: {one_line(answer.standalone_question)})")
        if self.show_checks:
            print_checks(answer)
        click.echo()

    def command(self, line: str) -> bool:
        """Run a /command; False means leave."""
        name = line.split()[0].lower()
        if name in ("/quit", "/exit"):
            return False
        if name == "/reset":
            self.history.clear()
            self.last = None
            click.echo("(conversation cleared)")
        elif name == "/sources":
            if self.last is None:
                click.echo("(no answer yet)")
            else:
                print_sources(self.last)
        elif name == "/help":
            click.echo(HELP)
        else:
            click.echo(f"unknown command {safe(name)} (try /help)")
        return True


def run_chat(session: ChatSession) -> None:
    """Read questions from stdin (a terminal or a pipe) until /quit, /exit or end of input."""
    interactive = sys.stdin.isatty()
    if interactive:
        with contextlib.suppress(ImportError):  # not on every platform; input() still works
            import readline  # noqa: F401  (line editing and ↑ history for input())
        click.echo("newsrag chat: ask about the ingested news (/help for commands)")
    while (line := _read_line(interactive)) is not None:
        line = line.strip()
        if not line:
            continue
        if line.startswith("/"):
            if not session.command(line):
                break
            continue
        session.ask(line)


def _read_line(interactive: bool) -> str | None:
    """The next line, or None at end of input or Ctrl-C at the prompt."""
    try:
        line = input("> " if interactive else "")
    except EOFError:
        return None
    except KeyboardInterrupt:
        click.echo()
        return None
    if not interactive:
        click.echo(f"> {safe(line.strip())}")  # piped input: keep the transcript readable
    return line
