"""BM25 over the live chunks and whole articles, kept in step with the vector store.

A bm25s index cannot be updated in place, so this one is a snapshot tagged with the catalog's
`generation`, which every add, replace and delete bumps. Ingest and delete rebuild a stale
snapshot before they release the write lock; a reader that still finds one stale (after a
crash, or a store from an older newsrag) rebuilds it on first use. A snapshot is written to a
fresh folder under `<data_dir>/lexical/` and switched to by atomically replacing the file
`CURRENT`, so readers never see half an index.

    >>> tokenize("Putin's talks with Trump, June 12, 2022")
    ['putin', 'talk', 'trump', 'june', '12', '2022']
"""

from __future__ import annotations

import json
import os
import re
import shutil
import threading
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from ingest.catalog import Catalog
from ingest.dense import DenseMatrix
from ingest.layout import ChunkLayout
from ingest.store import Filters, Match, StoredChunk, VectorStore, chunk_metadata
from newsrag.errors import StoreBusyError

# Lucene's English stop words plus the question words users type ("which", "who", ...): common
# words carry little in BM25 anyway, but left in they add noise to short chunks.
STOPWORDS = frozenset("""
a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with what which who whom whose when where why how did does
do done has have had been being were its it's s t than so from about after over up out also
would could should can may might i you he she we our your his her them us me my
""".split())
_WORD = re.compile(r"[^\W_]+")
_LOCK = threading.Lock()
FETCH_BATCH = 4000


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: the Snowball English stemmer, in C

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stop words; numbers are kept whole."""
    words = (w for w in _WORD.findall(text.casefold()) if w not in STOPWORDS)
    return [w if w.isdigit() else _stem(w) for w in words if len(w) > 1 or w.isdigit()]


@dataclass(frozen=True)
class LexicalHits:
    """BM25 results for one query, best first: chunk ids and article ids with their scores."""

    chunks: list[tuple[str, str, float]]  # (chunk id, article id, score)
    articles: list[tuple[str, float, str]]  # (article id, score, id of its best BM25 chunk)
    days: dict[str, int | None]  # publication date ordinal of every article above


@dataclass
class _Snapshot:
    generation: int
    chunks: Any  # bm25s.BM25 over "title + chunk text"; None for an empty store
    articles: Any  # bm25s.BM25 over "title + article text"; None for an empty store
    chunk_ids: list[str]  # grouped by article, in article order
    chunk_article: np.ndarray  # row in the article arrays, per chunk
    article_ids: list[str]
    first_chunk: np.ndarray  # article row -> its first chunk's position; one extra at the end
    article_day: np.ndarray  # date ordinal, -1 when undated
    article_source: list[str]
    dense: DenseMatrix  # the chunks' vectors, in chunk_ids order
    layout: ChunkLayout  # where each chunk sits in its article, in chunk_ids order
    _row_of: dict[str, int] | None = None

    def row_of(self) -> dict[str, int]:
        """Chunk id -> position, built on first use."""
        if self._row_of is None:
            self._row_of = {chunk_id: i for i, chunk_id in enumerate(self.chunk_ids)}
        return self._row_of


class LexicalIndex:
    """The BM25 snapshot under `<data_dir>/lexical`; loads lazily, rebuilds when stale."""

    def __init__(self, data_dir: Path, catalog: Catalog, store: VectorStore,
                 exclusive: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        self.root = data_dir / "lexical"
        self.catalog = catalog
        self.store = store
        # Taken (without waiting) before a reader rebuilds: raises StoreBusyError while a
        # writer works, whose own rebuild will publish the new snapshot when it finishes.
        self.exclusive = exclusive
        self._snapshot: _Snapshot | None = None

    def search(self, query: str, limit: int, filters: Filters | None = None) -> LexicalHits:
        """The best `limit` chunks and articles for the query under the filters."""
        snap = self.current()
        tokens = tokenize(query)  # words the index lacks score 0
        if not tokens or snap.chunks is None:
            return LexicalHits([], [], {})
        allowed = _allowed_articles(snap, filters)
        article_scores = snap.articles.get_scores(tokens) * allowed
        chunk_scores = snap.chunks.get_scores(tokens) * allowed[snap.chunk_article]
        top_chunks = _top(chunk_scores, limit)
        top_articles = [(i, s) for i, s in _top(article_scores, limit)
                        if snap.first_chunk[i] < snap.first_chunk[i + 1]]
        rows = {int(snap.chunk_article[i]) for i, _ in top_chunks} | {i for i, _ in top_articles}
        return LexicalHits(
            chunks=[(snap.chunk_ids[i], snap.article_ids[snap.chunk_article[i]], s)
                    for i, s in top_chunks],
            articles=[(snap.article_ids[i], s, snap.chunk_ids[_best_chunk(snap, i, chunk_scores)])
                      for i, s in top_articles],
            days={snap.article_ids[i]: _day(snap, i) for i in rows},
        )

    def nearest(self, vector: Sequence[float] | np.ndarray, limit: int,
                filters: Filters | None = None) -> list[tuple[str, float]]:
        """The `limit` live chunks nearest the vector under the filters, exactly, with their
        cosine similarities."""
        snap = self.current()
        allowed = None
        if filters is not None:
            allowed = _allowed_articles(snap, filters)[snap.chunk_article] > 0
        found = snap.dense.nearest(np.asarray(vector, dtype=np.float32), limit, allowed)
        return [(snap.chunk_ids[row], similarity) for row, similarity in found]

    def chunks(self, chunk_ids: Sequence[str]) -> list[Match]:
        """Live chunks by id with their vectors, from the snapshot and the catalog's article
        texts (similarity left 0); ids the snapshot lacks are left out."""
        snap = self.current()
        row_of = snap.row_of()
        rows = [(chunk_id, row_of[chunk_id]) for chunk_id in chunk_ids if chunk_id in row_of]
        owners = self.catalog.chunk_owners(
            snap.article_ids[snap.chunk_article[row]] for _, row in rows)
        found = []
        for chunk_id, row in rows:
            owner = owners.get(snap.article_ids[snap.chunk_article[row]])
            if owner is None or not chunk_id.startswith(f"{owner['version']}:"):
                continue  # replaced or deleted since the snapshot was read
            found.append(Match(_stored_chunk(chunk_id, owner, snap.layout, row), 0.0,
                               tuple(np.asarray(snap.dense.vectors[row]).tolist())))
        return found

    def describe(self, chunk_ids: list[str], filters: Filters | None = None
                 ) -> dict[str, tuple[str, int | None]]:
        """Article id and publication day of each live chunk that passes the filters."""
        snap = self.current()
        row_of, allowed = snap.row_of(), _allowed_articles(snap, filters)
        found = {}
        for chunk_id in chunk_ids:
            row = row_of.get(chunk_id)
            if row is not None and allowed[article := int(snap.chunk_article[row])]:
                found[chunk_id] = (snap.article_ids[article], _day(snap, article))
        return found

    def current(self) -> _Snapshot:
        """The up-to-date snapshot, loading or rebuilding it if needed."""
        generation = self.catalog.generation()
        with _LOCK:
            if self._snapshot is None or self._snapshot.generation != generation:
                self._snapshot = self._load(generation) or self._rebuild_or_keep(generation)
            return self._snapshot

    def _rebuild_or_keep(self, generation: int) -> _Snapshot:
        """Stale on disk. With no writer at work (one crashed), rebuild it. While a writer
        works, the store changes under a rebuild, so keep serving the last whole snapshot
        (its replaced chunks are dropped when read): the writer publishes the next one."""
        try:
            with self.exclusive():
                return self._build(self.catalog.generation())
        except StoreBusyError:
            kept = self._snapshot or self._load(self._read_current()[0])
            return kept if kept is not None else self._build(generation, publish=False)

    def refresh(self) -> bool:
        """Rebuild now if the snapshot on disk is stale; True if it was rebuilt."""
        generation = self.catalog.generation()
        if self._read_current()[0] == generation:
            return False
        with _LOCK:
            self._snapshot = self._build(generation)
        return True

    def _read_current(self) -> tuple[int, Path | None]:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return -1, None
        return int(name.split("-", 1)[0]), self.root / name

    def _load(self, generation: int) -> _Snapshot | None:
        for _ in range(2):  # a concurrent rebuild may replace the folder as we open it
            on_disk, folder = self._read_current()
            if on_disk != generation or folder is None:
                return None
            try:
                return _read_snapshot(folder, generation)
            except FileNotFoundError:
                continue
        return None

    def _build(self, generation: int, publish: bool = True) -> _Snapshot:
        articles, chunks = _live_documents(self.catalog, self.store)
        previous = self._snapshot or self._load(self._read_current()[0])
        vectors = _vectors(self.store, [c.id for c in chunks], previous)
        snap = _index_snapshot(generation, articles, chunks, DenseMatrix.build(vectors))
        if not publish:
            return snap
        folder = self.root / f"{generation}-{uuid.uuid4().hex[:8]}"
        _write_snapshot(folder, snap)
        pointer = self.root / f"CURRENT.{uuid.uuid4().hex[:8]}"
        pointer.write_text(folder.name, encoding="utf-8")
        os.replace(pointer, self.root / "CURRENT")
        for old in self.root.iterdir():
            if old.is_dir() and old.name != folder.name:
                shutil.rmtree(old, ignore_errors=True)
        return snap


def _day(snap: _Snapshot, row: int) -> int | None:
    day = int(snap.article_day[row])
    return None if day < 0 else day


def _best_chunk(snap: _Snapshot, article: int, chunk_scores: np.ndarray) -> int:
    start, end = int(snap.first_chunk[article]), int(snap.first_chunk[article + 1])
    return start + int(np.argmax(chunk_scores[start:end]))  # the lead when none matches


def _top(scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    positive = np.flatnonzero(scores > 0)
    if len(positive) > limit:
        positive = positive[np.argpartition(-scores[positive], limit - 1)[:limit]]
    order = positive[np.argsort(-scores[positive], kind="stable")]
    return [(int(i), float(scores[i])) for i in order]


def _allowed_articles(snap: _Snapshot, filters: Filters | None) -> np.ndarray:
    allowed = np.ones(len(snap.article_ids), dtype=np.float32)
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


def _stored_chunk(chunk_id: str, owner: dict[str, Any], layout: ChunkLayout, row: int
                  ) -> StoredChunk:
    index, start, end = layout.position(row)
    spans = layout.sentence_spans(row)
    extra = {key: owner[key] for key in ("title", "source", "url", "published")}
    meta = chunk_metadata(owner["id"], owner["version"], index, start, end, spans,
                          {**extra, "published_day": owner["day"]})
    return StoredChunk(id=chunk_id, article_id=owner["id"], version=owner["version"],
                       index=index, text=owner["text"][start:end], start=start, end=end,
                       sentence_spans=spans, metadata=meta)


def _live_documents(catalog: Catalog, store: VectorStore
                    ) -> tuple[list[dict[str, Any]], list[StoredChunk]]:
    """Live articles from the catalog, and their live chunks from the store grouped by
    article in the same order."""
    articles = catalog.lexical_rows()
    row = {a["id"]: (i, a["version"]) for i, a in enumerate(articles)}
    live = [c for c in store.scan() if row.get(c.article_id, (0, None))[1] == c.version]
    live.sort(key=lambda c: (row[c.article_id][0], c.index))
    return articles, live


def _vectors(store: VectorStore, chunk_ids: list[str], previous: _Snapshot | None
             ) -> np.ndarray:
    """The chunks' vectors: those the previous snapshot holds are reused (a chunk id names
    one version of one chunk, so its vector never changes), the rest read from the store."""
    known = previous.row_of() if previous is not None else {}
    rows = [known.get(chunk_id) for chunk_id in chunk_ids]
    missing = [chunk_id for chunk_id, row in zip(chunk_ids, rows, strict=True) if row is None]
    fetched: dict[str, tuple[float, ...]] = {}
    for start in range(0, len(missing), FETCH_BATCH):
        fetched.update((c.id, v) for c, v in store.fetch(missing[start:start + FETCH_BATCH]))
    dims = len(next(iter(fetched.values()))) if fetched else (
        previous.dense.vectors.shape[1] if previous is not None else 0)
    vectors = np.zeros((len(chunk_ids), dims), dtype=np.float32)
    for i, (chunk_id, row) in enumerate(zip(chunk_ids, rows, strict=True)):
        if row is not None and previous is not None:
            vectors[i] = previous.dense.vectors[row]
        elif chunk_id in fetched:  # a chunk deleted meanwhile keeps a zero row: never near
            vectors[i] = fetched[chunk_id]
    return vectors


def _index_snapshot(generation: int, articles: Sequence[dict[str, Any]],
                    chunks: Sequence[StoredChunk], dense: DenseMatrix) -> _Snapshot:
    row = {a["id"]: i for i, a in enumerate(articles)}
    chunk_article = np.array([row[c.article_id] for c in chunks], dtype=np.int64)
    return _Snapshot(
        generation=generation,
        chunks=_bm25([f"{c.metadata.get('title', '')}\n{c.text}" for c in chunks]),
        articles=_bm25([f"{a['title']}\n{a['text']}" for a in articles]),
        chunk_ids=[c.id for c in chunks],
        chunk_article=chunk_article,
        article_ids=[a["id"] for a in articles],
        first_chunk=np.searchsorted(chunk_article, np.arange(len(articles) + 1)),
        article_day=np.array([a["day"] if a["day"] is not None else -1 for a in articles],
                             dtype=np.int64),
        article_source=[a["source"] for a in articles],
        dense=dense,
        layout=ChunkLayout.build([(c.index, c.start, c.end, c.sentence_spans) for c in chunks]),
    )


def _bm25(texts: Sequence[str]) -> Any:
    if not texts:
        return None
    import bm25s

    index = bm25s.BM25()
    index.index([tokenize(t) for t in texts], show_progress=False)
    return index


def _write_snapshot(folder: Path, snap: _Snapshot) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if snap.chunks is not None:
        snap.chunks.save(str(folder / "chunks"), show_progress=False)
        snap.articles.save(str(folder / "articles"), show_progress=False)
    np.save(folder / "chunk_article.npy", snap.chunk_article)
    np.save(folder / "first_chunk.npy", snap.first_chunk)
    np.save(folder / "article_day.npy", snap.article_day)
    meta = {"chunk_ids": snap.chunk_ids, "article_ids": snap.article_ids,
            "article_source": snap.article_source}
    (folder / "docs.json").write_text(json.dumps(meta), encoding="utf-8")
    snap.dense.save(folder)
    snap.layout.save(folder)


def _read_snapshot(folder: Path, generation: int) -> _Snapshot:
    import bm25s

    meta = json.loads((folder / "docs.json").read_text(encoding="utf-8"))

    def load(name: str) -> Any:
        if not meta["chunk_ids"]:
            return None
        return bm25s.BM25.load(str(folder / name), show_progress=False)

    return _Snapshot(
        generation=generation, chunks=load("chunks"), articles=load("articles"),
        chunk_ids=meta["chunk_ids"], chunk_article=np.load(folder / "chunk_article.npy"),
        article_ids=meta["article_ids"], first_chunk=np.load(folder / "first_chunk.npy"),
        article_day=np.load(folder / "article_day.npy"),
        article_source=meta["article_source"], dense=DenseMatrix.load(folder),
        layout=ChunkLayout.load(folder),
    )
