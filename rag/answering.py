"""The answer pipeline: standalone question → retrieve → rank → refuse, or generate → ground.

`Assistant.stream` yields text deltas of the final answer, then the `Answer` itself. With an
LLM, each generated sentence is grounded as soon as it is complete (rag/grounding.py); when
none survives, the extractive answer is used instead.

    >>> assistant = Assistant(services)                                 # doctest: +SKIP
    >>> assistant.answer("What will Trump and Putin discuss?").answer   # doctest: +SKIP
    "... land and power plants ... [1]"
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from ingest.store import Filters
from rag.conversation import rewrite_followup, to_turns
from rag.extractive import (
    RankedSentence,
    count_screened,
    pick_extractive,
    prompt_sources,
    rank_sentences,
    relevance,
)
from rag.generators import EXTRACTIVE, ChatModel, make_chat_model
from rag.grounding import GroundedSentence, StreamGrounder, SupportJudge
from rag.models import Answer, AnswerSentence, Hit
from rag.prompt import build_messages
from rag.screen import addresses_model
from rag.search import retrieve
from rag.services import Services

REFUSAL = "The ingested articles do not cover this question."


@dataclass(frozen=True)
class AskOptions:
    """Per-question overrides of the configured retrieval and generator."""

    k: int | None = None
    filters: Filters | None = None
    generator: str | None = None
    mmr: bool | None = None
    # When the question is asked: relative dates resolve against it (retrieval.resolve_dates)
    # and nothing published after it is retrieved. None: today, with no upper date limit.
    reference: date | None = None


@dataclass
class _Run:
    """What one question has gathered so far."""

    question: str
    standalone: str = ""  # the question as searched
    hits: list[Hit] = field(default_factory=list)
    ranked: list[RankedSentence] = field(default_factory=list)
    screened: int = 0  # retrieved sentences withheld as addressed to the model
    timings: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.perf_counter)
    lap: float = field(default_factory=time.perf_counter)

    def time(self, name: str) -> None:
        now = time.perf_counter()
        self.timings[name] = round(now - self.lap, 4)
        self.lap = now

    def answer(self, **fields: Any) -> Answer:
        self.timings["total_s"] = round(time.perf_counter() - self.started, 4)
        return Answer(question=self.question, standalone_question=self.standalone,
                      relevance=round(relevance(self.ranked), 4), timings=self.timings,
                      sources=tuple(self.hits), screened=self.screened, **fields)


class Assistant:
    """Answers questions over one index; chat models and the support judge load on first use."""

    def __init__(self, services: Services, judge: SupportJudge | None = None) -> None:
        self.services = services
        self._judge = judge
        self._chat_models: dict[str, ChatModel | None] = {}
        # Two first questions at once must not load a llama.cpp model (or the judge) twice.
        self._loading = threading.Lock()

    @property
    def judge(self) -> SupportJudge:
        with self._loading:
            if self._judge is None:
                from rag.support import SupportScorer

                # Strict: a wrongly kept sentence misleads, a dropped one costs only a quote.
                self._judge = SupportScorer(self.services.index.embedder, strict=True)
            return self._judge

    def chat_model(self, generator: str | None = None) -> ChatModel | None:
        """The chat model for a generator name (default: configured); None for extractive."""
        name = generator or self.services.settings.generation.generator
        with self._loading:
            if name not in self._chat_models:
                self._chat_models[name] = make_chat_model(self.services.settings.generation, name)
            return self._chat_models[name]

    def answer(self, question: str, history: Iterable[Any] | None = None,
               options: AskOptions | None = None) -> Answer:
        """The final Answer (see `stream` for the deltas)."""
        return final_answer(self.stream(question, history, options))

    def stream(self, question: str, history: Iterable[Any] | None = None,
               options: AskOptions | None = None) -> Iterator[str | Answer]:
        """Text deltas of the answer as it is written, then the Answer."""
        options = options or AskOptions()
        run = _Run(question)
        standalone = self.standalone_question(question, history, options.generator)
        run.time("rewrite_s")
        hits = retrieve(standalone, self.services, options.k, options.filters, options.mmr,
                        options.reference)
        yield from self.respond(question, standalone, hits, options, run)

    def standalone_question(self, question: str, history: Iterable[Any] | None,
                            generator: str | None = None) -> str:
        """The question rewritten from the chat history if it is a follow-up."""
        if not self.services.settings.ask.rewrite_followups:
            return question
        return rewrite_followup(question, to_turns(history), self.chat_model(generator))

    def respond(self, question: str, standalone: str, hits: list[Hit],
                options: AskOptions | None = None, run: _Run | None = None
                ) -> Iterator[str | Answer]:
        """Answer from already retrieved hits: refuse, quote, or generate and ground."""
        run = run or _Run(question)
        run.standalone, run.hits = standalone, hits
        run.ranked = rank_sentences(standalone, hits, self.services.index.embedder)
        run.screened = count_screened(hits)
        run.time("retrieve_s")
        ask = self.services.settings.ask
        chat = self.chat_model((options or AskOptions()).generator)
        if relevance(run.ranked) < ask.min_relevance:
            final = _refusal(run, chat.name if chat else EXTRACTIVE)
            yield final.answer
            yield final
        elif chat is None:
            yield from _extractive(run, ask.max_sentences, EXTRACTIVE, fallback=False)
        else:
            yield from self._generate(run, chat)

    def _generate(self, run: _Run, chat: ChatModel) -> Iterator[str | Answer]:
        ask = self.services.settings.ask
        sources = prompt_sources(run.ranked, ask.prompt_sentences)
        grounder = StreamGrounder(sources, self.judge, ask.grounding, ask.max_sentences)
        stream = chat.stream(build_messages(run.standalone, sources))
        try:
            for delta in stream:
                if text := grounder.feed(delta):
                    yield text
                if grounder.full:
                    break
        finally:
            close = getattr(stream, "close", None)
            if close:
                close()  # frees a local model's lock now, not when garbage-collected
        if text := grounder.finish():
            yield text
        run.time("generate_s")
        result = grounder.result()
        dropped = tuple(_dropped_sentence(s) for s in grounder.dropped)
        if not any(s.status != "unsupported" for s in result.sentences):
            yield from _extractive(run, ask.max_sentences, chat.name, fallback=True,
                                   dropped=dropped)
            return
        yield run.answer(
            answer=result.text, sentences=tuple(_answer_sentence(s) for s in result.sentences),
            citations=tuple(result.citations), refused=False, generator=chat.name,
            dropped=dropped)


def final_answer(items: Iterable[str | Answer]) -> Answer:
    """The Answer that ends a stream of deltas."""
    for item in items:
        if isinstance(item, Answer):
            return item
    raise AssertionError("the answer stream ended without an Answer")


def _answer_sentence(sentence: GroundedSentence) -> AnswerSentence:
    return AnswerSentence(text=sentence.text, citations=sentence.cited,
                          support=round(sentence.support, 4), status=sentence.status)


def _dropped_sentence(sentence: GroundedSentence) -> AnswerSentence:
    """A sentence grounding removed: its prompt numbers mean nothing in the answer."""
    return AnswerSentence(text=sentence.text, citations=(),
                          support=round(sentence.support, 4), status="dropped")


def _extractive(run: _Run, max_sentences: int, generator: str, fallback: bool,
                dropped: tuple[AnswerSentence, ...] = ()) -> Iterator[str | Answer]:
    chosen = pick_extractive(run.ranked, max_sentences)
    citations = tuple(r.cite(n) for n, r in enumerate(chosen, start=1))
    text = " ".join(f"{c.text} [{c.n}]" for c in citations)
    yield text
    run.time("generate_s")
    sentences = tuple(AnswerSentence(text=c.text, citations=(c.n,), support=1.0,
                                     status="quoted") for c in citations)
    yield run.answer(answer=text, sentences=sentences, citations=citations, refused=False,
                     generator=generator, fallback=fallback, dropped=dropped)


def _refusal(run: _Run, generator: str) -> Answer:
    """Says the articles do not cover it, naming the closest ones (also in `sources`)."""
    # A title written to the model ("Ignore previous instructions ...") is not repeated.
    titles = list(dict.fromkeys(f"\u201c{h.title}\u201d ({(h.published or 'undated')[:10]})"
                                for h in run.hits if h.title and not addresses_model(h.title)))[:3]
    text = REFUSAL + (f" The closest articles: {'; '.join(titles)}." if titles else "")
    return run.answer(answer=text, sentences=(), citations=(), refused=True,
                      generator=generator)

