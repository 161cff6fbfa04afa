"""Vector stores behind one small Protocol; Chroma objects never leave this module.

Embedded Chroma loads a collection's HNSW index once per process and then never sees another
process's writes (its queries miss new chunks, and fetching their embeddings fails), while
loading the index as another process writes it can hang. So embedded writers hold
`<data_dir>/chroma.lock` exclusively while Chroma writes and leave a new token in it; every
operation compares that token with the one its client has seen, and reopens the client,
holding the lock shared while the index loads, when they differ. A Chroma server needs none
of this.
"""

from __future__ import annotations

import fcntl
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

from newsrag.errors import NewsragError, StoreError, describe_failure, one_line
from newsrag.registry import Registry
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
STORES: Registry[StoreFactory] = Registry("stores", "store.backend")
STORES.register("chroma", "ingest.store:ChromaStore")


def register_store(name: str, factory: StoreFactory | str) -> None:
    STORES.register(name, factory)


def make_store(settings: StoreSettings, data_dir: Path) -> VectorStore:
    return STORES.get(settings.backend)(settings, data_dir)


CONNECT_TIMEOUT_S = 5.0  # for the first answer of a Chroma server


class ChromaStore:
    """Chroma in cosine space: embedded (a PersistentClient under `<data_dir>/chroma`) or a
    Chroma server over HTTP (`store.mode = "server"`)."""

    def __init__(self, settings: StoreSettings, data_dir: Path) -> None:
        self.settings = settings
        self.path = data_dir / "chroma"
        self.lock_path = data_dir / "chroma.lock"  # embedded only; see the module docstring
        self._collection: Any = None
        self._token: str | None = None  # the write token the embedded client has seen
        self._guard = threading.Lock()

    def files_present(self) -> bool | None:
        """Whether an embedded store's files exist; None for a server (not ours to see)."""
        if self.settings.mode == "server":
            return None
        return (self.path / "chroma.sqlite3").is_file()

    @property
    def collection(self) -> Any:
        """The collection, first reopened if another process wrote since it was opened."""
        if self._collection is not None and (
                self.settings.mode == "server" or self._token == _read_token(self.lock_path)):
            return self._collection
        with self._guard:
            if self.settings.mode == "server":
                if self._collection is None:
                    self._collection = self._open_server()
                return self._collection
            with _flock(self.lock_path, fcntl.LOCK_SH):
                return self._refreshed()

    @contextmanager
    def _use(self, write: bool = False) -> Iterator[Any]:
        """The collection for one operation. An embedded write holds the store lock exclusively
        and leaves a new token. Chroma's failures (a full disk, a damaged store, a server gone
        mid-call) become one-line StoreErrors naming the store."""
        try:
            if self.settings.mode == "embedded" and write:
                with self._guard, _flock(self.lock_path, fcntl.LOCK_EX) as handle:
                    collection = self._refreshed()
                    _write_token(handle)  # so a writer killed midway leaves a change behind
                    try:
                        yield collection
                    finally:
                        self._token = _write_token(handle)
            else:
                yield self.collection
        except NewsragError:
            raise
        except Exception as exc:
            raise self._failure(exc, write) from None

    def _failure(self, exc: Exception, write: bool) -> Exception:
        if self.settings.mode == "server":
            if not type(exc).__module__.startswith("httpx"):
                return exc  # an error the server answered with: left as it is
            return StoreError(f"lost the Chroma server at {self.settings.host}:"
                              f"{self.settings.port}: {one_line(exc)}")
        action = "write to" if write else "read"
        return StoreError(f"cannot {action} the Chroma store at {self.path}: "
                          f"{describe_failure(exc, self.path)}")

    def _refreshed(self) -> Any:
        """The embedded collection, reopened unless it has seen the current token; the caller
        holds the store lock, so no writer changes the index files as they load."""
        token = _read_token(self.lock_path)
        if self._collection is None or self._token != token:
            self._collection = self._open_embedded()
            self._token = token
        return self._collection

    def _open_embedded(self) -> Any:
        import chromadb

        try:
            self.path.mkdir(parents=True, exist_ok=True)
            _forget_cached_client(self.path)
            client = chromadb.PersistentClient(path=str(self.path), settings=_chroma_settings())
            collection = _collection_of(client, self.settings)
            collection.count()  # loads the HNSW index now, under the caller's lock
            return collection
        except Exception as exc:  # chromadb raises many unrelated types for a bad store
            raise StoreError(f"cannot open the Chroma store at {self.path}: "
                             f"{describe_failure(exc, self.path)}") from None

    def _open_server(self) -> Any:
        import chromadb

        _check_server(self.settings)
        try:
            client = chromadb.HttpClient(
                host=self.settings.host, port=self.settings.port, ssl=self.settings.ssl,
                settings=_chroma_settings(self.settings.token))
            return _collection_of(client, self.settings)
        except Exception as exc:  # HTTP errors, refused tokens, a wrong server version
            raise StoreError(
                f"cannot open collection {self.settings.collection!r} on the Chroma server at "
                f"{self.settings.host}:{self.settings.port}: {one_line(exc)}") from None

    def add(self, ids: Sequence[str], embeddings: Sequence[Sequence[float]],
            documents: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> None:
        step = self.settings.add_batch_size
        with self._use(write=True) as collection:
            for start in range(0, len(ids), step):
                end = start + step
                collection.upsert(
                    ids=list(ids[start:end]),
                    embeddings=[list(e) for e in embeddings[start:end]],
                    documents=list(documents[start:end]), metadatas=list(metadatas[start:end]),
                )

    def delete(self, ids: Sequence[str]) -> None:
        step = self.settings.add_batch_size
        with self._use(write=True) as collection:
            for start in range(0, len(ids), step):
                collection.delete(ids=list(ids[start:start + step]))

    def count(self) -> int:
        with self._use() as collection:
            return int(collection.count())

    def nearest(self, embedding: Sequence[float], k: int, filters: Filters | None = None
                ) -> list[tuple[str, float]]:
        with self._use() as collection:
            if collection.count() == 0:
                return []
            result = collection.query(query_embeddings=[list(embedding)], n_results=k,
                                      where=_where(filters), include=["distances"])
        return [(i, 1.0 - float(d)) for i, d in zip(result["ids"][0], result["distances"][0],
                                                   strict=True)]

    def fetch(self, ids: Sequence[str]) -> list[tuple[StoredChunk, tuple[float, ...]]]:
        if not ids:
            return []
        with self._use() as collection:
            got = collection.get(ids=list(ids), include=["documents", "metadatas", "embeddings"])
        rows = zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)
        return [(_stored_chunk(i, doc, meta), tuple(float(x) for x in vector))
                for i, doc, meta, vector in rows]

    def scan(self) -> Iterator[StoredChunk]:
        step = self.settings.add_batch_size
        with self._use() as collection:
            for offset in range(0, collection.count(), step):
                page = collection.get(limit=step, offset=offset,
                                      include=["documents", "metadatas"])
                for row in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
                    yield _stored_chunk(*row)


