"""Ingest while serving, on embedded Chroma: the UI keeps answering questions while another
process runs `newsrag ingest`, a third `newsrag ingest` is turned away as "store busy", and
the long-running UI then finds the new articles without a restart.

Embedded Chroma loads its vector index once per process and does not see later writes by
other processes (ingest/store.py reopens it when the store's write token changes): without
that, the UI misses the new chunks and fails to fetch their vectors."""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ingest.store import ChromaStore
from newsrag.settings import StoreSettings
from rag.search import SearchOptions, retrieve
from tests import reliability
from tests.clirunner import NEWSRAG, run_cli
from tests.conftest import REPO, rtqa_records
from tests.fakes import FakeEmbedder
from tests.test_pipeline import assert_consistent
from tests.uiserver import ui_server

if TYPE_CHECKING:
    from rag.services import Services

pytestmark = pytest.mark.slow

FAKE = {"NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"}
# The same vectors (same embedder name), 5 ms per chunk: the second batch takes seconds.
SLOW_FAKE = {"NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:SlowFakeEmbedder"}


def articles(count: int, skip: int = 0) -> list[dict[str, Any]]:
    """Real news articles with distinct non-empty titles, from the RealTime QA corpus."""
    seen: set[str] = set()
    unique = []
    for record in rtqa_records(skip + count * 2):
        if record["title"].strip() and record["title"] not in seen:
            seen.add(record["title"])
            unique.append(record)
    assert len(unique) >= skip + count
    return unique[skip:skip + count]


def write_feed(path: Path, records: Sequence[dict[str, Any]]) -> Path:
    path.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
    return path


def found(services: Services, record: dict[str, Any]) -> bool:
    return record["doc_id"] in {h.article_id for h in retrieve(record["title"], services, SearchOptions(k=10))}


@dataclass
class Reader:
    """Asks the UI's /ask API in a loop from a thread, as a user would, until stopped."""

    url: str
    questions: list[dict[str, Any]]  # articles that must be found on every ask
    asked: int = 0
    errors: list[str] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        from gradio_client import Client

        client = Client(self.url, verbose=False)
        while not self.stop.is_set():
            record = self.questions[self.asked % len(self.questions)]
            started = time.perf_counter()
            try:
                answer = client.predict(record["title"], None, api_name="/ask")
            except Exception as exc:  # any failure is what this test looks for
                self.errors.append(f"{type(exc).__name__}: {exc}")
            else:
                self.latencies.append(time.perf_counter() - started)
                if record["doc_id"] not in {s["article_id"] for s in answer["sources"]}:
                    self.misses.append(record["title"])
            self.asked += 1


def ask(url: str, question: str) -> set[str]:
    from gradio_client import Client

    answer = Client(url, verbose=False).predict(question, None, api_name="/ask")
    return {s["article_id"] for s in answer["sources"]}


@pytest.fixture
def ui(tmp_path: Path) -> Iterator[tuple[str, Services]]:
    with ui_server(tmp_path, FAKE) as served:
        yield served


def test_the_ui_keeps_answering_while_another_process_ingests(
        tmp_path: Path, ui: tuple[str, Services]) -> None:
    url, services = ui
    data = services.settings.resolved_data_dir()
    first, second, refused = articles(20), articles(60, skip=20), articles(5, skip=80)
    done = run_cli("ingest", "-q", str(write_feed(tmp_path / "first.jsonl", first)),
                   data_dir=data, env=FAKE)
    assert done.returncode == 0 and done.stdout.startswith("added 20,"), done.stderr
    # The UI loads the store now, before the second batch exists.
    assert first[0]["doc_id"] in ask(url, first[0]["title"])

    reader = Reader(url, first)
    thread = threading.Thread(target=reader.run, daemon=True)
    thread.start()
    writer = _start_ingest(write_feed(tmp_path / "second.jsonl", second), data)
    try:
        _wait_for_lock(data, writer)
        asked_before = reader.asked
        busy = run_cli("ingest", "-q", str(write_feed(tmp_path / "refused.jsonl", refused)),
                       data_dir=data, env=FAKE, timeout=120)
        assert writer.poll() is None, "the first ingest ended too soon to overlap; tune sizes"
        out, err = writer.communicate(timeout=240)
    finally:
        writer.kill()
        reader.stop.set()
        thread.join(timeout=120)
    assert busy.returncode == 1 and busy.stdout == ""
    assert busy.stderr.startswith("newsrag: error: store busy:"), busy.stderr
    assert f"newsrag pid {writer.pid}" in busy.stderr
    assert writer.returncode == 0 and out.startswith("added 60,"), err

    assert reader.errors == []
    assert reader.misses == []
    assert reader.asked - asked_before >= 3, "the UI should answer while the ingest runs"

    # The UI, not restarted, answers from the new batch: through its API and directly.
    for record in second[::10]:
        assert record["doc_id"] in ask(url, record["title"]), record["title"]
    assert [r["title"] for r in first + second if not found(services, r)] == []
    catalog = services.index.catalog
    assert {r.article.id for r in catalog.list_articles()} == {
        r["doc_id"] for r in first + second}  # nothing of the refused ingest
    assert catalog.stats()["chunks"] == services.index.store.count()
    assert_consistent(services.settings)
    latencies = sorted(reader.latencies)
    reliability.record("ingest while serving", articles=len(first + second), lost=0,
                       busy_refused=len(refused), asked=reader.asked,
                       asked_during_ingest=reader.asked - asked_before, errors=0, misses=0,
                       p95_s=round(latencies[max(0, int(0.95 * len(latencies)) - 1)], 2))


def test_a_long_lived_store_sees_another_processes_writes(tmp_path: Path) -> None:
    data = tmp_path / "data"
    first, second = articles(2), articles(2, skip=2)
    assert run_cli("ingest", str(write_feed(tmp_path / "a.jsonl", first)), data_dir=data,
                   env=FAKE).returncode == 0
    store = ChromaStore(StoreSettings(), data)
    before = store.count()
    embedder = FakeEmbedder()
    query = embedder.embed_query(second[0]["title"])
    assert before > 0 and store.nearest(query, 1)  # loaded in this process

    assert run_cli("ingest", str(write_feed(tmp_path / "b.jsonl", second)), data_dir=data,
                   env=FAKE).returncode == 0
    after = {c.id: c for c in store.scan()}
    assert len(after) == store.count() > before
    new = [c for c in after.values() if c.article_id == second[0]["doc_id"]]
    fetched = store.fetch([c.id for c in new])  # vectors of chunks this process never saw
    assert sorted(c.id for c, _ in fetched) == sorted(c.id for c in new)
    (chunk, vector), *_ = fetched
    assert store.nearest(vector, 1)[0][0] == chunk.id
    assert len(store.nearest(query, len(after))) == len(after)


def _start_ingest(feed: Path, data: Path) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    env.update({"NEWSRAG_DATA_DIR": str(data), "PYTHONPATH": str(REPO), **SLOW_FAKE})
    return subprocess.Popen(
        [str(NEWSRAG), "--config", str(REPO / "config.toml"), "ingest", "-q", str(feed)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
        text=True, cwd=REPO)


def _wait_for_lock(data: Path, writer: subprocess.Popen[str], timeout: float = 120) -> None:
    """Until `writer` holds the data dir's write lock (it writes its pid into the lock file)."""
    lock = data / "write.lock"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert writer.poll() is None, writer.communicate()
        if lock.exists() and lock.read_text().strip() == f"newsrag pid {writer.pid}":
            return
        time.sleep(0.05)
    raise AssertionError("the ingest never took the write lock")
