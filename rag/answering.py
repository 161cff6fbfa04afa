"""The answer pipeline: standalone question → retrieve → read → decline, or answer.

The reader (rag/reader.py) ranks the retrieved sentences, finds the short answer and decides
whether the articles answer the question at all. The extractive answer is the short answer
first, cited to the sentence(s) stating it (`ask.style = "short"`), or the best sentences
quoted whole (`"quotes"`). With an LLM, the model sees the ranked sentences and the reader's
candidates; each generated sentence is grounded as soon as it is complete
(rag/grounding.py), and the short answer still leads. When no generated sentence survives,
the extractive answer is used instead.

`Assistant.stream` yields text deltas of the final answer, then the `Answer` itself.

    >>> assistant = Assistant(services)                                 # doctest: +SKIP
    >>> assistant.answer("What will Trump and Putin discuss?").answer   # doctest: +SKIP
    "... land and power plants ... [1]"
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from newsrag.errors import NewsragError
from rag.answer_layout import day
from rag.answer_stream import AnswerStream
from rag.conversation import rewrite_followup, to_turns
from rag.extractive import count_screened, pick_extractive, prompt_sources, relevance
from rag.freshness import with_later_reports
from rag.generators import EXTRACTIVE, ChatModel, Extractive, Generator, make_chat_model
from rag.grounding import GroundedSentence, Renumbered, StreamGrounder, SupportJudge
from rag.models import Answer, AnswerSentence, Citation, Hit, ShortAnswer
from rag.prompt import build_messages
from rag.reader import Reading, read
from rag.screen import addresses_model
from rag.search import SearchOptions, search
from rag.sentence_ranker import RankedSentence
from rag.services import Services

REFUSAL = "The articles do not say."


@dataclass(frozen=True)
class AskOptions(SearchOptions):
    """Per-question overrides of the configured retrieval (SearchOptions) and generator."""

    generator: str | None = None


@dataclass
class _Run:
    """What one question has gathered so far."""

    question: str
    standalone: str = ""  # the question as searched
    hits: list[Hit] = field(default_factory=list)
    ranked: list[RankedSentence] = field(default_factory=list)
    reading: Reading | None = None
    window: tuple[str, str] | None = None  # the question's resolved dates
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
                      sources=tuple(self.hits), screened=self.screened,
                      check=self.reading.check() if self.reading else None,
                      date_window=self.window, **fields)


class Assistant:
    """Answers questions over one index; chat models and the support judge load on first use."""

    def __init__(self, services: Services, judge: SupportJudge | None = None) -> None:
        self.services = services
        self._judge = judge
        self._chat_models: dict[str, Generator] = {}
        # Two first questions at once must not load a llama.cpp model (or the judge) twice.
        self._loading = threading.Lock()

    @property
    def judge(self) -> SupportJudge:
        with self._loading:
            if self._judge is None:
                from rag.judge import shared_judge

                # The judge evals use too (eval.judge); grounding holds it to its strict bar.
                self._judge = shared_judge(self.services)
            return self._judge

    def chat_model(self, generator: str | None = None) -> Generator:
        """The chat model for a generator name (default: configured); None for extractive."""
        name = generator or self.services.settings.generation.generator
        with self._loading:
            if name not in self._chat_models:
                self._chat_models[name] = make_chat_model(self.services.settings.generation, name)
            return self._chat_models[name]

    def answer(self, question: str, history: Iterable[Any] | None = None,
               options: AskOptions | None = None) -> Answer:
        """The final Answer (see `stream` for the deltas)."""
        with self.stream(question, history, options) as stream:
            return stream.answer

    def stream(self, question: str, history: Iterable[Any] | None = None,
               options: AskOptions | None = None) -> AnswerStream:
        """The answer's text deltas as it is written, then `.answer`."""
        if not question.strip():
            raise NewsragError("type a question first")
        return AnswerStream(self._stream(question, history, options or AskOptions()))

    def _stream(self, question: str, history: Iterable[Any] | None,
                options: AskOptions) -> Iterator[str | Answer]:
        run = _Run(question)
        standalone = self.standalone_question(question, history, options.generator)
        run.time("rewrite_s")
        found = search(standalone, self.services, options)
        if found.window:
            run.window = (found.window.since.isoformat() if found.window.since else "",
                          found.window.until.isoformat() if found.window.until else "")
        for part in self._respond(question, standalone, found.hits, options, run):
            yield (with_later_reports(part, self.services, options.reference)
                   if isinstance(part, Answer) else part)

    def standalone_question(self, question: str, history: Iterable[Any] | None,
                            generator: str | None = None) -> str:
        """The question rewritten from the chat history if it is a follow-up."""
        if not self.services.settings.ask.rewrite_followups:
            return question
        chat = self.chat_model(generator)
        writer = None if isinstance(chat, Extractive) else chat  # rules alone, then
        return rewrite_followup(question, to_turns(history), writer)

    def respond(self, question: str, standalone: str, hits: list[Hit],
                options: AskOptions | None = None) -> AnswerStream:
        """Answer from already retrieved hits: refuse, quote, or generate and ground."""
        return AnswerStream(self._respond(question, standalone, hits, options or AskOptions(),
                                          _Run(question)))

    def _respond(self, question: str, standalone: str, hits: list[Hit], options: AskOptions,
                 run: _Run) -> Iterator[str | Answer]:
        run.standalone, run.hits = standalone, hits
        run.time("retrieve_s")
        run.reading = read(standalone, hits, self.services.index.embedder, options.reference)
        run.ranked = run.reading.ranked
        run.screened = count_screened(hits)
        run.time("read_s")
        ask = self.services.settings.ask
        chat = self.chat_model(options.generator)
        declined = ask.decline and not run.reading.answers
        if relevance(run.ranked) < ask.min_relevance or declined or not run.ranked:
            final = _refusal(run, chat.name)
            yield final.answer
            yield final
        elif isinstance(chat, Extractive):
            yield from _extractive(run, ask.max_sentences, ask.style, EXTRACTIVE,
                                   fallback=False)
        else:
            yield from self._generate(run, chat)

    def _generate(self, run: _Run, chat: ChatModel) -> Iterator[str | Answer]:
        ask = self.services.settings.ask
        sources = prompt_sources(run.ranked, ask.prompt_sentences)
        seed = _short_seed(run.reading, sources) if ask.style == "short" else None
        grounder = StreamGrounder(sources, self.judge, ask.grounding,
                                  ask.max_sentences + (seed is not None))
        if seed is not None:  # the short answer leads, streamed before the model writes
            grounder.kept.append(seed)
            yield grounder.finish()
        hints = [c.text for c in run.reading.candidates[:3]] if run.reading else []
        stream = chat.stream(build_messages(run.standalone, sources, hints))
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
        written = [s for s in result.sentences[seed is not None:] if s.status != "unsupported"]
        if seed is None and not written:
            yield from _extractive(run, ask.max_sentences, ask.style, chat.name,
                                   fallback=True, dropped=dropped)
            return
        yield _generated_answer(run, result, chat.name, dropped, seeded=seed is not None,
                                fallback=not written)


