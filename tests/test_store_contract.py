"""One contract for the VectorStore Protocol, run against every way newsrag stores vectors:
embedded Chroma on a temporary data dir, and a real `chroma run` server (one per session, a
fresh collection per test). Plus server mode's failures and a whole index on the server."""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from ingest.store import Filters, StoredChunk, VectorStore, chunk_metadata, make_store
from newsrag.errors import StoreError
from newsrag.settings import StoreSettings
from rag.search import SearchOptions, retrieve
from tests.chroma_server import auth_proxy, chroma_server
from tests.test_chain import ARTICLES, ingest_articles
from tests.uiserver import free_port

NewStore = Callable[..., VectorStore]
DAY = date(2025, 3, 10).toordinal()


@pytest.fixture(scope="session")
def chroma(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, int]]:
    """One real Chroma server for the session, on a free loopback port."""
    with chroma_server(tmp_path_factory.mktemp("chroma-server")) as address:
        yield address


@pytest.fixture(params=["embedded", "server"])
def new_store(request: pytest.FixtureRequest, tmp_path: Path) -> NewStore:
    """Builds a store of the parametrized kind on a collection no other test uses."""

    def build(**overrides: Any) -> VectorStore:
        values: dict[str, Any] = {"collection": f"contract-{uuid.uuid4().hex[:12]}"}
        if request.param == "server":
            host, port = request.getfixturevalue("chroma")
            values.update(mode="server", host=host, port=port)
        values.update(overrides)
        return make_store(StoreSettings(**values), tmp_path / "data")

    return build


def unit(*values: float) -> list[float]:
    norm = math.sqrt(sum(v * v for v in values))
    return [v / norm for v in values]


def put(store: VectorStore, rows: Sequence[tuple[str, list[float]]], **extra: Any) -> None:
    """Chunks with these ids and vectors; text, spans and metadata derive from the id, and
    `extra` maps an id to its extra metadata (source, published_day, ...)."""
    store.add([i for i, _ in rows], [v for _, v in rows], [text_of(i) for i, _ in rows],
              [metadata_of(i, extra.get(i, {})) for i, _ in rows])


def text_of(chunk_id: str) -> str:
    return f"Text of {chunk_id}. Second sentence."


def metadata_of(chunk_id: str, extra: dict[str, Any]) -> dict[str, Any]:
    text = text_of(chunk_id)
    version, _, index = chunk_id.partition(":")
    return chunk_metadata(f"article-{version}", version, int(index or 0), 100, 100 + len(text),
                          [(100, 100 + len(text) - 18), (100 + len(text) - 17, 100 + len(text))],
                          {"title": f"Title {version}", "url": None, **extra})


def ids(found: Sequence[tuple[str, float]]) -> list[str]:
    return [chunk_id for chunk_id, _ in found]


def test_add_then_count(new_store: NewStore) -> None:
    store = new_store()
    assert store.count() == 0
    put(store, [("a:0", unit(1, 0, 0, 0)), ("a:1", unit(0, 1, 0, 0)), ("b:0", unit(0, 0, 1, 0))])
    assert store.count() == 3


def test_adding_an_existing_id_replaces_it(new_store: NewStore) -> None:
    store = new_store()
    put(store, [("a:0", unit(1, 0, 0, 0)), ("b:0", unit(0, 0, 1, 0))])
    store.add(["a:0"], [unit(0, 1, 0, 0)], ["Replaced text."],
              [metadata_of("a:0", {"source": "New Source"})])
    assert store.count() == 2
    (chunk, vector), = store.fetch(["a:0"])
    assert chunk.text == "Replaced text." and chunk.metadata["source"] == "New Source"
    assert vector == pytest.approx(unit(0, 1, 0, 0), abs=1e-6)
    nearest = store.nearest(unit(0, 1, 0, 0), 2)
    assert ids(nearest) == ["a:0", "b:0"]
    assert nearest[0][1] == pytest.approx(1.0, abs=1e-5)


def test_delete_removes_chunks_and_ignores_unknown_ids(new_store: NewStore) -> None:
    store = new_store()
    put(store, [("a:0", unit(1, 0, 0, 0)), ("a:1", unit(1, 1, 0, 0)), ("b:0", unit(0, 1, 0, 0))])
    store.delete(["a:0", "no-such:0"])
    assert store.count() == 2
    assert {c.id for c, _ in store.fetch(["a:0", "a:1", "b:0"])} == {"a:1", "b:0"}
    assert ids(store.nearest(unit(1, 0, 0, 0), 10)) == ["a:1", "b:0"]
    store.delete([])
    assert store.count() == 2


