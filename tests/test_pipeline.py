import json
from pathlib import Path

import pytest

from ingest.index import open_index, write_lock
from ingest.pipeline import ingest
from newsrag.errors import StoreBusyError, StoreError
from newsrag.settings import Settings
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
    from rag.search import retrieve

    ingest([str(corpus_dir)], settings)
    index = open_index(settings)
    record = index.catalog.list_articles()[0]
    # A leftover chunk of an older version (as after a crash) must not be returned.
    index.store.add(["old-version:0"], [index.embedder.embed_query("land and power plants")],
                    ["land and power plants"],
                    [{"article_id": record.article.id, "version": "old-version", "index": 0,
                      "start": 0, "end": 5, "sentences": "[[0, 5]]"}])
    hits = retrieve("land and power plants", build_services(settings, index), k=3)
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
