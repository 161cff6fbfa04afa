"""The searchable view: the main snapshot plus small delta segments, read as one index.

A write session that changes a few articles of a big store no longer rebuilds the snapshot:
it writes a delta segment holding just the new and replaced articles (their chunks, vectors
and BM25 term counts, read from the store by id) and the ids of the articles it hides in
older segments (tombstones: replaced or deleted). Readers load only the segments they lack.
BM25 statistics are taken over the live rows of every segment (ingest/bm25.py), so scores are
those of one snapshot of the live articles. When the deltas grow, `merge` folds them into a
new main snapshot in memory (no store reads, no tokenizing), which equals a full rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from ingest.bm25 import merge_counts, score_segments
from ingest.catalog import Catalog
from ingest.dense import DenseMatrix
from ingest.layout import ChunkLayout
from ingest.snapshot import FETCH_BATCH, Snapshot, index_snapshot
from ingest.store import Filters, StoredChunk, VectorStore
from newsrag.errors import RESTORE_HINT, StoreError


@dataclass
class SearchView:
    """Segments (main first) with tombstones applied; rows are numbered across segments."""

    generation: int
    segments: list[Snapshot]
    names: tuple[str, ...]  # the segments' folder names; empty if never published
    chunk_start: np.ndarray  # segment -> its first row; one extra at the end
    article_start: np.ndarray
    chunk_alive: np.ndarray  # bool per row: not hidden by a later segment
    article_alive: np.ndarray
    all_chunk_ids: list[str]
    all_article_ids: list[str]
    chunk_article: np.ndarray  # row -> article row (across segments)
    first_chunk: np.ndarray  # article row -> its first chunk row; one extra at the end
    article_day: np.ndarray
    article_source: list[str]
    _row_of: dict[str, int] | None = field(default=None, repr=False)

    @classmethod
    def compose(cls, segments: Sequence[Snapshot], names: Sequence[str] = ()) -> SearchView:
        hidden: set[str] = set()
        article_alive: list[np.ndarray] = []
        for segment in reversed(segments):
            article_alive.append(np.array([a not in hidden for a in segment.article_ids],
                                          dtype=bool))
            hidden.update(segment.tombstones)
        article_alive.reverse()
        chunk_start = np.cumsum([0] + [len(s.chunk_ids) for s in segments])
        article_start = np.cumsum([0] + [len(s.article_ids) for s in segments])
        chunk_article = np.concatenate(
            [s.chunk_article + article_start[i] for i, s in enumerate(segments)]
            + [np.zeros(0, dtype=np.int64)])
        alive = np.concatenate([*article_alive, np.zeros(0, dtype=bool)])
        return cls(
            generation=segments[-1].generation, segments=list(segments), names=tuple(names),
            chunk_start=chunk_start, article_start=article_start,
            chunk_alive=alive[chunk_article], article_alive=alive,
            all_chunk_ids=[c for s in segments for c in s.chunk_ids],
            all_article_ids=[a for s in segments for a in s.article_ids],
            chunk_article=chunk_article,
            first_chunk=np.searchsorted(chunk_article, np.arange(len(alive) + 1)),
            article_day=np.concatenate([s.article_day for s in segments]),
            article_source=[a for s in segments for a in s.article_source],
        )

    @property
    def chunk_ids(self) -> list[str]:
        """The live chunks' ids."""
        return [c for c, alive in zip(self.all_chunk_ids, self.chunk_alive, strict=True)
                if alive]

    @property
    def article_ids(self) -> list[str]:
        """The live articles' ids."""
        return [a for a, alive in zip(self.all_article_ids, self.article_alive, strict=True)
                if alive]

    @property
    def dense(self) -> DenseMatrix:
        """The live chunks' vectors in `chunk_ids` order (a copy: for checks, not search)."""
        return DenseMatrix(np.concatenate([np.asarray(s.dense.vectors)[self._alive(i)]
                                           for i, s in enumerate(self.segments)]))

    @property
    def delta_rows(self) -> int:
        """Rows held outside the main snapshot: what a merge would fold in."""
        return int(self.chunk_start[-1] - self.chunk_start[1]) if self.segments else 0

    def row_of(self) -> dict[str, int]:
        """Live chunk id -> row, built on first use."""
        if self._row_of is None:
            self._row_of = {c: i for i, c in enumerate(self.all_chunk_ids)
                            if self.chunk_alive[i]}
        return self._row_of

    def known_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]:
        """The vectors of those of these chunks that are live here."""
        row_of, found = self.row_of(), {}
        for chunk_id in chunk_ids:
            if (row := row_of.get(chunk_id)) is not None:
                segment, local = self.locate(row)
                found[chunk_id] = segment.dense.vectors[local]
        return found

    def live_versions(self) -> dict[str, str]:
        """Live article id -> the version its rows hold."""
        return {a: v for s, alive in zip(self.segments, self._articles_alive(), strict=True)
                for a, v, keep in zip(s.article_ids, s.article_version, alive, strict=True)
                if keep}

    def locate(self, row: int) -> tuple[Snapshot, int]:
        """The segment holding a row, and the row's place in it."""
        segment = int(np.searchsorted(self.chunk_start, row, side="right")) - 1
        return self.segments[segment], row - int(self.chunk_start[segment])

    def chunk_scores(self, tokens: Sequence[str]) -> np.ndarray:
        parts = [(s.chunks, self._mask(i)) for i, s in enumerate(self.segments)
                 if s.chunks is not None]
        return _joined(score_segments(parts, tokens), self.chunk_start[-1])

    def article_scores(self, tokens: Sequence[str]) -> np.ndarray:
        parts = [(s.articles, self._mask(i, articles=True)) for i, s in
                 enumerate(self.segments) if s.articles is not None]
        return _joined(score_segments(parts, tokens), self.article_start[-1])

    def nearest(self, query: np.ndarray, k: int, allowed: np.ndarray | None = None
                ) -> list[tuple[int, float]]:
        """Rows and cosine similarities of the k nearest live (and allowed) rows; equal
        similarities (a paragraph an article repeats) in chunk-id order, so a merged view and a
        full rebuild, whose rows are laid out differently, answer alike."""
        found: list[tuple[int, float]] = []
        for i, segment in enumerate(self.segments):
            start, end = int(self.chunk_start[i]), int(self.chunk_start[i + 1])
            mask = self._mask(i)
            if allowed is not None:
                mask = allowed[start:end] if mask is None else mask & allowed[start:end]
            found += [(start + row, similarity) for row, similarity
                      in segment.dense.nearest(query, k, mask)]
        return sorted(found, key=lambda hit: (-hit[1], self.all_chunk_ids[hit[0]]))[:k]

    def _alive(self, segment: int) -> np.ndarray:
        return self.chunk_alive[self.chunk_start[segment]:self.chunk_start[segment + 1]]

    def _articles_alive(self) -> list[np.ndarray]:
        return [self.article_alive[self.article_start[i]:self.article_start[i + 1]]
                for i in range(len(self.segments))]

    def _mask(self, segment: int, articles: bool = False) -> np.ndarray | None:
        """The segment's live rows, or None when all are (the fast path)."""
        mask = self._articles_alive()[segment] if articles else self._alive(segment)
        return None if mask.all() else mask


