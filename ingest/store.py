"""Vector stores behind one small Protocol; Chroma objects never leave this module."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from newsrag.errors import StoreError
from newsrag.registry import resolve
from newsrag.settings import StoreSettings


@dataclass(frozen=True)
class StoredChunk:
    """One chunk as stored: its text, spans and article metadata."""

    id: str
    article_id: str
    version: str
    index: int
    text: str
    start: int
    end: int
    sentence_spans: tuple[tuple[int, int], ...]
    metadata: dict[str, Any]


@dataclass(frozen=True)
class Match:
    chunk: StoredChunk
    similarity: float  # cosine similarity, 1 = identical direction
    embedding: tuple[float, ...] | None = None  # unit vector, for duplicates and MMR


@dataclass(frozen=True)
class Filters:
    """Metadata filters every backend understands."""

    sources: tuple[str, ...] = ()
    since_day: int | None = None  # date ordinals, inclusive
    until_day: int | None = None


class VectorStore(Protocol):
    def add(self, ids: Sequence[str], embeddings: Sequence[Sequence[float]],
            documents: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None: ...

    def delete(self, ids: Sequence[str]) -> None: ...

    def count(self) -> int: ...

    def nearest(self, embedding: Sequence[float], k: int, filters: Filters | None = None
                ) -> list[tuple[str, float]]:
        """Ids and cosine similarities of the k nearest chunks, live or not."""
        ...

    def fetch(self, ids: Sequence[str]) -> list[tuple[StoredChunk, tuple[float, ...]]]:
        """The chunks with these ids that exist, with their embeddings."""
        ...

    def scan(self) -> Iterator[StoredChunk]:
        """Every stored chunk, live or not, in no particular order."""
        ...


StoreFactory = Callable[[StoreSettings, Path], VectorStore]
STORES: dict[str, StoreFactory] = {}


def register_store(name: str, factory: StoreFactory) -> None:
    STORES[name] = factory


def make_store(settings: StoreSettings, data_dir: Path) -> VectorStore:
    return resolve(STORES, settings.backend, "store.backend")(settings, data_dir)


class ChromaStore:
    """Chroma's embedded PersistentClient under `<data_dir>/chroma`, cosine space."""

    def __init__(self, settings: StoreSettings, data_dir: Path) -> None:
        self.settings = settings
        self.path = data_dir / "chroma"
        self._collection: Any = None

    @property
    def collection(self) -> Any:
        if self._collection is None:
            self._collection = self._open()
        return self._collection

    def _open(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        try:
            self.path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(
                path=str(self.path), settings=ChromaSettings(anonymized_telemetry=False)
            )
            # embedding_function=None: we always pass vectors, and Chroma's default
            # function would download an ONNX model.
            return client.get_or_create_collection(
                self.settings.collection, embedding_function=None,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:  # chromadb raises many unrelated types for a bad store
            raise StoreError(f"cannot open the Chroma store at {self.path}: {exc}") from None

    def add(self, ids: Sequence[str], embeddings: Sequence[Sequence[float]],
            documents: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        step = self.settings.add_batch_size
        for start in range(0, len(ids), step):
            end = start + step
            self.collection.upsert(
                ids=list(ids[start:end]), embeddings=[list(e) for e in embeddings[start:end]],
                documents=list(documents[start:end]), metadatas=list(metadatas[start:end]),
            )

    def delete(self, ids: Sequence[str]) -> None:
        step = self.settings.add_batch_size
        for start in range(0, len(ids), step):
            self.collection.delete(ids=list(ids[start:start + step]))

    def count(self) -> int:
        return int(self.collection.count())

    def nearest(self, embedding: Sequence[float], k: int, filters: Filters | None = None
                ) -> list[tuple[str, float]]:
        if self.count() == 0:
            return []
        result = self.collection.query(query_embeddings=[list(embedding)], n_results=k,
                                       where=_where(filters), include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0],
                                                   strict=True)]

    def fetch(self, ids: Sequence[str]) -> list[tuple[StoredChunk, tuple[float, ...]]]:
        if not ids:
            return []
        got = self.collection.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        rows = zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)
        return [(_stored_chunk(i, doc, meta), tuple(float(x) for x in vector))
                for i, doc, meta, vector in rows]

    def scan(self) -> Iterator[StoredChunk]:
        step = self.settings.add_batch_size
        for offset in range(0, self.count(), step):
            page = self.collection.get(limit=step, offset=offset,
                                       include=["documents", "metadatas"])
            for row in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
                yield _stored_chunk(*row)


def chunk_metadata(article_id: str, version: str, index: int, start: int, end: int,
                   spans: Sequence[tuple[int, int]], extra: dict[str, Any]) -> dict[str, Any]:
    """Flat metadata (Chroma accepts only scalars); None values are left out."""
    meta = {"article_id": article_id, "version": version, "index": index, "start": start,
            "end": end, "sentences": json.dumps([list(s) for s in spans])}
    meta.update({key: value for key, value in extra.items() if value is not None})
    return meta


def _stored_chunk(chunk_id: str, document: str | None, meta: dict[str, Any]) -> StoredChunk:
    spans = tuple((int(a), int(b)) for a, b in json.loads(meta.get("sentences", "[]")))
    return StoredChunk(
        id=chunk_id, article_id=str(meta["article_id"]), version=str(meta["version"]),
        index=int(meta["index"]), text=document or "", start=int(meta["start"]),
        end=int(meta["end"]), sentence_spans=spans, metadata=dict(meta),
    )


def _where(filters: Filters | None) -> dict[str, Any] | None:
    if filters is None:
        return None
    clauses: list[dict[str, Any]] = []
    if filters.sources:
        clauses.append({"source": {"$in": list(filters.sources)}})
    if filters.since_day is not None:
        clauses.append({"published_day": {"$gte": filters.since_day}})
    if filters.until_day is not None:
        clauses.append({"published_day": {"$lte": filters.until_day}})
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


register_store("chroma", ChromaStore)