def test_nearest_ranks_by_cosine_similarity(new_store: NewStore) -> None:
    store = new_store()
    # Added out of order, so insertion order cannot pass for ranking.
    put(store, [("side:0", unit(0, 1, 0, 0)), ("same:0", unit(1, 0, 0, 0)),
                ("opposite:0", unit(-1, 0, 0, 0)), ("near:0", unit(1, 1, 0, 0)),
                ("close:0", unit(3, 1, 0, 0))])
    found = store.nearest(unit(1, 0, 0, 0), 5)
    assert ids(found) == ["same:0", "close:0", "near:0", "side:0", "opposite:0"]
    expected = [1.0, 3 / math.sqrt(10), 1 / math.sqrt(2), 0.0, -1.0]
    assert [s for _, s in found] == pytest.approx(expected, abs=1e-5)
    assert ids(store.nearest(unit(1, 0, 0, 0), 2)) == ["same:0", "close:0"]
    assert ids(store.nearest(unit(0, 0, 0, 1), 1)) != []  # orthogonal to all: still answered


def test_nearest_on_an_empty_store_is_empty(new_store: NewStore) -> None:
    store = new_store()
    assert store.nearest(unit(1, 0, 0, 0), 5) == []
    assert store.nearest(unit(1, 0, 0, 0), 5, Filters(sources=("Alpha",))) == []


def test_nearest_applies_source_and_date_filters(new_store: NewStore) -> None:
    store = new_store()
    put(store, [("alpha-old:0", unit(10, 1, 0, 0)), ("alpha-new:0", unit(10, 2, 0, 0)),
                ("beta-old:0", unit(10, 3, 0, 0)), ("beta-new:0", unit(10, 4, 0, 0)),
                ("undated:0", unit(10, 5, 0, 0))],
        **{"alpha-old:0": {"source": "Alpha", "published_day": DAY - 5},
           "alpha-new:0": {"source": "Alpha", "published_day": DAY + 5},
           "beta-old:0": {"source": "Beta", "published_day": DAY - 3},
           "beta-new:0": {"source": "Beta", "published_day": DAY},
           "undated:0": {"source": "Gamma"}})
    query = unit(1, 0, 0, 0)

    def found(filters: Filters | None) -> list[str]:
        return ids(store.nearest(query, 10, filters))

    everything = ["alpha-old:0", "alpha-new:0", "beta-old:0", "beta-new:0", "undated:0"]
    assert found(None) == found(Filters()) == everything
    assert found(Filters(sources=("Alpha",))) == ["alpha-old:0", "alpha-new:0"]
    assert found(Filters(sources=("Beta", "Gamma"))) == ["beta-old:0", "beta-new:0", "undated:0"]
    assert found(Filters(since_day=DAY)) == ["alpha-new:0", "beta-new:0"]  # inclusive
    assert found(Filters(until_day=DAY - 3)) == ["alpha-old:0", "beta-old:0"]  # inclusive
    assert found(Filters(since_day=DAY - 3, until_day=DAY)) == ["beta-old:0", "beta-new:0"]
    assert found(Filters(sources=("Alpha",), since_day=DAY)) == ["alpha-new:0"]
    assert found(Filters(sources=("Nobody",))) == []
    similarities = [s for _, s in store.nearest(query, 10, Filters(sources=("Alpha",)))]
    assert similarities == pytest.approx([10 / math.sqrt(101), 10 / math.sqrt(104)], abs=1e-5)


def test_fetch_returns_stored_chunks_with_embeddings(new_store: NewStore) -> None:
    store = new_store()
    vectors = {"a:0": unit(1, 2, 3, 4), "a:1": unit(4, 3, 2, 1), "b:0": unit(0, 0, 1, 0)}
    put(store, list(vectors.items()),
        **{"a:1": {"source": "Alpha", "published": "2025-03-10", "published_day": DAY}})
    assert store.fetch([]) == []
    fetched = {chunk.id: (chunk, vector) for chunk, vector in
               store.fetch(["a:1", "missing:0", "a:0"])}
    assert set(fetched) == {"a:0", "a:1"}
    chunk, vector = fetched["a:1"]
    text = text_of("a:1")
    assert chunk == StoredChunk(
        id="a:1", article_id="article-a", version="a", index=1, text=text, start=100,
        end=100 + len(text),
        sentence_spans=((100, 100 + len(text) - 18), (100 + len(text) - 17, 100 + len(text))),
        metadata=metadata_of("a:1", {"source": "Alpha", "published": "2025-03-10",
                                     "published_day": DAY}))
    assert "url" not in chunk.metadata  # None values are left out
    assert vector == pytest.approx(vectors["a:1"], abs=1e-6)
    assert fetched["a:0"][1] == pytest.approx(vectors["a:0"], abs=1e-6)