def _joined(parts: list[np.ndarray], total: int) -> np.ndarray:
    return np.concatenate(parts) if parts else np.zeros(int(total), dtype=np.float64)


def build_delta(view: SearchView, catalog: Catalog, store: VectorStore, generation: int
                ) -> Snapshot:
    """A segment of the articles added or replaced since the view, and tombstones for those
    replaced or deleted; chunks and vectors are read from the store by id."""
    _check_count(catalog, store)
    listed = catalog.live_chunk_sets()
    held = view.live_versions()
    changed = sorted(a for a, (version, _) in listed.items() if held.get(a) != version)
    owners = catalog.chunk_owners(changed)
    ids = [f"{listed[a][0]}:{i}" for a in changed for i in range(listed[a][1])]
    fetched: dict[str, tuple[StoredChunk, tuple[float, ...]]] = {}
    for start in range(0, len(ids), FETCH_BATCH):
        fetched.update((c.id, (c, v)) for c, v in store.fetch(ids[start:start + FETCH_BATCH]))
    missing = [chunk_id for chunk_id in ids if chunk_id not in fetched]
    if missing:
        raise StoreError(f"the vector store in {catalog.path.parent} lacks {len(missing)} of "
                         f"the chunks the catalog lists (e.g. {missing[0]}); {RESTORE_HINT}")
    dims = view.segments[0].dense.vectors.shape[1] if view.segments else 0
    vectors = (np.array([fetched[c][1] for c in ids], dtype=np.float32) if ids
               else np.zeros((0, dims), dtype=np.float32))
    gone = [a for a in held if a not in listed]
    return index_snapshot(
        generation, [owners[a] for a in changed], [fetched[c][0] for c in ids],
        DenseMatrix(vectors),
        tombstones=[a for a in changed if a in held] + gone)


