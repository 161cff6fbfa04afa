"""Hand-made Answers over the sample article, with exact spans: what the CLI and UI views are
tested on (short answers, checks, declines, dates), independent of how the reader picks them."""

from __future__ import annotations

from rag.models import (
    Answer,
    AnswerSentence,
    Citation,
    Hit,
    HitSentence,
    ReaderCandidate,
    ReaderCheck,
    ShortAnswer,
)
from tests.conftest import SEED_TEXT

ARTICLE = "trump-putin-ceasefire-talks-84d978ca"
TITLE = "Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?"
LAND = ("Trump, who is seeking Putin's backing for a 30-day ceasefire proposal that Ukraine "
        "accepted last week, mentioned that discussions will include topics related to land "
        "and power plants.")
PLANTS = "land and power plants"
PESKOV = ("Kremlin spokesman Dmitry Peskov emphasized that Trump advocated for an expeditious "
          "ceasefire and a peaceful resolution, while Putin highlighted the necessity of "
          "addressing the underlying causes of the conflict.")


def cite(n: int, text: str, title: str = TITLE, published: str | None = "2025-03-17T08:00:00",
         source: str = "TROIB News", article_id: str = ARTICLE) -> Citation:
    start = SEED_TEXT.index(text)
    return Citation(n=n, article_id=article_id, title=title, url="https://news.example/talks",
                    source=source, published=published, text=text, char_start=start,
                    char_end=start + len(text))


def hit(article_id: str = ARTICLE, title: str = TITLE, published: str | None = "2025-03-17",
        source: str = "TROIB News") -> Hit:
    return Hit(article_id=article_id, title=title, source=source, url="", published=published,
               chunk_index=0, score=0.5, text=LAND, char_start=0, char_end=len(LAND),
               sentences=(HitSentence(start=0, end=len(LAND), text=LAND),))


def short_answer_answer(check: bool = True) -> Answer:
    """"land and power plants" [1], the sentence [1] and one more [2]; a reader check."""
    first = cite(1, LAND)
    start = first.char_start + LAND.index(PLANTS)
    other = PESKOV
    second = cite(2, other, title="Kremlin on the call", published="2025-03-18",
                  source="Wire", article_id="kremlin-call")
    return Answer(
        question="What will Trump and Putin discuss?", answer=f"{PLANTS}. [1]",
        sentences=(AnswerSentence(text=f"{PLANTS}.", citations=(1,), support=1.0,
                                  status="quoted"),
                   AnswerSentence(text=LAND, citations=(1,), support=1.0, status="quoted"),
                   AnswerSentence(text=other, citations=(2,), support=1.0, status="quoted")),
        citations=(first, second), refused=False, generator="extractive",
        timings={"total_s": 0.2}, sources=(hit(),),
        short_answer=ShortAnswer(text=PLANTS, citation=1, article_id=ARTICLE,
                                 char_start=start, char_end=start + len(PLANTS)),
        check=ReaderCheck(answer_type="description", answerable=0.81, threshold=0.4,
                          reasons=("2 articles agree",),
                          candidates=(ReaderCandidate(text=PLANTS, score=0.9, sentences=2,
                                                      articles=1),
                                      ReaderCandidate(text="ceasefire", score=0.3,
                                                      sentences=1, articles=1)))
        if check else None,
        date_window=("2025-03-10", "2025-03-17"))


def sentence_answer() -> Answer:
    """The short answer is the whole best sentence (kind "sentence")."""
    first = cite(1, LAND)
    return Answer(
        question="What did Trump say?", answer=f"{LAND} [1]",
        sentences=(AnswerSentence(text=LAND, citations=(1,), support=1.0, status="quoted"),),
        citations=(first,), refused=False, generator="extractive", timings={},
        short_answer=ShortAnswer(text=LAND, citation=1, article_id=ARTICLE,
                                 char_start=first.char_start, char_end=first.char_end,
                                 kind="sentence"))


def quotes_answer() -> Answer:
    """The quotes style: two quoted sentences and no short answer."""
    first, second = cite(1, LAND), cite(2, PESKOV)
    return Answer(
        question="What will Trump and Putin discuss?",
        answer=f"{first.text} [1] {second.text} [2]",
        sentences=tuple(AnswerSentence(text=c.text, citations=(c.n,), support=1.0,
                                       status="quoted") for c in (first, second)),
        citations=(first, second), refused=False, generator="extractive", timings={})


def declined_answer() -> Answer:
    """A decline with the same article retrieved twice and another once."""
    return Answer(
        question="Who won the 2022 World Cup?",
        answer="The articles do not say. The closest articles: ...", sentences=(),
        citations=(), refused=True, generator="extractive", timings={},
        sources=(hit(), hit(), hit("other", "Markets today", "2025-03-16", "Wire")),
        check=ReaderCheck(answer_type="organisation", answerable=0.12, threshold=0.4,
                          reasons=("no candidate of the expected type",
                                   "the question's key entities are missing: World Cup")),
        date_window=("2022-12-12", "2022-12-18"))
