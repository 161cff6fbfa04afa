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
from rag.models import Citation, Hit
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
            with self.assistant.stream(question, history, options) as stream:
                for delta in stream:
                    turn = replace(turn, text=turn.text + delta)
                    yield self._view([*done, turn], form, ())
                answer = stream.answer
            turn = replace(turn, text=answer.answer, answer=answer)
            yield self._view([*done, turn], form, answer.sources)
        except NewsragError as exc:
            yield self._view([*done, replace(turn, error=str(exc))], form, ())

    def _view(self, turns: list[ChatTurn], form: AskForm, hits: Sequence[Hit]) -> ChatView:
        return ChatView(render_transcript(turns, form.show_checks), turns,
                        render_sources(hits, len(turns) - 1 if hits else None))

    def rerender(self, turns: Sequence[ChatTurn], show_checks: bool) -> str:
        return render_transcript(turns, show_checks)

    def open_citation(self, turns: Sequence[ChatTurn], turn_index: int, n: int) -> str:
        """The source pane for citation [n] of answer `turn_index`."""
        citation = find_citation(turns, turn_index, n)
        record = self.assistant.services.index.catalog.get(citation.article_id)
        if record is None:
            return render_missing_article(citation)
        return render_article(record.article, citation)

    def turn_sources(self, turns: Sequence[ChatTurn], turn_index: int) -> str:
        """The retrieved-sources table of answer `turn_index` (the one being read)."""
        answer = turns[turn_index].answer if 0 <= turn_index < len(turns) else None
        return render_sources(answer.sources if answer else (), turn_index)

    def open_article(self, article_id: str) -> str:
        """The source pane as a reader for one library article."""
        record = self.assistant.services.index.catalog.get(article_id)
        if record is None:
            raise NotFoundError("that article is no longer in the library")
        return render_article(record.article, None)

    def examples(self, count: int = 3) -> list[str]:
        """Questions about the newest articles' headlines, for the example buttons."""
        records = self.assistant.services.index.catalog.list_articles()
        return example_questions([r.article.title for r in records], count)

    def source_choices(self) -> list[str]:
        """The outlets in the library, for the source filter."""
        records = self.assistant.services.index.catalog.list_articles()
        return sorted({r.article.source for r in records if r.article.source})


def check_question(question: str, form: AskForm) -> tuple[str, str]:
    """(message for the question box, message for the dates): empty when all is well."""
    try:
        form.options()
        dates = ""
    except ConfigError as exc:
        dates = str(exc)
    return ("" if question.strip() else "Type a question first."), dates


def example_questions(titles: Sequence[str], count: int = 3) -> list[str]:
    """A question per headline (newest first), each headline once.

    >>> example_questions(["Dam opens in the valley", "Dam opens in the valley", ""])
    ['What does the news say about “Dam opens in the valley”?']
    """
    seen: list[str] = []
    for title in titles:
        title = " ".join(title.split()).rstrip(".?!")
        if title and title not in seen and len(title) <= 120:
            seen.append(title)
        if len(seen) == count:
            break
    return [f"What does the news say about “{title}”?" for title in seen]


def find_citation(turns: Sequence[ChatTurn], turn_index: int, n: int) -> Citation:
    if 0 <= turn_index < len(turns):
        answer = turns[turn_index].answer
        for citation in answer.citations if answer else ():
            if citation.n == n:
                return citation
    raise NotFoundError(f"answer {turn_index + 1} has no citation [{n}]")
