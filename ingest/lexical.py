"""BM25 over the live chunks and whole articles, kept in step with the vector store.

The index is a snapshot tagged with the catalog's `generation`, which every add, replace and
delete bumps: a main snapshot plus small delta segments (ingest/segments.py), so a write
session that adds one article to a big store writes one small segment instead of rebuilding
everything. Ingest and delete bring the index up to date before they release the write lock;
a reader that still finds it stale (after a crash, or a store from an older newsrag) brings
it up to date on first use. Segments are written to fresh folders under `<data_dir>/lexical/`
and switched to atomically: the file `CURRENT` names the main snapshot, `DELTAS` the main it
extends and its deltas in order, so readers never see half an index, and a reader holding the
main loads only the deltas it lacks. What a segment holds (BM25 counts, the vectors, the
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
from ingest.segments import SearchView, allowed_articles, build_delta, merge
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
# Deltas are merged into a new main snapshot once they hold more rows than this, or than
# MERGE_SHARE of the main's, or number more than MAX_DELTAS: a merge rewrites every file
# (about a second at 70k chunks), a delta costs each search a little and each reader a load.
MERGE_ROWS = 2_000
MERGE_SHARE = 0.05
MAX_DELTAS = 24


@dataclass(frozen=True)
class LexicalHits:
    """BM25 results for one query, best first: chunk ids and article ids with their scores."""

    chunks: list[tuple[str, str, float]]  # (chunk id, article id, score)
    articles: list[tuple[str, float, str]]  # (article id, score, id of its best BM25 chunk)
    days: dict[str, int | None]  # publication date ordinal of every article above


class LexicalIndex:
    """The BM25 segments under `<data_dir>/lexical`; load lazily, brought up to date when
    stale."""

    def __init__(self, data_dir: Path, catalog: Catalog, store: VectorStore,
                 exclusive: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        self.root = data_dir / "lexical"
        self.catalog = catalog
        self.store = store
        # Taken (without waiting) before a reader rebuilds: raises StoreBusyError while a
        # writer works, whose own rebuild will publish the new snapshot when it finishes.
        self.exclusive = exclusive
        self._snapshot: SearchView | None = None
        self._retry_at = 0.0  # no rebuild before this (time.monotonic) after one failed

    def search(self, query: str, limit: int, filters: Filters | None = None) -> LexicalHits:
        """The best `limit` chunks and articles for the query under the filters."""
        snap = self.current()
        tokens = tokenize(query)  # words the index lacks score 0
        if not tokens or not snap.all_chunk_ids:
            return LexicalHits([], [], {})
        allowed = allowed_articles(snap, filters)
        article_scores = snap.article_scores(tokens) * allowed
        chunk_scores = snap.chunk_scores(tokens) * allowed[snap.chunk_article]
        top_chunks = _top(chunk_scores, limit)
        top_articles = [(i, s) for i, s in _top(article_scores, limit)
                        if snap.first_chunk[i] < snap.first_chunk[i + 1]]
        rows = {int(snap.chunk_article[i]) for i, _ in top_chunks} | {i for i, _ in top_articles}
        ids, article_ids = snap.all_chunk_ids, snap.all_article_ids
        return LexicalHits(
            chunks=[(ids[i], article_ids[snap.chunk_article[i]], s) for i, s in top_chunks],
            articles=[(article_ids[i], s, ids[_best_chunk(snap, i, chunk_scores)])
                      for i, s in top_articles],
            days={article_ids[i]: _day(snap, i) for i in rows},
        )

    def chunks(self, chunk_ids: Sequence[str]) -> list[Match]:
        """Live chunks by id with their vectors, from the snapshot and the catalog's article
        texts (similarity left 0); ids the snapshot lacks are left out."""
        snap = self.current()
        row_of, article_ids = snap.row_of(), snap.all_article_ids
        rows = [(chunk_id, row_of[chunk_id]) for chunk_id in chunk_ids if chunk_id in row_of]
        owners = self.catalog.chunk_owners(article_ids[snap.chunk_article[row]] for _, row in rows)
        found = []
        for chunk_id, row in rows:
            owner = owners.get(article_ids[snap.chunk_article[row]])
            if owner is None or not chunk_id.startswith(f"{owner['version']}:"):
                continue  # replaced or deleted since the snapshot was read
            segment, local = snap.locate(row)
            found.append(Match(stored_chunk(chunk_id, owner, segment.layout, local), 0.0,
                               tuple(np.asarray(segment.dense.vectors[local]).tolist())))
        return found

    def describe(self, chunk_ids: list[str], filters: Filters | None = None
                 ) -> dict[str, tuple[str, int | None]]:
        """Article id and publication day of each live chunk that passes the filters."""
        snap = self.current()
        row_of, allowed = snap.row_of(), allowed_articles(snap, filters)
        found = {}
        for chunk_id in chunk_ids:
            row = row_of.get(chunk_id)
            if row is not None and allowed[article := int(snap.chunk_article[row])]:
                found[chunk_id] = (snap.all_article_ids[article], _day(snap, article))
        return found

    def current(self) -> SearchView:
        """The up-to-date view, loading or bringing it up to date if needed."""
        generation = self.catalog.generation()
        with _LOCK:
            snap = self._snapshot
            if snap is None or (snap.generation != generation
                                and time.monotonic() >= self._retry_at):
                snap = self._load(generation) or self._rebuild_or_keep(generation)
                self._snapshot = snap
            return snap

    def _rebuild_or_keep(self, generation: int) -> SearchView:
        """Stale on disk. With no writer at work (one crashed), bring it up to date. While a
        writer works, the store changes under a rebuild, so keep serving the last whole
        snapshot (its replaced chunks are dropped when read): the writer publishes the next
        one. The same when the store cannot be read (a full disk, damage), with a warning."""
        try:
            with self.exclusive():
                return self._update(self.catalog.generation(), warn_unsaved=True)
        except StoreBusyError:
            kept = self._snapshot or self._load(self._read_current()[0])
            return kept if kept is not None else SearchView.compose(
                [self._build(generation, whole=False)])
        except StoreError as exc:
            kept = self._snapshot or self._load(self._read_current()[0])
            if kept is None:
                raise
            self._retry_at = time.monotonic() + RETRY_S
            _log.warning("newsrag: warning: searching the last complete index, which misses "
                         "the latest changes: %s", exc)
            return kept

    def refresh(self) -> bool:
        """Bring the index on disk up to date (called under the write lock); True if it
        was stale."""
        generation = self.catalog.generation()
        if self._read_current()[0] == generation:
            return False
        with _LOCK:
            self._snapshot = self._update(generation)
        return True

    def merge(self) -> bool:
        """Fold the deltas into a new main snapshot now; True if there were any. Takes the
        write lock (waiting for it): a long-running process can call this when idle, or in
        a background thread, since readers keep searching the segments meanwhile. False
        too while a writer is at work (its own write may merge)."""
        try:
            with self.exclusive():
                return self._merge_now()
        except StoreBusyError:
            return False

    def _merge_now(self) -> bool:
        view = self._load(self._read_current()[0])
        if view is None or len(view.segments) < 2:
            return False
        merged = merge(view)
        try:
            self._publish_main(merged)
        except _Unsaved as unsaved:
            raise unsaved.error from None
        with _LOCK:
            if self._snapshot is None or self._snapshot.generation == merged.generation:
                self._snapshot = SearchView.compose([merged], self._names())
        return True

    def _update(self, generation: int, warn_unsaved: bool = False) -> SearchView:
        """Publish a delta over the last whole view, merged when the deltas grew big, or a
        full rebuild when there is no whole view; saving failures raise StoreError unless
        `warn_unsaved` (then the view is searched in memory all the same)."""
        previous = self._load(self._read_current()[0])  # what is on disk, not what we hold
        try:
            if previous is None or not previous.names:
                main = self._build(generation)
                self._publish_main(main)
                return SearchView.compose([main], self._names())
            crash_point("snapshot.build")
            delta = build_delta(previous, self.catalog, self.store, generation)
            view = SearchView.compose([*previous.segments, delta])
            if _needs_merge(view):
                main = merge(view)
                self._publish_main(main)
                return SearchView.compose([main], self._names())
            self._publish_delta(delta, previous)
            return SearchView.compose(view.segments, self._names())
        except _Unsaved as unsaved:
            if not warn_unsaved:
                raise unsaved.error from None
            _log.warning("newsrag: warning: %s", unsaved.error)
            return SearchView.compose(unsaved.segments)

    def _read_current(self) -> tuple[int, Path | None, list[Path]]:
        """The generation on disk, the main snapshot's folder and the deltas over it."""
        try:
            name = (self.root / "CURRENT").read_text(encoding="utf-8").strip()
            generation = int(name.split("-", 1)[0])
        except (OSError, ValueError):  # missing or damaged: rebuilt like a stale one
            return -1, None, []
        try:
            base, *deltas = (self.root / "DELTAS").read_text(encoding="utf-8").split()
            if base != name or not deltas:  # an older main's deltas: folded into this one
                deltas = []
            else:
                generation = int(deltas[-1].split("-", 1)[0])
        except (OSError, ValueError):
            deltas = []
        return generation, self.root / name, [self.root / d for d in deltas]

    def _names(self) -> tuple[str, ...]:
        _, main, deltas = self._read_current()
        return tuple(p.name for p in ([main] if main else []) + deltas)

    def _load(self, generation: int) -> SearchView | None:
        for _ in range(2):  # a concurrent rebuild may replace the folder as we open it
            on_disk, main, deltas = self._read_current()
            if on_disk != generation or main is None:
                return None
            folders = [main, *deltas]
            held = self._snapshot
            reuse = held is not None and held.names == tuple(f.name for f in folders[
                :len(held.names)])
            segments = list(held.segments) if reuse and held is not None else []
            try:
                for folder in folders[len(segments):]:
                    segment = read_snapshot(folder, int(folder.name.split("-", 1)[0]))
                    if not is_whole(segment):
                        return None
                    segments.append(segment)
            except FileNotFoundError:
                continue
            except Exception:  # damaged files of any kind, or a failed checksum
                return None  # (DamagedSnapshot): derived data, so rebuilt silently
            return SearchView.compose(segments, tuple(f.name for f in folders))
        return None

    def _build(self, generation: int, whole: bool = True) -> Snapshot:
        previous = self._snapshot or self._load(self._read_current()[0])
        crash_point("snapshot.build")
        return build_snapshot(generation, self.catalog, self.store, previous, whole)

    def _publish_main(self, snap: Snapshot) -> None:
        """Write to a fresh folder, then switch CURRENT to it atomically; a failed write
        (a full disk) leaves the previous snapshot current and no partial files behind."""
        folder = self._write(snap, [snap])
        self._switch("CURRENT", folder.name, [snap])
        (self.root / "DELTAS").unlink(missing_ok=True)
        self._clean({folder.name})

    def _publish_delta(self, delta: Snapshot, previous: SearchView) -> None:
        """Write the delta to a fresh folder, then switch DELTAS to list it after the
        previous view's segments."""
        segments = [*previous.segments, delta]
        folder = self._write(delta, segments)
        self._switch("DELTAS", "\n".join([*previous.names, folder.name]), segments)
        self._clean({*previous.names, folder.name})

    def _write(self, snap: Snapshot, segments: list[Snapshot]) -> Path:
        folder = self.root / f"{snap.generation}-{uuid.uuid4().hex[:8]}"
        try:
            crash_point("snapshot.write")
            write_snapshot(folder, snap)
        except OSError as exc:
            shutil.rmtree(folder, ignore_errors=True)
            raise _Unsaved(self._failure(exc), segments) from None
        return folder

    def _switch(self, pointer_name: str, text: str, segments: list[Snapshot]) -> None:
        pointer = self.root / f"{pointer_name}.{uuid.uuid4().hex[:8]}"
        try:
            pointer.write_text(text, encoding="utf-8")
            crash_point("snapshot.publish")
            os.replace(pointer, self.root / pointer_name)
        except OSError as exc:
            pointer.unlink(missing_ok=True)
            raise _Unsaved(self._failure(exc), segments) from None

    def _failure(self, exc: OSError) -> StoreError:
        return StoreError(f"cannot save the search index under {self.root}: "
                          f"{describe_failure(exc)}")

    def _clean(self, keep: set[str]) -> None:
        crash_point("snapshot.cleanup")
        for old in self.root.iterdir():
            if old.is_dir() and old.name not in keep:
                shutil.rmtree(old, ignore_errors=True)


