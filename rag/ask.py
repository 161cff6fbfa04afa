"""A first, extractive `ask`: the retrieved source sentences that best answer the question.

Each answer sentence is a verbatim source sentence with its [n] citation, so the answer is
faithful by construction. (The cited-answer work adds LLM generators and grounding.)

    >>> result = answer("What will Trump and Putin discuss?", services)   # doctest: +SKIP
    >>> result.citations[0].text                                           # doctest: +SKIP
    "Trump, who is seeking Putin's backing for a 30-day ceasefire proposal ..."
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from ingest.store import Filters
from rag.models import Answer, AnswerSentence, Citation, Hit
from rag.search import retrieve
from rag.services import Services
from rag.text import content_words

# Share of the score given to word overlap; the rest is embedding similarity.
LEXICAL_WEIGHT = 0.3


def answer(question: str, services: Services, k: int | None = None,
           filters: Filters | None = None) -> Answer:
    """Retrieve, then answer with the best-matching source sentences, each cited."""
    started = time.perf_counter()
    hits = retrieve(question, services, k, filters)
    retrieved = time.perf_counter()
    ranked = rank_sentences(question, hits, services)
    settings = services.settings.ask
    chosen = [c for c in ranked if c[0] >= settings.min_similarity][: settings.max_sentences]
    timings = {"retrieve_s": retrieved - started, "answer_s": time.perf_counter() - retrieved}
    if not chosen:
        return Answer(
            question=question, answer="The ingested articles do not cover this question.",
            sentences=(), citations=(), refused=True, generator="extractive",
            timings=timings, sources=tuple(hits),
        )
    citations = tuple(_citation(n, hit, start, end, text)
                      for n, (_score, hit, start, end, text) in enumerate(chosen, start=1))
    sentences = tuple(AnswerSentence(text=c.text, citations=(c.n,), support=1.0)
                      for c in citations)
    return Answer(
        question=question, answer=" ".join(f"{c.text} [{c.n}]" for c in citations),
        sentences=sentences, citations=citations, refused=False, generator="extractive",
        timings=timings, sources=tuple(hits),
    )


def rank_sentences(question: str, hits: Sequence[Hit], services: Services
                   ) -> list[tuple[float, Hit, int, int, str]]:
    """Every distinct sentence of the hits, scored by similarity and word overlap, best first."""
    seen: set[tuple[str, int]] = set()
    candidates = []
    for hit in hits:
        for sentence in hit.sentences:
            if (hit.article_id, sentence.start) not in seen:
                seen.add((hit.article_id, sentence.start))
                candidates.append((hit, sentence.start, sentence.end, sentence.text))
    if not candidates:
        return []
    embedder = services.index.embedder
    query = embedder.embed_query(question)
    vectors = embedder.embed_documents([text for *_, text in candidates])
    wanted = content_words(question)
    scored = []
    for (hit, start, end, text), vector in zip(candidates, vectors, strict=True):
        similarity = sum(a * b for a, b in zip(query, vector, strict=True))
        overlap = len(wanted & content_words(text)) / len(wanted) if wanted else 0.0
        score = (1 - LEXICAL_WEIGHT) * similarity + LEXICAL_WEIGHT * overlap
        scored.append((score, hit, start, end, text))
    scored.sort(key=lambda row: -row[0])
    return scored


def _citation(n: int, hit: Hit, start: int, end: int, text: str) -> Citation:
    return Citation(
        n=n, article_id=hit.article_id, title=hit.title, url=hit.url, source=hit.source,
        published=hit.published, text=text, char_start=start, char_end=end,
    )