def _answer_sentence(sentence: GroundedSentence) -> AnswerSentence:
    return AnswerSentence(text=sentence.text, citations=sentence.cited,
                          support=round(sentence.support, 4), status=sentence.status)


def _dropped_sentence(sentence: GroundedSentence) -> AnswerSentence:
    """A sentence grounding removed: its prompt numbers mean nothing in the answer."""
    return AnswerSentence(text=sentence.text, citations=(),
                          support=round(sentence.support, 4), status="dropped")


def _extractive(run: _Run, max_sentences: int, style: str, generator: str, fallback: bool,
                dropped: tuple[AnswerSentence, ...] = ()) -> Iterator[str | Answer]:
    """The short answer with its evidence, or (style "quotes") the best sentences quoted."""
    reading = run.reading
    if style == "short" and reading is not None and reading.short is not None:
        citations = tuple(r.cite(n) for n, r in enumerate(reading.evidence, start=1))
        if reading.short.kind == "sentence":  # the best statement first, then the next
            text, sentences = _quoted(citations)
        else:
            numbers = tuple(c.n for c in citations)
            line = _as_line(reading.short.text)
            text = f"{line} {''.join(f'[{n}]' for n in numbers)}"
            sentences = (AnswerSentence(text=line, citations=numbers, support=1.0,
                                        status="quoted"),)
        short_answer = _short_answer(reading, citations[0])
    else:
        chosen = pick_extractive(run.ranked, max_sentences)
        citations = tuple(r.cite(n) for n, r in enumerate(chosen, start=1))
        text, sentences = _quoted(citations)
        short_answer = None
    yield text
    run.time("generate_s")
    yield run.answer(answer=text, sentences=sentences, citations=citations, refused=False,
                     generator=generator, fallback=fallback, dropped=dropped,
                     short_answer=short_answer)


