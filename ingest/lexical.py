"""BM25 over the live chunks and whole articles, kept in step with the vector store.

A bm25s index cannot be updated in place, so this one is a snapshot tagged with the catalog's
`generation`, which every add, replace and delete bumps. Ingest and delete rebuild a stale
snapshot before they release the write lock; a reader that still finds one stale (after a
crash, or a store from an older newsrag) rebuilds it on first use. A snapshot is written to a
fresh folder under `<data_dir>/lexical/` and switched to by atomically replacing the file
`CURRENT`, so readers never see half an index. What a snapshot holds (BM25, the vectors, the
chunk layout) is built in ingest/snapshot.py; this module decides when, and searches it.

    >>> tokenize("Putin's talks with Trump, June 12, 2022")
    ['putin', 'talk', 'trump', 'june', '12', '2022']
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.catalog import Catalog
from ingest.snapshot import (
    Snapshot,
    build_snapshot,
    is_whole,
    read_snapshot,
    stored_chunk,
    write_snapshot,
)
from ingest.store import Filters, Match, VectorStore
from ingest.words import STOPWORDS, tokenize
from newsrag.crashpoints import crash_point
from newsrag.errors import StoreBusyError, StoreError, describe_failure

__all__ = ["STOPWORDS", "LexicalHits", "LexicalIndex", "tokenize"]

_LOCK = threading.Lock()
_log = logging.getLogger("newsrag")
RETRY_S = 30.0  # after a failed rebuild, how long the last whole snapshot is served as it is


@dataclass(frozen=True)
class LexicalHits:
    """BM25 results for one query, best first: chunk ids and article ids with their scores."""

    chunks: list[tuple[str, str, float]]  # (chunk id, article id, score)
    articles: list[tuple[str, float, str]]  # (article id, score, id of its best BM25 chunk)
    days: dict[str, int | None]  # publication date ordinal of every article above


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
        self._snapshot: Snapshot | None = None
        self._retry_at = 0.0  # no rebuild before this (time.monotonic) after one failed

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
            found.append(Match(stored_chunk(chunk_id, owner, snap.layout, row), 0.0,
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

    def current(self) -> Snapshot:
        """The up-to-date snapshot, loading or rebuilding it if needed."""
        generation = self.catalog.generation()
        with _LOCK:
            snap = self._snapshot
            if snap is None or (snap.generation != generation
                                and time.monotonic() >= self._retry_at):
                snap = self._load(generation) or self._rebuild_or_keep(generation)
                self._snapshot = snap
            return snap

    def _rebuild_or_keep(self, generation: int) -> Snapshot:
        """Stale on disk. With no writer at work (one crashed), rebuild it. While a writer
        works, the store changes under a rebuild, so keep serving the last whole snapshot
        (its replaced chunks are dropped when read): the writer publishes the next one. The
        same when the store cannot be read (a full disk, damage), with a warning."""
        try:
            with self.exclusive():
                snap = self._build(self.catalog.generation())
                try:
                    self._publish(snap)
                except StoreError as exc:  # e.g. a full disk: searched in memory all the same
                    _log.warning("newsrag: warning: %s", exc)
                return snap
        except StoreBusyError:
            kept = self._snapshot or self._load(self._read_current()[0])
            return kept if kept is not None else self._build(generation, whole=False)
        except StoreError as exc:
            kept = self._snapshot or self._load(self._read_current()[0])
            if kept is None:
                raise
            self._retry_at = time.monotonic() + RETRY_S
            _log.warning("newsrag: warning: searching the last complete index, which misses "
                         "the latest changes: %s", exc)
            return kept

    def refresh(self) -> bool:
        """Rebuild now if the snapshot on disk is stale; True if it was rebuilt."""
        generation = self.catalog.generation()
        if self._read_current()[0] == generation:
            return False
        with _LOCK:
            self._snapshot = snap = self._build(generation)
        self._publish(snap)
        return True

    def _read_current(self) -> tuple[int, Path | None]:
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
            return int(name.split("-", 1)[0]), self.root / name
        except (OSError, ValueError):  # missing or damaged: rebuilt like a stale one
            return -1, None

    def _load(self, generation: int) -> Snapshot | None:
        for _ in range(2):  # a concurrent rebuild may replace the folder as we open it
            on_disk, folder = self._read_current()
            if on_disk != generation or folder is None:
                return None
            try:
                snap = read_snapshot(folder, generation)
            except FileNotFoundError:
                continue
            except Exception:  # damaged files of any kind, or a failed checksum
                return None  # (DamagedSnapshot): derived data, so rebuilt silently
            return snap if is_whole(snap) else None
        return None

    def _build(self, generation: int, whole: bool = True) -> Snapshot:
        previous = self._snapshot or self._load(self._read_current()[0])
        crash_point("snapshot.build")
        return build_snapshot(generation, self.catalog, self.store, previous, whole)

    def _publish(self, snap: Snapshot) -> None:
        """Write to a fresh folder, then switch CURRENT to it atomically; a failed write
        (a full disk) leaves the previous snapshot current and no partial files behind."""
        folder = self.root / f"{snap.generation}-{uuid.uuid4().hex[:8]}"
        pointer = self.root / f"CURRENT.{uuid.uuid4().hex[:8]}"
        try:
            crash_point("snapshot.write")
            write_snapshot(folder, snap)
            pointer.write_text(folder.name, encoding="utf-8")
            crash_point("snapshot.publish")
            os.replace(pointer, self.root / "CURRENT")
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            pointer.unlink(missing_ok=True)
            raise StoreError(f"cannot save the search index under {self.root}: "
                             f"{describe_failure(exc)}") from None
        crash_point("snapshot.cleanup")
        for old in self.root.iterdir():
            if old.is_dir() and old.name != folder.name:
                shutil.rmtree(old, ignore_errors=True)


def _day(snap: Snapshot, row: int) -> int | None:
    day = int(snap.article_day[row])
    return None if day < 0 else day


def _best_chunk(snap: Snapshot, article: int, chunk_scores: np.ndarray) -> int:
    start, end = int(snap.first_chunk[article]), int(snap.first_chunk[article + 1])
    return start + int(np.argmax(chunk_scores[start:end]))  # the lead when none matches


def _top(scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    positive = np.flatnonzero(scores > 0)
    if len(positive) > limit:
        positive = positive[np.argpartition(-scores[positive], limit - 1)[:limit]]
    order = positive[np.argsort(-scores[positive], kind="stable")]
    return [(int(i), float(scores[i])) for i in order]


def _allowed_articles(snap: Snapshot, filters: Filters | None) -> np.ndarray:
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
