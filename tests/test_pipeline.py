import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.index import open_index, write_lock
from ingest.pipeline import ingest
from newsrag.errors import StoreBusyError, StoreError
from newsrag.settings import Settings
from rag.search import SearchOptions, retrieve
from rag.services import build_services
from tests.conftest import rtqa_records
from tests.fakes import FakeEmbedder

BODY = "The council approved the budget on Monday after a long debate. " * 4


def store_state(settings: Settings) -> tuple[dict[str, str], set[str]]:
    """(article id -> live version, chunk ids in Chroma): what a consistent store agrees on."""
    index = open_index(settings)
    versions = {r.article.id: r.version for r in index.catalog.list_articles()}
    ids = set(index.store.collection.get(include=[])["ids"])  # type: ignore[attr-defined]
    return versions, ids


def assert_consistent(settings: Settings) -> None:
    index = open_index(settings)
    versions, ids = store_state(settings)
    expected = {f"{r.version}:{i}" for r in index.catalog.list_articles()
                for i in range(r.n_chunks)}
    assert ids == expected
    assert index.catalog.leftover_chunk_sets() == []
    assert len(versions) == index.catalog.stats()["articles"]


def full_state(settings: Settings) -> dict[str, Any]:
    """Everything an ingest decides, to compare two stores: articles (hashes, versions,
    sentences), chunks (texts, metadata, vectors), recorded files, leftovers, the snapshot."""
    index = open_index(settings, embedder=FakeEmbedder())
    articles = {r.article.id: (r.article.content_hash, r.version, r.n_chunks, r.article.title,
                               r.article.location, [(s.start, s.end) for s in r.sentences])
                for r in index.catalog.list_articles()}
    got = index.store.collection.get(  # type: ignore[attr-defined]
        include=["documents", "metadatas", "embeddings"])
    chunks = {chunk_id: (text, json.dumps(meta, sort_keys=True),
                         tuple(np.round(np.asarray(vector, dtype=float), 6)))
              for chunk_id, text, meta, vector in zip(
                  got["ids"], got["documents"], got["metadatas"], got["embeddings"], strict=True)}
    files = index.catalog.db.execute("SELECT * FROM files ORDER BY path").fetchall()
    return {"articles": articles, "chunks": chunks, "files": files,
            "leftovers": index.catalog.leftover_chunk_sets(),
            "snapshot": sorted(index.lexical.current().chunk_ids)}


def assert_consistent_view(settings: Settings, queries: Sequence[str] = ()) -> int:
    """What a new process sees, say after a crash: every catalog article whole in Chroma, every
    other chunk tracked for recovery, a snapshot of exactly the live chunks and their vectors,
    and searches (memory and store) returning only live text. Returns the orphan count."""
    index = open_index(settings, embedder=FakeEmbedder())
    records = {r.article.id: r for r in index.catalog.list_articles()}
    got = index.store.collection.get(  # type: ignore[attr-defined]
        include=["metadatas", "embeddings"])
    assert len(got["ids"]) == len(set(got["ids"])), "duplicate chunk ids in Chroma"
    meta = dict(zip(got["ids"], got["metadatas"], strict=True))
    live = {f"{r.version}:{i}": (a, i) for a, r in records.items() for i in range(r.n_chunks)}
    missing = sorted(live.keys() - meta.keys())
    assert not missing, f"{len(missing)} chunks of catalog articles missing, e.g. {missing[:3]}"
    for chunk_id, (article_id, position) in live.items():
        stored = meta[chunk_id]
        assert (stored["article_id"], stored["index"], stored["version"]) == (
            article_id, position, records[article_id].version), chunk_id
    tracked = {s.version for s in index.catalog.leftover_chunk_sets()}
    assert not tracked & {r.version for r in records.values()}, "a live set is also leftover"
    orphans = meta.keys() - live.keys()
    untracked = sorted(c for c in orphans if meta[c]["version"] not in tracked)
    assert not untracked, f"chunks no article or leftover set owns: {untracked[:3]}"
    _assert_snapshot_matches(index, live, dict(zip(got["ids"], got["embeddings"], strict=True)))
    for mode in ("memory", "store"):
        retrieval = settings.retrieval.model_copy(update={"dense_search": mode})
        services = build_services(settings.model_copy(update={"retrieval": retrieval}), index)
        for query in queries:
            for hit in retrieve(query, services, SearchOptions(k=10)):
                record = records[hit.article_id]
                stored = meta[f"{record.version}:{hit.chunk_index}"]
                assert (hit.char_start, hit.char_end) == (stored["start"], stored["end"])
                assert hit.text == record.article.text[hit.char_start:hit.char_end]
    return len(orphans)