def _quoted(citations: tuple[Citation, ...]) -> tuple[str, tuple[AnswerSentence, ...]]:
    """Each cited sentence quoted whole with its marker."""
    text = " ".join(f"{c.text} [{c.n}]" for c in citations)
    return text, tuple(AnswerSentence(text=c.text, citations=(c.n,), support=1.0,
                                      status="quoted") for c in citations)


def _as_line(phrase: str) -> str:
    """A phrase as an answer line: "North Korea." """
    return phrase if phrase.endswith((".", "!", "?")) else phrase + "."


def _short_answer(reading: Reading, citation: Citation) -> ShortAnswer | None:
    """The reader's short answer as a span of `citation` (which must be its sentence)."""
    short = reading.short
    if short is None or citation.char_start != short.sentence.start:
        return None
    return ShortAnswer(text=short.text, citation=citation.n, article_id=citation.article_id,
                       char_start=short.sentence.start + short.start,
                       char_end=short.sentence.start + short.end,
                       kind="phrase" if short.kind == "phrase" else "sentence")


def _short_seed(reading: Reading | None, sources: list[Citation]) -> GroundedSentence | None:
    """The short answer as an already grounded first sentence citing its evidence (added to
    the prompt's sources when the prompt lacks them); None without a phrase answer."""
    if reading is None or reading.short is None or reading.short.kind != "phrase":
        return None
    numbers = []
    for sentence in reading.evidence:
        same = next((c for c in sources if c.article_id == sentence.hit.article_id
                     and c.char_start == sentence.start), None)
        if same is None:
            same = sentence.cite(len(sources) + 1)
            sources.append(same)
        numbers.append(same.n)
    return GroundedSentence(_as_line(reading.short.text), tuple(numbers), 1.0, "supported")


def _generated_answer(run: _Run, result: Renumbered, generator: str,
                      dropped: tuple[AnswerSentence, ...], seeded: bool, fallback: bool
                      ) -> Answer:
    """A grounded LLM answer; when `seeded`, its first sentence is the reader's short answer
    (quoted, citation [1] holds it)."""
    sentences = [_answer_sentence(s) for s in result.sentences]
    short_answer = None
    if seeded and run.reading is not None:
        sentences[0] = sentences[0].model_copy(update={"status": "quoted"})
        short_answer = _short_answer(run.reading, result.citations[0])
    return run.answer(answer=result.text, sentences=tuple(sentences),
                      citations=tuple(result.citations), refused=False, generator=generator,
                      dropped=dropped, short_answer=short_answer, fallback=fallback)


def _refusal(run: _Run, generator: str) -> Answer:
    """Says the articles do not say, naming the closest ones (also in `sources`)."""
    # A title written to the model ("Ignore previous instructions ...") is not repeated.
    titles = list(dict.fromkeys(f"\u201c{h.title}\u201d ({day(h.published)})"
                                for h in run.hits if h.title and not addresses_model(h.title)))[:3]
    text = REFUSAL + (f" The closest articles: {'; '.join(titles)}." if titles else "")
    return run.answer(answer=text, sentences=(), citations=(), refused=True,
                      generator=generator)

