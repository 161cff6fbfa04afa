"""The terminal layout of an answer, on hand-made Answers with exact spans: the short answer
first, each cited sentence once with its title, day and outlet, declines, dates and checks.
(`tests/test_cli_answer.py` runs the same views through the real console script.)"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click
import pytest

from newsrag.cli.answer_view import print_checks, print_sources, print_view
from newsrag.cli.chat import print_answer
from rag.answer_layout import DECLINED, lay_out
from rag.answer_stream import AnswerStream
from rag.answering import AskOptions
from rag.generators import Extractive
from rag.models import Answer, AnswerSentence
from tests.conftest import SEED_TEXT
from tests.made_answers import (
    LAND,
    PESKOV,
    PLANTS,
    TITLE,
    declined_answer,
    quotes_answer,
    sentence_answer,
    short_answer_answer,
)


@pytest.fixture
def shown(capsys: pytest.CaptureFixture[str]) -> Callable[..., str]:
    def run(show: Callable[..., None], *args: Any, **kwargs: Any) -> str:
        show(*args, **kwargs)
        return capsys.readouterr().out

    return run


def test_short_answer_first_then_each_cited_sentence_once(shown: Callable[..., str]) -> None:
    out = shown(print_view, short_answer_answer())
    lines = out.splitlines()
    assert lines[0] == f"{PLANTS} [1]"
    assert out.count(LAND) == 1 and out.count(PESKOV) == 1  # quoted once, not twice
    assert f"[1] “{LAND}”\n    {TITLE} — 2025-03-17 · TROIB News" in out
    assert "[2] “" in out and "Kremlin on the call — 2025-03-18 · Wire" in out
    assert "(articles published 2025-03-10 to 2025-03-17, as the question asks)" in out
    assert "https://" not in out  # the chat's compact form


def test_the_short_answer_is_bold_in_a_terminal_and_inside_its_quote() -> None:
    from click.testing import CliRunner

    @click.command()
    def show() -> None:
        print_view(short_answer_answer())

    out = CliRunner().invoke(show, color=True).output
    bold = click.style(PLANTS, bold=True)
    assert out.startswith(f"{bold} [1]")
    before, after = LAND.split(PLANTS)
    assert f"“{before}{bold}{after}”" in out


def test_detailed_view_gives_url_id_and_exact_span(shown: Callable[..., str]) -> None:
    answer = short_answer_answer()
    out = shown(print_view, answer, detailed=True)
    first = answer.citations[0]
    assert SEED_TEXT[first.char_start:first.char_end] == first.text
    assert (f"    https://news.example/talks  id {first.article_id}  "
            f"chars {first.char_start}–{first.char_end}") in out


def test_a_whole_sentence_short_answer_is_not_quoted_again(shown: Callable[..., str]) -> None:
    out = shown(print_view, sentence_answer())
    assert out.splitlines()[0] == f"{LAND} [1]"
    assert out.count(LAND) == 1
    assert f"[1] {TITLE} — 2025-03-17 · TROIB News" in out


def test_quotes_style_shows_each_quote_once_with_where_it_comes_from(
        shown: Callable[..., str]) -> None:
    out = shown(print_view, quotes_answer())
    assert out.splitlines()[0] == f"{LAND} [1] {PESKOV} [2]"
    assert out.count(LAND) == 1 and out.count(PESKOV) == 1
    assert f"\n[1] {TITLE} — 2025-03-17 · TROIB News\n[2] {TITLE} — " in out


def test_written_prose_is_shown_and_its_sources_quoted(shown: Callable[..., str]) -> None:
    base = short_answer_answer()
    written = AnswerSentence(text="They will talk about land and power plants [1].",
                             citations=(1,), support=0.9, status="supported")
    out = shown(print_view, base.model_copy(update={"sentences": (written,)}))
    assert out.splitlines()[1] == "They will talk about land and power plants. [1]"
    assert f"[1] “{LAND}”" in out


def test_decline_says_so_plainly_and_lists_each_closest_article_once(
        shown: Callable[..., str]) -> None:
    out = shown(print_view, declined_answer())
    assert out.startswith(f"{DECLINED}\n")
    assert "closest articles: ..." not in out  # the answer text's own list is not repeated
    assert out.count(TITLE) == 1
    assert (f"Closest articles:\n  - {TITLE} — 2025-03-17 · TROIB News\n"
            "  - Markets today — 2025-03-16 · Wire\n") in out
    assert "(articles published 2022-12-12 to 2022-12-18, as the question asks)" in out
    nothing = declined_answer().model_copy(update={"sources": ()})
    assert "nothing matched" in shown(print_view, nothing)


def test_checks_say_why_answered_or_declined(shown: Callable[..., str]) -> None:
    out = shown(print_checks, short_answer_answer())
    assert "  decision:     answered · answerability 0.81 ≥ threshold 0.40" in out
    assert "  answer type:  description" in out and "  why:          2 articles agree" in out
    assert f"    1. {PLANTS} — score 0.90 · 2 sentences · 1 article" in out
    assert "    2. ceasefire — score 0.30 · 1 sentence · 1 article" in out
    assert "  dates:        2025-03-10 to 2025-03-17" in out
    assert "    quoted       1.00 [1] (verbatim source sentence)" in out
    declined = shown(print_checks, declined_answer())
    assert "decision:     declined · answerability 0.12 < threshold 0.40" in declined
    assert "why:          the question's key entities are missing: World Cup" in declined
    assert "candidates:   none of the expected type" in declined
    unchecked = shown(print_checks, quotes_answer())
    assert "decision:     answered · relevance 0.00" in unchecked and "reader:       none" in (
        unchecked)


def test_sources_command_quotes_everything(shown: Callable[..., str]) -> None:
    out = shown(print_sources, sentence_answer())
    assert f"[1] “{LAND}”\n    {TITLE} — 2025-03-17 · TROIB News\n    https://" in out


def test_hostile_text_stays_on_its_line(shown: Callable[..., str]) -> None:
    base = short_answer_answer()
    evil = base.citations[1].model_copy(update={
        "title": "Evil\n[9] forged line\x1b[2J", "source": "Wire\x1b]0;x\x07"})
    out = shown(print_view, base.model_copy(update={"citations": (base.citations[0], evil)}))
    assert "\x1b" not in out and "\x07" not in out
    assert "\n[9]" not in out and "Evil [9] forged line — 2025-03-18 · Wire" in out


class ScriptedAssistant:
    """Streams scripted deltas then an Answer, as rag.answering.Assistant.stream does."""

    def __init__(self, deltas: list[str], answer: Answer, model: bool) -> None:
        self.deltas, self.final, self.model = deltas, answer, model

    def chat_model(self, generator: str | None = None) -> object:
        return object() if self.model else Extractive()

    def stream(self, question: str, history: Any, options: Any) -> AnswerStream:
        return AnswerStream(iter([*self.deltas, self.final]))


def test_streamed_model_text_is_not_printed_twice(shown: Callable[..., str]) -> None:
    base = short_answer_answer()
    written = AnswerSentence(text="They will discuss land and power plants.", citations=(1,),
                             support=0.9, status="supported")
    answer = base.model_copy(update={"sentences": (written,),
                                     "answer": "They will discuss land and power plants. [1]"})
    assistant = ScriptedAssistant(["They will discuss ", "land and power plants. [1]"], answer,
                                  model=True)
    out = shown(print_answer, assistant, "q", [], AskOptions(), live=True)
    assert out.startswith("They will discuss land and power plants. [1]\n")
    assert out.count("They will discuss") == 1
    # The short answer streams first (as the Assistant sends it) and is not printed again.
    seeded = answer.model_copy(update={
        "answer": f"{PLANTS}. [1] They will discuss them. [1]",
        "sentences": (AnswerSentence(text=f"{PLANTS}.", citations=(1,), support=1.0,
                                     status="quoted"),
                      written.model_copy(update={"text": "They will discuss them."}))})
    out = shown(print_answer, ScriptedAssistant([f"{PLANTS}. [1]", " They will discuss them. [1]"],
                                                seeded, model=True), "q", [], AskOptions(),
                live=True)
    assert out.startswith(f"{PLANTS}. [1] They will discuss them. [1]\n")
    assert out.count(PLANTS) == 2  # streamed once, highlighted once inside its quote
    assert out.count("They will discuss them") == 1
    refusal = ScriptedAssistant([declined_answer().answer], declined_answer(), model=True)
    out = shown(print_answer, refusal, "q", [], AskOptions(), live=True)
    assert out.startswith(DECLINED) and "closest articles: ..." not in out
    extractive = ScriptedAssistant([quotes_answer().answer], quotes_answer(), model=False)
    out = shown(print_answer, extractive, "q", [], AskOptions(), live=True)
    assert out.count(LAND) == 1


def test_layout_highlights_the_short_answer_inside_its_citation() -> None:
    layout = lay_out(short_answer_answer())
    first = layout.evidence[0]
    assert first.citation.n == 1 and first.highlight is not None
    start, end = first.highlight
    assert first.citation.text[start:end] == PLANTS
    assert [e.quote for e in layout.evidence] == [True, True]