def test_scan_yields_every_chunk_once(new_store: NewStore) -> None:
    store = new_store(add_batch_size=2)  # scan pages by the batch size
    rows = [(f"s{i}:{j}", unit(i + 1, j + 1, 1, 0)) for i in range(3) for j in range(3)]
    put(store, rows)
    scanned = list(store.scan())
    assert sorted(c.id for c in scanned) == sorted(i for i, _ in rows)
    assert all(c.text == text_of(c.id) and c.article_id == f"article-{c.version}"
               for c in scanned)
    assert list(new_store().scan()) == []


def test_more_items_than_the_batch_size(new_store: NewStore) -> None:
    store = new_store(add_batch_size=3)
    rows = [(f"many:{i}", unit(1, i, (i * 7) % 5, 1)) for i in range(11)]
    put(store, rows)
    assert store.count() == 11
    assert len(store.fetch([i for i, _ in rows])) == 11
    last_id, last_vector = rows[-1]
    assert store.nearest(last_vector, 1)[0][0] == last_id
    store.delete([i for i, _ in rows[:8]])
    assert store.count() == 3
    assert sorted(c.id for c in store.scan()) == sorted(i for i, _ in rows[8:])


def test_server_mode_without_a_server_fails_fast_naming_it(tmp_path: Path) -> None:
    port = free_port()  # nothing listens there
    store = make_store(StoreSettings(mode="server", port=port), tmp_path)
    started = time.monotonic()
    with pytest.raises(StoreError) as error:
        store.count()
    assert time.monotonic() - started < 10
    message = str(error.value)
    assert f"127.0.0.1:{port}" in message and "Chroma server" in message
    assert "\n" not in message and "Traceback" not in message
    assert not (tmp_path / "chroma").exists()  # no embedded store made instead


def test_token_reaches_the_server_and_a_wrong_one_is_refused(
        chroma: tuple[str, int], tmp_path: Path) -> None:
    # `chroma run` (chromadb 1.5) checks no tokens, so an authenticating proxy stands in front.
    host, port = chroma
    with auth_proxy(port, "s3cret") as (proxy_port, seen):
        def store(token: str) -> VectorStore:
            return make_store(StoreSettings(mode="server", host=host, port=proxy_port,
                                            token=token, collection="tokens"), tmp_path)

        good = store("s3cret")
        put(good, [("t:0", unit(1, 0, 0, 0))])
        assert good.count() == 1 and ids(good.nearest(unit(1, 0, 0, 0), 1)) == ["t:0"]
        assert len(seen) >= 4 and set(seen) == {"Bearer s3cret"}
        for token in ("wrong", ""):
            with pytest.raises(StoreError, match=f"{host}:{proxy_port}.*refused"):
                store(token).count()
        assert seen[-2:] == ["Bearer wrong", ""]


def test_a_whole_index_on_a_chroma_server(chroma: tuple[str, int], tmp_path: Path) -> None:
    host, port = chroma
    collection = f"index-{uuid.uuid4().hex[:12]}"
    services = ingest_articles(tmp_path, NEWSRAG_STORE__MODE="server", NEWSRAG_STORE__HOST=host,
                               NEWSRAG_STORE__PORT=str(port), NEWSRAG_STORE__COLLECTION=collection)
    assert services.settings.store.mode == "server"
    data_dir = services.settings.resolved_data_dir()
    assert not (data_dir / "chroma").exists()  # the vectors went to the server

    on_server = make_store(StoreSettings(mode="server", host=host, port=port,
                                         collection=collection), tmp_path / "elsewhere")
    catalog = services.index.catalog
    assert on_server.count() == catalog.stats()["chunks"] > 0
    assert {c.article_id for c in on_server.scan()} == {a["id"] for a in ARTICLES}

    hits = retrieve("harbour bridge repairs", services, SearchOptions(k=3))
    assert hits[0].article_id == "bridge"
    assert "harbour bridge reopened" in hits[0].text
    budget = catalog.get("budget")
    assert budget is not None
    (chunk, vector), = services.index.store.fetch([f"{budget.version}:0"])
    assert chunk.article_id == "budget" and chunk.text in budget.article.text
    assert services.index.store.nearest(vector, 1)[0] == (chunk.id, pytest.approx(1.0, abs=1e-5))
