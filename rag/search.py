"""Dense retrieval of chunks, converted to Hits at this edge.

    >>> hits = retrieve("What will Trump and Putin discuss?", services, k=3)  # doctest: +SKIP
    >>> hits[0].title                                                       # doctest: +SKIP
    'Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?'
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import numpy as np

from ingest.store import Filters, Match
from rag.models import Hit, HitSentence
from rag.services import Services


def make_filters(sources: tuple[str, ...] = (), since: date | None = None,
                 until: date | None = None) -> Filters | None:
    if not sources and since is None and until is None:
        return None
    return Filters(
        sources=sources,
        since_day=since.toordinal() if since else None,
        until_day=until.toordinal() if until else None,
    )


def retrieve(question: str, services: Services, k: int | None = None,
             filters: Filters | None = None, mmr: bool | None = None) -> list[Hit]:
    """The k chunks most similar to the question (diversified by MMR if asked), best first."""
    index, settings = services.index, services.settings.retrieval
    if index.catalog.is_empty():  # spares loading the model for an empty store
        return []
    k = k or settings.k
    vector = index.embedder.embed_query(question)
    if not (settings.mmr if mmr is None else mmr):
        return [to_hit(match) for match in index.query(vector, k, filters)]
    candidates = index.query(vector, max(k, settings.fetch_k), filters, with_embeddings=True)
    return [to_hit(match) for match in select_mmr(candidates, k, settings.mmr_lambda)]


def select_mmr(candidates: Sequence[Match], k: int, trade_off: float) -> list[Match]:
    """Maximal marginal relevance: each pick is similar to the query, unlike earlier picks.

    >>> a = Match(None, 0.9, (1.0, 0.0)); b = Match(None, 0.89, (1.0, 0.0))  # type: ignore
    >>> c = Match(None, 0.5, (0.0, 1.0))                                      # type: ignore
    >>> [m.similarity for m in select_mmr([a, b, c], 2, 0.5)]
    [0.9, 0.5]
    """
    if not candidates:
        return []
    vectors = np.asarray([m.embedding for m in candidates], dtype=float)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True) + 1e-12
    relevance = np.asarray([m.similarity for m in candidates])
    chosen: list[int] = []
    while len(chosen) < min(k, len(candidates)):
        redundancy = (vectors @ vectors[chosen].T).max(axis=1) if chosen else 0.0
        scores = trade_off * relevance - (1 - trade_off) * redundancy
        scores[chosen] = -np.inf
        chosen.append(int(np.argmax(scores)))
    return [candidates[i] for i in chosen]


def to_hit(match: Match) -> Hit:
    chunk, meta = match.chunk, match.chunk.metadata
    sentences = tuple(
        HitSentence(start=start, end=end, text=chunk.text[start - chunk.start:end - chunk.start])
        for start, end in chunk.sentence_spans
    )
    return Hit(
        article_id=chunk.article_id, title=str(meta.get("title", "")),
        source=str(meta.get("source", "")), url=str(meta.get("url", "")),
        published=meta.get("published"), chunk_index=chunk.index, score=round(match.similarity, 4),
        text=chunk.text, char_start=chunk.start, char_end=chunk.end, sentences=sentences,
    )
