"""Cited answers in the terminal: streamed text, sources, checks, and the `newsrag chat` REPL.

    $ newsrag chat
    > What will Trump and Putin discuss?
    Trump, who is seeking Putin's backing ... land and power plants. [1]
    > When is it?
    ...
    (searched for: When is it? (about: Trump, Putin, discuss))
"""

from __future__ import annotations

import contextlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from newsrag.errors import NewsragError
from newsrag.terminal import safe, safe_line

if TYPE_CHECKING:
    from rag.answering import AskOptions, Assistant
    from rag.models import Answer, Citation

FALLBACK_NOTE = ("(no generated sentence was supported by the sources; "
                 "showing quoted sentences)")
HELP = """Ask a question in plain words; follow-ups may refer to earlier turns.
  /sources  the full citations of the last answer
  /reset    forget the conversation so far
  /help     this text
  /quit     leave (also /exit, Ctrl-D)"""


def print_answer(assistant: Assistant, question: str, history: Sequence[tuple[str, str]],
                 options: AskOptions, live: bool) -> Answer:
    """Print the answer text (as it is written when `live`) and return the Answer."""
    streamed: list[str] = []
    answer: Answer | None = None
    stream = assistant.stream(question, history, options)
    try:
        for item in stream:
            if isinstance(item, str):
                streamed.append(item)
                if live:
                    click.echo(safe(item), nl=False)
                    sys.stdout.flush()
            else:
                answer = item
    finally:
        close = getattr(stream, "close", None)
        if close:
            close()  # on Ctrl-C: stops the model now and frees its lock
    if answer is None:
        raise AssertionError("Assistant.stream ended without an Answer")
    if not live:
        click.echo(safe(answer.answer))
    elif "".join(streamed) != answer.answer:
        # e.g. grounding = "flag" with a fallback: flagged sentences streamed, then replaced
        click.echo("\n(the checked answer differs from the streamed text; it reads:)")
        click.echo(safe(answer.answer))
    else:
        click.echo()
    if answer.fallback:
        click.secho(FALLBACK_NOTE, dim=True, err=True)
    return answer


def print_sources(answer: Answer) -> None:
    """Every citation with its title, date, source, url and the quoted sentence's span."""
    if answer.citations:
        click.echo("\nSources:")
    for c in answer.citations:
        click.echo(f"[{c.n}] {safe(c.title)} — {_day(c.published)} · {safe(c.source) or '-'}"
                   f"\n    {safe(c.url) or '(no url)'}  id {safe(c.article_id)}"
                   f"\n    \"{safe(c.text)}\" (chars {c.char_start}–{c.char_end})")
    print_closest(answer)


def print_compact_sources(answer: Answer) -> None:
    """One line per cited article: its citation numbers, title, date and source."""
    by_article: dict[str, list[Citation]] = {}
    for c in answer.citations:
        by_article.setdefault(c.article_id, []).append(c)
    for cited in by_article.values():
        c = cited[0]
        numbers = "".join(f"[{x.n}]" for x in cited)
        click.echo(f"  {numbers} {safe(c.title)} — {_day(c.published)} · "
                   f"{safe(c.source) or '-'}")
    print_closest(answer)


def print_closest(answer: Answer) -> None:
    """For a refusal: the distinct articles retrieved, so the user sees what is there."""
    if not answer.refused:
        return
    if not answer.sources:
        click.echo("(nothing matched: is anything ingested? see `newsrag stats`)")
        return
    click.echo("\nClosest articles:")
    titles = dict.fromkeys((safe(h.title) or safe(h.article_id), _day(h.published))
                           for h in answer.sources)
    for title, day in titles:
        click.echo(f"  - {title} ({day})")


def print_checks(answer: Answer) -> None:
    """Each answer sentence with its grounding status and support score."""
    if not answer.sentences:
        return
    click.echo("\nChecks:")
    for s in answer.sentences:
        cited = "".join(f"[{n}]" for n in s.citations) or "[-]"
        click.echo(f"  {s.status:<12} {s.support:.2f} {cited} {safe(s.text)}")


def _day(published: str | None) -> str:
    return (published or "undated")[:10]


def report_error(exc: NewsragError) -> None:
    """One line on stderr (the traceback too with NEWSRAG_DEBUG=1)."""
    if os.environ.get("NEWSRAG_DEBUG") == "1":
        traceback.print_exc()
    click.echo(f"newsrag: error: {safe_line(str(exc))}", err=True)


class ChatSession:
    """One conversation: its history of (question, answer) pairs and the last Answer."""

    def __init__(self, assistant: Assistant, options: AskOptions,
                 show_checks: bool = False) -> None:
        self.assistant = assistant
        self.options = options
        self.show_checks = show_checks
        self.history: list[tuple[str, str]] = []
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
        self.history.append((question, answer.answer))
        self.last = answer
        if answer.standalone_question and answer.standalone_question != question:
            click.echo(f"(searched for: {safe(answer.standalone_question)})")
        print_compact_sources(answer)
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
