"""The searchable index: catalog + vector store + embedder, written crash-safely.

    >>> from newsrag.settings import load_settings
    >>> index = open_index(load_settings(env={}))   # cheap: nothing is loaded yet
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ingest.catalog import Catalog, ChunkSet
from ingest.clean import date_ordinal
from ingest.embed import Embedder, make_embedder
from ingest.lexical import LexicalIndex
from ingest.models import Article, Chunk, Sentence
from ingest.store import Match, VectorStore, chunk_metadata, make_store
from newsrag.crashpoints import crash_point
from newsrag.errors import RESTORE_HINT, StoreBusyError, StoreError
from newsrag.settings import Settings


@dataclass(frozen=True)
class PreparedArticle:
    """An article split and chunked, ready to embed; `version` names its chunk set."""

    article: Article
    sentences: list[Sentence]
    chunks: list[Chunk]
    version: str

    @property
    def chunk_set(self) -> ChunkSet:
        return ChunkSet(self.version, self.article.id, len(self.chunks))


class Index:
    """Writes go through `writing()`; reads need no lock and see only live chunk sets."""

    def __init__(self, data_dir: Path, embedder: Embedder, store: VectorStore,
                 lock_timeout_s: float = 0.0) -> None:
        self.data_dir = data_dir
        self.embedder = embedder
        self.store = store
        self.catalog = Catalog(data_dir / "catalog.sqlite3")
        self.lexical = LexicalIndex(data_dir, self.catalog, store,
                                    exclusive=lambda: write_lock(data_dir))
        self.lock_timeout_s = lock_timeout_s

    @contextmanager
    def writing(self, verify: bool = True) -> Iterator[None]:
        """Hold the write lock, undo any interrupted write, and check the embedder matches
        and (unless the caller does it later) that the store holds what the catalog lists;
        the BM25 index is brought up to date before the lock is released."""
        with write_lock(self.data_dir, self.lock_timeout_s):
            self._check_embedder()
            crash_point("recover")
            self.recover()
            if verify:
                self.verify()
            yield
            self.lexical.refresh()

    def verify(self) -> None:
        """After recovery the store holds exactly the live chunks: any other count means it
        was deleted, damaged or swapped, and writing on would bury that."""
        listed, held = self.catalog.stats()["chunks"], self.store.count()
        if held != listed:
            raise StoreError(
                f"the vector store holds {held} chunks but the catalog in {self.data_dir} "
                f"lists {listed}: it was deleted, damaged or replaced; {RESTORE_HINT}")

    def check_intact(self) -> None:
        """Refuse a data dir that lost one half: a catalog listing articles without its
        vector store, or a vector store without its catalog (never served as empty)."""
        files_present = getattr(self.store, "files_present", None)  # embedded stores can tell
        present = files_present() if files_present is not None else None
        if present is None:
            return
        if not self.catalog.path.exists():
            if present:
                raise StoreError(f"the article catalog {self.catalog.path} is missing but the "
                                 f"vector store beside it is not; {RESTORE_HINT}")
        elif not present and not self.catalog.is_empty():
            raise StoreError(f"the vector store in {self.data_dir} is missing but the catalog "
                             f"lists {self.catalog.stats()['articles']} articles; {RESTORE_HINT}")

    def _check_embedder(self) -> None:
        built_with = self.catalog.get_meta("embedder")
        if built_with is None:
            self.catalog.set_meta("embedder", self.embedder.name)
        elif built_with != self.embedder.name:
            raise StoreError(
                f"the store in {self.data_dir} holds vectors of {built_with}, but the configured "
                f"embedder is {self.embedder.name}; use another data_dir or the same embedder"
            )

    def recover(self) -> int:
        """Drop chunks of interrupted or replaced writes; returns how many sets were dropped."""
        leftovers = self.catalog.leftover_chunk_sets()
        self._drop(leftovers, "recover")
        return len(leftovers)

    def _drop(self, sets: Sequence[ChunkSet], why: str = "drop") -> None:
        if sets:
            crash_point(f"{why}.store")
            self.store.delete([chunk_id for s in sets for chunk_id in s.chunk_ids()])
            crash_point(f"{why}.catalog")
            self.catalog.forget_chunk_sets(sets)

    def embed(self, batch: Sequence[PreparedArticle]) -> list[list[float]]:
        return self.embedder.embed_documents([c.embed_text for p in batch for c in p.chunks])

    def write(self, batch: Sequence[PreparedArticle],
              vectors: Sequence[Sequence[float]] | None = None) -> None:
        """Store a batch (embedding it unless given vectors); each article switches atomically."""
        chunks = [c for p in batch for c in p.chunks]
        if vectors is None:
            vectors = self.embed(batch)
        crash_point("catalog.pending")
        self.catalog.mark_pending(p.chunk_set for p in batch)
        ids, metas = [], []
        for prepared in batch:
            for chunk in prepared.chunks:
                ids.append(f"{prepared.version}:{chunk.index}")
                metas.append(_metadata(prepared, chunk))
        crash_point("store.add")
        self.store.add(ids, vectors, [c.text for c in chunks], metas)
        # Before the articles go live: a kill after it leaves them not live (or changed),
        # so the re-run prepares and matches them again; after it, they are in their story.
        crash_point("stories.assign")
        self._assign_stories(batch, vectors)
        crash_point("catalog.commit")
        replaced = self.catalog.make_live((p.article, p.chunk_set, p.sentences) for p in batch)
        self._drop(replaced)

    def _assign_stories(self, batch: Sequence[PreparedArticle],
                        vectors: Sequence[Sequence[float]]) -> None:
        """Each article joins the story of a stored copy or rewrite, or starts its own
        (ingest/stories.py); derived data, so an article without a row is its own story."""
        from ingest.stories import StoryInput, assign_stories

        inputs, start = [], 0
        for prepared in batch:
            article, end = prepared.article, start + len(prepared.chunks)
            inputs.append(StoryInput(article.id, f"{article.title}\n{article.text}",
                                     date_ordinal(article.published), vectors[start:end]))
            start = end
        assign_stories(self.catalog, inputs)

    def remove(self, article_ids: Sequence[str]) -> list[str]:
        """Delete articles and their chunks; returns the ids that existed."""
        crash_point("catalog.remove")
        removed = self.catalog.remove_articles(article_ids)
        self._drop(removed)
        return [s.article_id for s in removed]

    def fetch(self, chunk_ids: Sequence[str]) -> list[Match]:
        """Live chunks by id, with embeddings (similarity left 0 for the caller to fill);
        from the snapshot when it has them, else from the store."""
        from_snapshot = self.lexical.chunks(chunk_ids)
        have = {m.chunk.id for m in from_snapshot}
        rest = [chunk_id for chunk_id in chunk_ids if chunk_id not in have]
        return from_snapshot + self._fetch_from_store(rest) if rest else from_snapshot

    def _fetch_from_store(self, chunk_ids: Sequence[str]) -> list[Match]:
        if not chunk_ids:
            return []
        found = self.store.fetch(chunk_ids)
        live = self.catalog.live_versions(chunk.article_id for chunk, _ in found)
        return [Match(chunk, 0.0, vector) for chunk, vector in found
                if live.get(chunk.article_id) == chunk.version]


def _metadata(prepared: PreparedArticle, chunk: Chunk) -> dict[str, object]:
    article = prepared.article
    return chunk_metadata(
        article.id, prepared.version, chunk.index, chunk.start, chunk.end,
        [(s.start, s.end) for s in chunk.sentences],
        {"title": article.title, "source": article.source, "url": article.url,
         "published": article.published, "published_day": date_ordinal(article.published)},
    )


@contextmanager
def write_lock(data_dir: Path, timeout_s: float = 0.0) -> Iterator[None]:
    """An exclusive advisory lock on the data dir, so two writers never interleave."""
    with held_lock(data_dir / "write.lock", timeout_s, lambda holder: StoreBusyError(
            f"store busy: {holder} is writing to {data_dir}; try again when it ends")):
        yield


@contextmanager
def held_lock(path: Path, timeout_s: float, busy: Callable[[str], Exception]
              ) -> Iterator[None]:
    """An exclusive advisory lock on `path`, waiting up to timeout_s; raises busy(holder)
    when another process keeps it (the file names the holder's pid)."""
    import time

    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+") as handle:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    handle.seek(0)
                    raise busy(handle.read().strip() or "another process") from None
                time.sleep(0.2)
        handle.seek(0)
        handle.truncate()
        handle.write(f"newsrag pid {os.getpid()}")
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_index(settings: Settings, embedder: Embedder | None = None,
               store: VectorStore | None = None) -> Index:
    """The index for these settings, checked for lost halves; the model and Chroma open
    lazily on first use."""
    data_dir = settings.resolved_data_dir()
    index = Index(
        data_dir,
        embedder or make_embedder(settings.embedding),
        store or make_store(settings.store, data_dir),
        settings.store.lock_timeout_s,
    )
    index.check_intact()
    return index
