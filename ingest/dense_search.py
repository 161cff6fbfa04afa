"""Dense search in memory: the chunks nearest a query vector, exactly, over the vectors the
search snapshot keeps (ingest/segments.py), under the same filters as BM25."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ingest.segments import SearchView, allowed_articles
from ingest.store import Filters


def search_dense(view: SearchView, vector: Sequence[float] | np.ndarray, limit: int,
                 filters: Filters | None = None) -> list[tuple[str, float]]:
    """The `limit` live chunks nearest the vector under the filters, with their cosine
    similarities, best first."""
    allowed = None
    if filters is not None:
        allowed = allowed_articles(view, filters)[view.chunk_article] > 0
    found = view.nearest(np.asarray(vector, dtype=np.float32), limit, allowed)
    return [(view.all_chunk_ids[row], similarity) for row, similarity in found]