def _assert_snapshot_matches(index: Any, live: dict[str, Any], vectors: dict[str, Any]
                             ) -> None:
    """The snapshot a reader loads (rebuilding it if stale) holds the live chunks exactly."""
    snap = index.lexical.current()
    assert len(snap.chunk_ids) == len(set(snap.chunk_ids))
    assert set(snap.chunk_ids) == live.keys(), "snapshot and Chroma disagree on live chunks"
    for row, chunk_id in enumerate(snap.chunk_ids):
        np.testing.assert_allclose(snap.dense.vectors[row], vectors[chunk_id], atol=1e-6)
    row_of = snap.row_of()  # rows number all segments' chunks, live or hidden
    assert [snap.all_article_ids[snap.chunk_article[row_of[c]]] for c in snap.chunk_ids] == [
        live[c][0] for c in snap.chunk_ids]


def test_ingest_then_reingest_embeds_nothing(settings: Settings, corpus_dir: Path,
                                             fake_embedder: FakeEmbedder) -> None:
    index = open_index(settings, embedder=fake_embedder)
    first = ingest([str(corpus_dir)], settings, index)
    assert len(first.added) == 1 and first.chunks > 3 and not first.skipped
    calls = len(fake_embedder.calls)
    again = ingest([str(corpus_dir)], settings, index)
    assert (again.added, again.updated, again.unchanged, again.chunks) == ([], [], 1, 0)
    assert len(fake_embedder.calls) == calls
    # Touching the file (new mtime, same content) re-parses but still embeds nothing.
    path = next(corpus_dir.iterdir())
    path.write_text(path.read_text())
    third = ingest([str(corpus_dir)], settings, index)
    assert third.unchanged == 1 and len(fake_embedder.calls) == calls
    assert_consistent(settings)


def test_changed_article_replaces_its_chunks(settings: Settings, corpus_dir: Path) -> None:
    path = next(corpus_dir.iterdir())
    ingest([str(corpus_dir)], settings)
    before, _ = store_state(settings)
    path.write_text(path.read_text().replace("power plants", "nuclear power plants"))
    report = ingest([str(corpus_dir)], settings)
    after, _ = store_state(settings)
    assert report.updated == list(before) and report.added == []
    assert before.keys() == after.keys() and before != after
    assert_consistent(settings)
    text = open_index(settings).catalog.get(report.updated[0]).article.text  # type: ignore[union-attr]
    assert "nuclear power plants" in text


