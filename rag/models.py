"""What the rag layer returns: search hits and cited answers (also the CLI's --json output)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class HitSentence(Frozen):
    """A sentence of a hit's chunk; `article.text[start:end] == text`."""

    start: int
    end: int
    text: str


class Hit(Frozen):
    """A retrieved chunk with its article's metadata, its fused score and how it ranked.

    `score` is the fused retrieval score (rag/fusion.py); `similarity` the cosine similarity
    of the chunk to the question; the ranks are 1-based places in the dense, chunk BM25 and
    article BM25 rankings (None: not among that ranking's candidates).
    """

    article_id: str
    title: str
    source: str
    url: str
    published: str | None
    chunk_index: int
    score: float
    text: str
    char_start: int
    char_end: int
    sentences: tuple[HitSentence, ...]
    similarity: float | None = None
    dense_rank: int | None = None
    bm25_rank: int | None = None
    article_rank: int | None = None
    story_id: str | None = None  # articles that are copies or rewrites of one story share it
    story_outlets: int | None = None  # how many outlets (sources) in the library carry it


class Citation(Frozen):
    """Citation [n]: one exact source sentence, `article.text[char_start:char_end] == text`."""

    n: int
    article_id: str
    title: str
    url: str
    source: str
    published: str | None
    text: str
    char_start: int
    char_end: int
    story_outlets: int | None = None  # outlets in the library carrying the cited story


class LaterReport(Frozen):
    """A later article of a cited story that changes citation [citation]'s fact: its sentence
    (`article.text[char_start:char_end] == text`) and, by `kind`, the old and new figures
    ("figures") or the verbs it reverses ("reversal": "close" -> "not close")."""

    citation: int
    article_id: str
    title: str
    source: str
    url: str
    published: str | None
    text: str
    char_start: int
    char_end: int
    old: tuple[str, ...]
    new: tuple[str, ...]
    kind: Literal["figures", "reversal"] = "figures"


class AnswerSentence(Frozen):
    """One answer sentence, the citation numbers it carries and how well they support it.

    status: "quoted" (verbatim source sentence), "supported" (its own markers hold),
    "reattributed" (moved to the source sentence that supports it), "unsupported" (kept only
    with `ask.grounding = "flag"`), "dropped" (removed by grounding with
    `ask.grounding = "drop"`, listed only in `Answer.dropped`).
    """

    text: str
    citations: tuple[int, ...]
    support: float
    status: Literal["quoted", "supported", "reattributed", "unsupported", "dropped"] = "supported"


AnswerType = Literal["person", "organisation", "place", "date", "number", "title", "product",
                     "event", "description"]


class ShortAnswer(Frozen):
    """The answer in a few words, verbatim inside citation [citation]:
    `article.text[char_start:char_end] == text` for the cited article."""

    text: str
    citation: int
    article_id: str
    char_start: int
    char_end: int
    # "phrase": a candidate of the expected type; "sentence": the best sentence, whole.
    kind: Literal["phrase", "sentence"] = "phrase"


class ReaderCandidate(Frozen):
    """A candidate answer the reader weighed: its score and how many sentences and articles
    stated it."""

    text: str
    score: float
    sentences: int
    articles: int


class ReaderCheck(Frozen):
    """Why the reader answered or declined: the question's expected answer type, the
    candidates it found, and its answerability estimate against the threshold."""

    answer_type: AnswerType
    candidates: tuple[ReaderCandidate, ...] = ()
    answerable: float = 0.0
    threshold: float = 0.0
    reasons: tuple[str, ...] = ()


class Answer(Frozen):
    """A short answer whose every sentence cites the source sentences it rests on."""

    question: str
    answer: str
    sentences: tuple[AnswerSentence, ...]
    citations: tuple[Citation, ...]
    refused: bool
    generator: str
    timings: dict[str, float]
    # The question as searched: a follow-up rewritten from the chat history.
    standalone_question: str = ""
    # The best retrieved sentence's score; below ask.min_relevance the answer is a refusal.
    relevance: float = 0.0
    # True when no generated sentence survived grounding and the extractive answer was used.
    fallback: bool = False
    sources: tuple[Hit, ...] = ()
    # Generated sentences grounding removed (no citations; support = best score found).
    dropped: tuple[AnswerSentence, ...] = ()
    # Retrieved sentences withheld as addressed to the model, not to readers ("ignore previous
    # instructions", chat-template tokens, forged citation markers): never shown, quoted or cited.
    screened: int = 0
    # The answer in a few words (or the best sentence), an exact span of a cited sentence.
    short_answer: ShortAnswer | None = None
    # The reader's evidence for answering or declining (shown by "show checks").
    check: ReaderCheck | None = None
    # The question's relative dates ("this week") resolved to days: (since, until), ISO.
    date_window: tuple[str, str] | None = None
    # Later reports of a cited story that change a cited figure (rag/freshness.py).
    later_reports: tuple[LaterReport, ...] = ()
