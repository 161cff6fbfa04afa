"""The search snapshot's contents: BM25 term counts over chunks and whole articles, the live
chunks' vectors and their layout, built from the catalog and the store, and read from and
written to one folder. The same structure serves as the main snapshot and as a small delta
segment (ingest/segments.py), which also lists the articles it hides in older segments.
`ingest/lexical.py` decides when to build, load and publish one.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ingest.bm25 import TermCounts
from ingest.catalog import Catalog
from ingest.dense import DenseMatrix
from ingest.layout import ChunkLayout
from ingest.store import StoredChunk, VectorStore, chunk_metadata
from ingest.words import tokenize
from newsrag.errors import RESTORE_HINT, StoreError

FETCH_BATCH = 4000
MANIFEST = "manifest.json"


class DamagedSnapshot(ValueError):
    """A snapshot folder whose files differ from the checksums written with them."""


@dataclass
class Snapshot:
    generation: int
    chunks: TermCounts | None  # BM25 counts over "title + chunk text"; None when empty
    articles: TermCounts | None  # BM25 counts over "title + article text"; None when empty
    chunk_ids: list[str]  # grouped by article, in article order
    chunk_article: np.ndarray  # row in the article arrays, per chunk
    article_ids: list[str]
    first_chunk: np.ndarray  # article row -> its first chunk's position; one extra at the end
    article_day: np.ndarray  # date ordinal, -1 when undated
    article_source: list[str]
    dense: DenseMatrix  # the chunks' vectors, in chunk_ids order
    layout: ChunkLayout  # where each chunk sits in its article, in chunk_ids order
    article_version: list[str] = field(default_factory=list)  # live version of each article
    # Articles whose rows in older segments this one hides (replaced or deleted): a delta's.
    tombstones: list[str] = field(default_factory=list)
    _row_of: dict[str, int] | None = None

    def row_of(self) -> dict[str, int]:
        """Chunk id -> position, built on first use."""
        if self._row_of is None:
            self._row_of = {chunk_id: i for i, chunk_id in enumerate(self.chunk_ids)}
        return self._row_of


def build_snapshot(generation: int, catalog: Catalog, store: VectorStore,
                   previous: KnownVectors | None, whole: bool = True) -> Snapshot:
    """A snapshot of the live articles and chunks, reusing the previous one's vectors;
    `whole` (no writer at work) checks that the store holds every chunk the catalog lists."""
    articles, chunks = _live_documents(catalog, store)
    listed = catalog.stats()["chunks"]
    if whole and len(chunks) != listed:
        raise StoreError(f"the vector store in {catalog.path.parent} holds {len(chunks)} of "
                         f"the {listed} chunks the catalog lists; {RESTORE_HINT}")
    vectors = _vectors(store, [c.id for c in chunks], previous)
    return index_snapshot(generation, articles, chunks, DenseMatrix.build(vectors))


def stored_chunk(chunk_id: str, owner: dict[str, Any], layout: ChunkLayout, row: int
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


class KnownVectors(Protocol):
    def known_vectors(self, chunk_ids: Sequence[str]) -> dict[str, np.ndarray]: ...


def _vectors(store: VectorStore, chunk_ids: list[str], previous: KnownVectors | None
             ) -> np.ndarray:
    """The chunks' vectors: those the previous snapshot holds are reused (a chunk id names
    one version of one chunk, so its vector never changes), the rest read from the store."""
    known = previous.known_vectors(chunk_ids) if previous is not None else {}
    missing = [chunk_id for chunk_id in chunk_ids if chunk_id not in known]
    fetched: dict[str, tuple[float, ...]] = {}
    for start in range(0, len(missing), FETCH_BATCH):
        fetched.update((c.id, v) for c, v in store.fetch(missing[start:start + FETCH_BATCH]))
    samples = [*fetched.values(), *known.values()]
    dims = len(samples[0]) if samples else 0
    vectors = np.zeros((len(chunk_ids), dims), dtype=np.float32)
    for i, chunk_id in enumerate(chunk_ids):
        if chunk_id in known:
            vectors[i] = known[chunk_id]
        elif chunk_id in fetched:  # a chunk deleted meanwhile keeps a zero row: never near
            vectors[i] = fetched[chunk_id]
    return vectors


def index_snapshot(generation: int, articles: Sequence[dict[str, Any]],
                   chunks: Sequence[StoredChunk], dense: DenseMatrix,
                   tombstones: Sequence[str] = ()) -> Snapshot:
    """A segment over these articles (catalog rows) and their chunks, grouped in that order."""
    row = {a["id"]: i for i, a in enumerate(articles)}
    chunk_article = np.array([row[c.article_id] for c in chunks], dtype=np.int64)
    return Snapshot(
        generation=generation,
        chunks=_bm25(len(chunks), (f"{c.metadata.get('title', '')}\n{c.text}" for c in chunks)),
        articles=_bm25(len(articles), (f"{a['title']}\n{a['text']}" for a in articles)),
        chunk_ids=[c.id for c in chunks],
        chunk_article=chunk_article,
        article_ids=[a["id"] for a in articles],
        first_chunk=np.searchsorted(chunk_article, np.arange(len(articles) + 1)),
        article_day=np.array([a["day"] if a["day"] is not None else -1 for a in articles],
                             dtype=np.int64),
        article_source=[a["source"] for a in articles],
        dense=dense,
        layout=ChunkLayout.build([(c.index, c.start, c.end, c.sentence_spans) for c in chunks]),
        article_version=[a["version"] for a in articles],
        tombstones=sorted(tombstones),
    )


def _bm25(count: int, texts: Iterable[str]) -> TermCounts | None:
    """Counts over the texts, tokenised one at a time (not all held at once)."""
    return TermCounts.build(tokenize(t) for t in texts) if count else None


def write_snapshot(folder: Path, snap: Snapshot) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if snap.chunks is not None and snap.articles is not None:
        snap.chunks.save(folder, "chunks")
        snap.articles.save(folder, "articles")
    np.save(folder / "chunk_article.npy", snap.chunk_article)
    np.save(folder / "first_chunk.npy", snap.first_chunk)
    np.save(folder / "article_day.npy", snap.article_day)
    meta = {"chunk_ids": snap.chunk_ids, "article_ids": snap.article_ids,
            "article_source": snap.article_source, "article_version": snap.article_version,
            "tombstones": snap.tombstones}
    (folder / "docs.json").write_text(json.dumps(meta), encoding="utf-8")
    snap.dense.save(folder)
    snap.layout.save(folder)
    # Written last: a folder without it is incomplete or from an older newsrag; rebuilt.
    (folder / MANIFEST).write_text(json.dumps({"sha256": _digests(folder)}), encoding="utf-8")


def _digests(folder: Path) -> dict[str, str]:
    """SHA-256 of every file of a snapshot folder but the manifest (~35 ms per 60 MB here)."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != MANIFEST:
            with path.open("rb") as handle:
                digest = hashlib.file_digest(handle, "sha256").hexdigest()
            found[path.relative_to(folder).as_posix()] = digest
    return found