class _Unsaved(Exception):
    """Saving failed; carries the error and the segments that were to be published."""

    def __init__(self, error: StoreError, segments: list[Snapshot]) -> None:
        super().__init__(str(error))
        self.error = error
        self.segments = segments


def _needs_merge(view: SearchView) -> bool:
    main_rows = len(view.segments[0].chunk_ids)
    rows = view.delta_rows
    return (rows > max(MERGE_ROWS, MERGE_SHARE * main_rows)
            or len(view.segments) - 1 > MAX_DELTAS)


def _day(snap: SearchView, row: int) -> int | None:
    day = int(snap.article_day[row])
    return None if day < 0 else day


def _best_chunk(snap: SearchView, article: int, chunk_scores: np.ndarray) -> int:
    start, end = int(snap.first_chunk[article]), int(snap.first_chunk[article + 1])
    return start + int(np.argmax(chunk_scores[start:end]))  # the lead when none matches


def _top(scores: np.ndarray, limit: int) -> list[tuple[int, float]]:
    positive = np.flatnonzero(scores > 0)
    if len(positive) > limit:
        positive = positive[np.argpartition(-scores[positive], limit - 1)[:limit]]
    order = positive[np.argsort(-scores[positive], kind="stable")]
    return [(int(i), float(scores[i])) for i in order]
