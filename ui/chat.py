"""Chat handlers: plain functions over the Assistant, returning rendered HTML.

    >>> chat = ChatHandlers(Assistant(services))                          # doctest: +SKIP
    >>> for view in chat.ask("What will Trump and Putin discuss?", []):   # doctest: +SKIP
    ...     print(view.transcript[:40])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date

from newsrag.errors import ConfigError, NewsragError, NotFoundError
from rag.answering import AskOptions, Assistant
from rag.models import Answer, Citation, Hit
from rag.search import make_filters
from ui.render import (
    ChatTurn,
    render_article,
    render_missing_article,
    render_sources,
    render_transcript,
)

EMPTY_PANE = ('<div class="nr-note">Click a citation (a [n] marker or a numbered source under '
              "an answer) to read the sentence in its article.</div>")


@dataclass(frozen=True)
class ChatView:
    """What one step of a question shows: the transcript, the turns so far, the sources."""

    transcript: str
    turns: list[ChatTurn]
    sources: str


@dataclass(frozen=True)
class AskForm:
    """The chat settings accordion, as entered."""

    generator: str = ""
    k: int | None = None
    since: str = ""
    until: str = ""
    sources: tuple[str, ...] = ()
    show_checks: bool = False
    as_of: str = ""  # when the question is asked (relative dates, nothing published later)

    def options(self) -> AskOptions:
        filters = make_filters(self.sources, _day(self.since, "since"), _day(self.until, "until"))
        return AskOptions(k=self.k or None, filters=filters, generator=self.generator or None,
                          reference=_day(self.as_of, "as of"))


def _day(value: str, name: str) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        raise ConfigError(f"'{name}' must be a date like 2025-03-17, not {value!r}") from None


class ChatHandlers:
    """The chat tab's handlers; they never raise for a bad question, they show it."""

    def __init__(self, assistant: Assistant) -> None:
        self.assistant = assistant

    def ask(self, question: str, turns: Sequence[ChatTurn], form: AskForm | None = None
            ) -> Iterator[ChatView]:
        """Stream one question's answer into the transcript."""
        form = form or AskForm()
        question = question.strip()
        if not question:
            raise NewsragError("type a question first")
        options = form.options()  # a bad date fails before the question joins the transcript
        # Whole Answers: a follow-up carries over their short answers and cited sentences.
        history = [(t.question, t.answer) for t in turns if t.answer is not None]
        done = list(turns)
        turn = ChatTurn(question)
        yield self._view([*done, turn], form, ())
        try:
            for item in self.assistant.stream(question, history, options):
                if isinstance(item, Answer):
                    turn = replace(turn, text=item.answer, answer=item)
                    yield self._view([*done, turn], form, item.sources)
                    return
                turn = replace(turn, text=turn.text + item)
                yield self._view([*done, turn], form, ())
        except NewsragError as exc:
            yield self._view([*done, replace(turn, error=str(exc))], form, ())

    def _view(self, turns: list[ChatTurn], form: AskForm, hits: Sequence[Hit]) -> ChatView:
        return ChatView(render_transcript(turns, form.show_checks), turns,
                        render_sources(hits))

    def rerender(self, turns: Sequence[ChatTurn], show_checks: bool) -> str:
        return render_transcript(turns, show_checks)

    def open_citation(self, turns: Sequence[ChatTurn], turn_index: int, n: int) -> str:
        """The source pane for citation [n] of answer `turn_index`."""
        citation = find_citation(turns, turn_index, n)
        record = self.assistant.services.index.catalog.get(citation.article_id)
        if record is None:
            return render_missing_article(citation)
        return render_article(record.article, citation)

    def source_choices(self) -> list[str]:
        """The outlets in the library, for the source filter."""
        records = self.assistant.services.index.catalog.list_articles()
        return sorted({r.article.source for r in records if r.article.source})


def find_citation(turns: Sequence[ChatTurn], turn_index: int, n: int) -> Citation:
    if 0 <= turn_index < len(turns):
        answer = turns[turn_index].answer
        for citation in answer.citations if answer else ():
            if citation.n == n:
                return citation
    raise NotFoundError(f"answer {turn_index + 1} has no citation [{n}]")