def verify_snapshot(folder: Path) -> None:
    """Raise DamagedSnapshot unless every file matches the manifest's checksum: bytes
    changed in place still parse (spans of -1e18, cosines of 1e37) and would be served."""
    if not folder.is_dir():
        raise FileNotFoundError(folder)  # replaced by a concurrent rebuild: read again
    try:
        listed = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))["sha256"]
    except FileNotFoundError:
        raise DamagedSnapshot("it has no checksum manifest") from None
    except (ValueError, KeyError, TypeError):
        raise DamagedSnapshot("its checksum manifest is unreadable") from None
    actual = _digests(folder)
    bad = sorted(name for name in set(listed) | set(actual) if listed.get(name) != actual.get(name))
    if bad:
        raise DamagedSnapshot(f"{', '.join(bad[:3])} failed the checksum")


def read_snapshot(folder: Path, generation: int) -> Snapshot:
    """The snapshot in `folder`, after checking every file against the manifest."""
    verify_snapshot(folder)
    meta = json.loads((folder / "docs.json").read_text(encoding="utf-8"))

    def load(name: str) -> TermCounts | None:
        return TermCounts.load(folder, name) if meta["chunk_ids"] else None

    return Snapshot(
        generation=generation, chunks=load("chunks"), articles=load("articles"),
        chunk_ids=meta["chunk_ids"], chunk_article=np.load(folder / "chunk_article.npy"),
        article_ids=meta["article_ids"], first_chunk=np.load(folder / "first_chunk.npy"),
        article_day=np.load(folder / "article_day.npy"),
        article_source=meta["article_source"], dense=DenseMatrix.load(folder),
        layout=ChunkLayout.load(folder), article_version=meta["article_version"],
        tombstones=meta["tombstones"],
    )


def is_whole(snap: Snapshot) -> bool:
    """Whether a snapshot read from disk hangs together (damaged files that still parse)."""
    rows, articles = len(snap.chunk_ids), len(snap.article_ids)
    layout = snap.layout
    shapes_agree = (
        len(snap.chunk_article) == snap.dense.vectors.shape[0] == len(layout.positions) == rows
        and len(layout.span_offsets) == rows + 1 and len(snap.first_chunk) == articles + 1
        and len(snap.article_day) == len(snap.article_source) == articles
        and len(snap.article_version) == articles
        and int(layout.span_offsets[-1]) == len(layout.spans)
        and (snap.dense.vectors.ndim == 2 if rows else True))
    if not shapes_agree or not rows:
        return shapes_agree
    return bool(
        snap.chunks is not None and snap.chunks.size == rows
        and snap.articles is not None and snap.articles.size == articles
        and int(snap.chunk_article.min()) >= 0 and int(snap.chunk_article.max()) < articles)