@contextmanager
def _flock(path: Path, operation: int) -> Iterator[IO[str]]:
    """An flock on `path`, created if missing (a second open, even in this process, waits)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        fcntl.flock(handle, operation)
        try:
            yield handle
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _read_token(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""  # never deleted


def _write_token(handle: IO[str]) -> str:
    token = uuid.uuid4().hex
    handle.seek(0)
    handle.truncate()
    handle.write(token)
    handle.flush()
    return token


def _forget_cached_client(path: Path) -> None:
    """Chroma shares one client system per path and process, loaded once: drop ours so the
    next client loads the store afresh (calls still running on the old one finish there)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    SharedSystemClient._identifier_to_system.pop(str(path), None)
    SharedSystemClient._identifier_to_refcount.pop(str(path), None)


def _chroma_settings(token: str = "") -> Any:
    from chromadb.config import Settings as ChromaSettings

    if not token:
        return ChromaSettings(anonymized_telemetry=False)
    return ChromaSettings(  # sent as "Authorization: Bearer <token>"
        anonymized_telemetry=False,
        chroma_client_auth_provider="chromadb.auth.token_authn.TokenAuthClientProvider",
        chroma_client_auth_credentials=token)


def _collection_of(client: Any, settings: StoreSettings) -> Any:
    # embedding_function=None: we always pass vectors, and Chroma's default function would
    # download an ONNX model.
    return client.get_or_create_collection(
        settings.collection, embedding_function=None,
        configuration={"hnsw": {"space": "cosine"}})


def _check_server(settings: StoreSettings) -> None:
    """Fail in seconds, in one line, when the server does not answer (Chroma's own client
    waits without a timeout) or refuses the token."""
    import httpx

    where = f"{settings.host}:{settings.port}"
    url = f"{'https' if settings.ssl else 'http'}://{where}/api/v2/heartbeat"
    headers = {"Authorization": f"Bearer {settings.token}"} if settings.token else {}
    try:
        status = httpx.get(url, headers=headers, timeout=CONNECT_TIMEOUT_S).status_code
    except httpx.HTTPError as exc:
        raise StoreError(f"cannot reach the Chroma server at {where} (store.mode = \"server\"): "
                         f"{one_line(exc)}") from None
    if status in (401, 403):
        raise StoreError(f"the Chroma server at {where} refused the store token (HTTP {status}); "
                         "set it with NEWSRAG_STORE__TOKEN")
    if status != 200:
        raise StoreError(f"the Chroma server at {where} answered HTTP {status} to a heartbeat")


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