def test_prune_removes_vanished_files_and_records(settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "news"
    folder.mkdir()
    (folder / "keep.txt").write_text("Keep\n" + BODY)
    (folder / "gone.txt").write_text("Gone\n" + BODY)
    records = [{"id": f"r{i}", "title": f"R{i}", "text": BODY} for i in range(3)]
    (folder / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    ingest([str(folder)], settings)
    gone_id = next(a for a in store_state(settings)[0] if a.startswith("gone"))
    (folder / "gone.txt").unlink()
    (folder / "feed.jsonl").write_text("\n".join(json.dumps(r) for r in records[:2]))
    without_prune = ingest([str(folder)], settings)
    assert without_prune.deleted == []
    report = ingest([str(folder)], settings, prune=True)
    assert sorted(report.deleted) == sorted(["r2", gone_id])
    ids = set(store_state(settings)[0])
    assert "r2" not in ids and {"r0", "r1"} <= ids
    assert not any(i.startswith("gone") for i in ids) and any(i.startswith("keep") for i in ids)
    assert_consistent(settings)


def test_bad_inputs_do_not_abort_the_batch(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "ok.txt").write_text("Good one\n" + BODY)
    (tmp_path / "bin.txt").write_bytes(b"\x00\x01\x02" * 100)
    (tmp_path / "dup.jsonl").write_text(
        json.dumps({"id": "same", "text": BODY}) + "\n" + json.dumps({"id": "same", "text": BODY}))
    report = ingest([str(tmp_path)], settings)
    assert len(report.added) == 2
    reasons = " | ".join(s.reason for s in report.skipped)
    assert "binary" in reasons and "duplicate article id 'same'" in reasons


def test_crash_between_store_and_catalog_leaves_no_half_article(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    records = [{"id": f"a{i}", "title": f"A{i}", "text": BODY + f" Item {i}."} for i in range(5)]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    index = open_index(settings)

    def crash(*args: object, **kwargs: object) -> None:
        raise KeyboardInterrupt("simulated crash after the vectors were added")

    monkeypatch.setattr(index.catalog, "make_live", crash)
    with pytest.raises(KeyboardInterrupt):
        ingest([str(tmp_path)], settings, index)
    monkeypatch.undo()
    assert open_index(settings).catalog.stats()["articles"] == 0
    report = ingest([str(tmp_path)], settings)
    assert len(report.added) == 5
    assert_consistent(settings)


def test_search_never_sees_stale_chunks(settings: Settings, corpus_dir: Path) -> None:
    ingest([str(corpus_dir)], settings)
    index = open_index(settings)
    record = index.catalog.list_articles()[0]
    # A leftover chunk of an older version (as after a crash) must not be returned.
    index.store.add(["old-version:0"], [index.embedder.embed_query("land and power plants")],
                    ["land and power plants"],
                    [{"article_id": record.article.id, "version": "old-version", "index": 0,
                      "start": 0, "end": 5, "sentences": "[[0, 5]]"}])
    hits = retrieve("land and power plants", build_services(settings, index), SearchOptions(k=3))
    assert hits and all(h.char_end <= len(record.article.text) for h in hits)
    assert all(h.text != "land and power plants" for h in hits)


def test_second_writer_gets_store_busy(settings: Settings) -> None:
    data_dir = settings.resolved_data_dir()
    with write_lock(data_dir), pytest.raises(StoreBusyError, match="store busy"):
        ingest(["/nonexistent"], settings)


def test_different_embedder_is_refused(make_settings, corpus_dir: Path) -> None:  # type: ignore[no-untyped-def]
    ingest([str(corpus_dir)], make_settings())
    other = make_settings(NEWSRAG_EMBEDDING__BACKEND="tests.fakes:SlowFakeEmbedder")
    index = open_index(other)
    index.embedder.name = "another-model"
    with pytest.raises(StoreError, match="holds vectors of fake-hash-64"):
        ingest([str(corpus_dir)], other, index)


def test_realtimeqa_records_keep_their_doc_ids(settings: Settings, tmp_path: Path) -> None:
    records = rtqa_records(30)
    path = tmp_path / "corpus.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in records))
    report = ingest([str(path)], settings)
    assert sorted(report.added) == sorted(r["doc_id"] for r in records)
    catalog = open_index(settings).catalog
    stored = catalog.get(records[0]["doc_id"])
    assert stored is not None and stored.article.title == records[0]["title"]
    assert all(stored.article.text[s.start:s.end] == s.text for s in stored.sentences)
    assert_consistent(settings)


def test_settings_changes_reembed_only_when_chunks_change(make_settings, corpus_dir: Path
                                                          ) -> None:  # type: ignore[no-untyped-def]
    fake = FakeEmbedder()
    ingest([str(corpus_dir)], make_settings(), open_index(make_settings(), embedder=fake))
    calls = len(fake.calls)
    timeout = make_settings(NEWSRAG_INGEST__URL_TIMEOUT_S=5)
    report = ingest([str(corpus_dir)], timeout, open_index(timeout, embedder=fake))
    assert report.unchanged == 1 and len(fake.calls) == calls  # re-parsed, nothing embedded
    smaller = make_settings(NEWSRAG_CHUNKING__CHUNK_TOKENS=64)
    report = ingest([str(corpus_dir)], smaller, open_index(smaller, embedder=fake))
    assert len(report.updated) == 1 and len(fake.calls) > calls
    assert_consistent(smaller)


def test_a_failed_write_stops_the_parse_thread(settings: Settings, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    records = [{"id": f"a{i}", "text": BODY + f" Item {i}."} for i in range(600)]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    index = open_index(settings)
    monkeypatch.setattr(index.store, "add", lambda *a, **k: (_ for _ in ()).throw(
        StoreError("disk full")))
    with pytest.raises(StoreError, match="disk full"):
        ingest([str(tmp_path)], settings, index)
    for thread in threading.enumerate():
        if thread.name == "newsrag-parse":
            thread.join(timeout=5)
            assert not thread.is_alive()
    monkeypatch.undo()
    assert len(ingest([str(tmp_path)], settings).added) == 600
    assert_consistent(settings)


def test_a_store_that_lost_chunks_is_refused_not_written_over(
        settings: Settings, corpus_dir: Path, caplog: pytest.LogCaptureFixture) -> None:
    import shutil

    ingest([str(corpus_dir)], settings)
    index = open_index(settings)
    record = index.catalog.list_articles()[0]
    index.store.delete([f"{record.version}:0"])  # as if Chroma lost data behind our back
    path = next(corpus_dir.iterdir())
    path.write_text(path.read_text().replace("power plants", "nuclear power plants"))
    with pytest.raises(StoreError, match=r"holds \d+ chunks but the catalog in .* lists \d+"):
        ingest([str(corpus_dir)], settings)
    assert open_index(settings).catalog.get(record.article.id).version == (  # type: ignore[union-attr]
        record.version)
    # A reader with a whole (if stale) snapshot keeps it, and says so; without one, an error.
    index.catalog.set_meta("generation", str(index.catalog.generation() + 1))
    reader = open_index(settings, embedder=FakeEmbedder())
    assert set(reader.lexical.current().chunk_ids) == {
        f"{record.version}:{i}" for i in range(record.n_chunks)}
    assert "searching the last complete index" in caplog.text
    shutil.rmtree(settings.resolved_data_dir() / "lexical")
    with pytest.raises(StoreError, match=r"holds \d+ of the \d+ chunks the catalog lists"):
        open_index(settings).lexical.current()


def test_a_full_disk_while_saving_the_snapshot_leaves_the_old_one_whole(
        settings: Settings, corpus_dir: Path, monkeypatch: pytest.MonkeyPatch,
        caplog: pytest.LogCaptureFixture) -> None:
    import errno

    ingest([str(corpus_dir)], settings)
    lexical = settings.resolved_data_dir() / "lexical"
    before = sorted(p.name for p in lexical.iterdir())

    def full(folder: Path, snap: object) -> None:
        folder.mkdir(parents=True)
        (folder / "docs.json").write_text("{")  # a partial write, then no space
        raise OSError(errno.ENOSPC, "No space left on device", str(folder / "vectors.npy"))

    monkeypatch.setattr("ingest.lexical.write_snapshot", full)
    path = next(corpus_dir.iterdir())
    path.write_text(path.read_text().replace("power plants", "nuclear power plants"))
    with pytest.raises(StoreError, match=r"cannot save the search index .*: disk full"):
        ingest([str(corpus_dir)], settings)
    assert sorted(p.name for p in lexical.iterdir()) == before  # no partial folder left
    # The article itself was stored: a reader searches it, rebuilt in memory, with a warning.
    services = build_services(settings, open_index(settings, embedder=FakeEmbedder()))
    hits = retrieve("nuclear power plants", services, SearchOptions(k=3))
    assert any("nuclear power plants" in h.text for h in hits)
    assert "cannot save the search index" in caplog.text
    assert_consistent(settings)


def test_a_full_disk_at_the_catalog_commit_rolls_back_and_recovers(
        settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sqlite3

    from ingest.catalog import Catalog

    records = [{"id": f"a{i}", "title": f"A{i}", "text": BODY + f" Item {i}."} for i in range(5)]
    (tmp_path / "a.jsonl").write_text("\n".join(json.dumps(r) for r in records))
    connections: list[Any] = []

    class FullDisk:
        """A connection whose commits of article rows fail as SQLite does on a full disk."""

        def __init__(self, conn: sqlite3.Connection) -> None:
            self.conn, self.articles = conn, False
            connections.append(conn)

        def execute(self, sql: str, *args: Any) -> Any:
            self.articles |= sql.startswith("INSERT OR REPLACE INTO articles")
            if sql == "COMMIT" and self.articles:
                self.articles = False
                raise sqlite3.OperationalError("database or disk is full")
            return self.conn.execute(sql, *args)

        def __getattr__(self, name: str) -> Any:
            return getattr(self.conn, name)

    connect = Catalog._connect
    monkeypatch.setattr(Catalog, "_connect", lambda self: FullDisk(connect(self)))
    with pytest.raises(StoreError, match=r"article catalog .*: disk full"):
        ingest([str(tmp_path)], settings)
    assert connections and not any(c.in_transaction for c in connections)  # rolled back
    monkeypatch.undo()
    index = open_index(settings)
    assert index.catalog.stats()["articles"] == 0 and index.catalog.leftover_chunk_sets()
    assert len(ingest([str(tmp_path)], settings).added) == 5
    assert_consistent(settings)
