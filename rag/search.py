"""Dense retrieval of chunks, converted to Hits at this edge.

    >>> hits = retrieve("What will Trump and Putin discuss?", services, k=3)  # doctest: +SKIP
    >>> hits[0].title                                                       # doctest: +SKIP
    'Trump-Putin Talks Ahead: Will They Agree on a Ceasefire?'
"""

from __future__ import annotations

from datetime import date

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
             filters: Filters | None = None) -> list[Hit]:
    """The k chunks most similar to the question, best first."""
    index = services.index
    if index.catalog.is_empty():  # spares loading the model for an empty store
        return []
    vector = index.embedder.embed_query(question)
    matches = index.query(vector, k or services.settings.retrieval.k, filters)
    return [to_hit(match) for match in matches]


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