def _check_count(catalog: Catalog, store: VectorStore) -> None:
    """The store holds every live chunk: the count of live ones (all but the leftovers of
    interrupted writes, not yet recovered) is the catalog's. Chunks lost behind our back
    would otherwise go unnoticed until a full rebuild."""
    leftovers = [c for s in catalog.leftover_chunk_sets() for c in s.chunk_ids()]
    present = sum(len(store.fetch(leftovers[i:i + FETCH_BATCH]))
                  for i in range(0, len(leftovers), FETCH_BATCH))
    live, listed = store.count() - present, catalog.stats()["chunks"]
    if live != listed:
        raise StoreError(f"the vector store in {catalog.path.parent} holds {live} of the "
                         f"{listed} chunks the catalog lists; {RESTORE_HINT}")


def merge(view: SearchView) -> Snapshot:
    """One main snapshot of the view's live rows, equal to a full rebuild (no store reads)."""
    chunk_rows = [np.flatnonzero(view._alive(i)) for i in range(len(view.segments))]
    article_rows = [np.flatnonzero(a) for a in view._articles_alive()]
    renumbered, offset = [], 0
    for segment, rows in zip(view.segments, article_rows, strict=True):
        new_row = np.full(len(segment.article_ids), -1, dtype=np.int64)
        new_row[rows] = np.arange(len(rows)) + offset
        renumbered.append(new_row)
        offset += len(rows)
    pairs = list(zip(view.segments, chunk_rows, article_rows, renumbered, strict=True))
    chunk_article = np.concatenate(
        [new_row[s.chunk_article[rows]] for s, rows, _, new_row in pairs]
        + [np.zeros(0, dtype=np.int64)])
    chunk_counts = [(s.chunks, r) for s, r, _, _ in pairs if s.chunks is not None]
    article_counts = [(s.articles, a) for s, _, a, _ in pairs if s.articles is not None]
    return Snapshot(
        generation=view.generation,
        chunks=merge_counts(chunk_counts) if chunk_counts else None,
        articles=merge_counts(article_counts) if article_counts else None,
        chunk_ids=[s.chunk_ids[r] for s, rows, _, _ in pairs for r in rows],
        chunk_article=chunk_article,
        article_ids=[s.article_ids[r] for s, _, rows, _ in pairs for r in rows],
        first_chunk=np.searchsorted(chunk_article, np.arange(offset + 1)),
        article_day=np.concatenate([s.article_day[rows] for s, _, rows, _ in pairs]),
        article_source=[s.article_source[r] for s, _, rows, _ in pairs for r in rows],
        dense=DenseMatrix.build(np.concatenate(
            [np.asarray(s.dense.vectors)[rows] for s, rows, _, _ in pairs])),
        layout=_take_layouts([(s.layout, rows) for s, rows, _, _ in pairs]),
        article_version=[s.article_version[r] for s, _, rows, _ in pairs for r in rows],
    )


def _take_layouts(parts: Sequence[tuple[ChunkLayout, np.ndarray]]) -> ChunkLayout:
    positions, counts, spans = [], [], []
    for layout, rows in parts:
        starts = layout.span_offsets[rows]
        sizes = layout.span_offsets[rows + 1] - starts
        picked = np.repeat(starts - np.cumsum(sizes) + sizes, sizes) + np.arange(sizes.sum())
        positions.append(layout.positions[rows])
        counts.append(sizes)
        spans.append(layout.spans[picked])
    joined = np.concatenate([*counts, np.zeros(0, dtype=np.int64)])
    return ChunkLayout(
        positions=np.concatenate([*positions, np.zeros((0, 3), dtype=np.int64)]),
        span_offsets=np.concatenate([[0], np.cumsum(joined)]).astype(np.int64),
        spans=np.concatenate([*spans, np.zeros((0, 2), dtype=np.int64)]))


def allowed_articles(snap: SearchView, filters: Filters | None) -> np.ndarray:
    """1 for each article of the view the filters let through, else 0."""
    allowed = np.ones(len(snap.all_article_ids), dtype=np.float32)
    if filters is None:
        return allowed
    if filters.sources:
        wanted = set(filters.sources)
        allowed *= np.array([s in wanted for s in snap.article_source], dtype=np.float32)
    if filters.since_day is not None:
        allowed *= snap.article_day >= filters.since_day
    if filters.until_day is not None:
        allowed *= (snap.article_day <= filters.until_day) & (snap.article_day >= 0)
    return allowed
