"""Bad configuration and bad state through the real `newsrag` command: each is one clear line
on stderr with a non-zero exit, and the articles already stored stay exactly as they were.

Decisions this suite pins down: damaged snapshot files are rebuilt silently (derived data); a
data dir that lost its catalog or its vector store is refused, by every command, with the
remedy (never served as empty or half); a data dir that does not exist is an empty store; a
disk that fills during ingest fails that ingest with "disk full", and the articles stored
before stay listed and searchable.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from ingest.pipeline import ingest
from newsrag.settings import Settings, load_settings
from tests.clirunner import NEWSRAG
from tests.conftest import REPO, rtqa_records
from tests.full_disk import digest
from tests.reliability import Figures
from tests.test_pipeline import assert_consistent_view, full_state

pytestmark = pytest.mark.slow
FAKE = {"NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"}
# Recorded only when the whole module ran (a -k selection would under-count).
TALLY = Figures("bad config and state", complete=lambda tally: tally["cases"] >= 30)
TALLY.update(cases=0, one_line_errors=0, rebuilt_silently=0, lost=0)
Cli = Callable[..., subprocess.CompletedProcess[str]]


def cli(*args: str, data: Path, config: Path | None = REPO / "config.toml",
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`newsrag [--config CONFIG] ARGS` on `data`, with the fake embedder unless told."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("NEWSRAG_")}
    environment.update({"NEWSRAG_DATA_DIR": str(data), "PYTHONPATH": str(REPO), **FAKE,
                        **(env or {})})
    head = [str(NEWSRAG), *(["--config", str(config)] if config else [])]
    return subprocess.run([*head, *args], capture_output=True, text=True, env=environment,
                          cwd=REPO, timeout=120, stdin=subprocess.DEVNULL)


def one_line_error(result: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The single `newsrag: error:` line of a failed command, checked to name the problem."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 1 and len(lines) == 1, (result.returncode, result.stderr)
    assert lines[0].startswith("newsrag: error: ") and "Traceback" not in result.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    TALLY["cases"] += 1
    TALLY["one_line_errors"] += 1
    return lines[0]


def _settings(data: Path) -> Settings:
    return load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(data), **FAKE})


def _bytes_digest(data: Path) -> str:
    """What a failed command must not have rewritten (locks, caches and SQLite's empty
    write-ahead log and shared memory files, which opening and closing come and go)."""
    files = sorted(p for p in data.rglob("*") if p.is_file() and "cache" not in p.parts
                   and not p.name.endswith((".lock", "-shm", "-wal")))
    hashed = hashlib.sha256()
    for path in files:
        hashed.update(str(path.relative_to(data)).encode() + path.read_bytes())
    return hashed.hexdigest()


class Store:
    """A small ingested store, its state and the corpus it came from."""

    def __init__(self, root: Path) -> None:
        records = rtqa_records(5)
        self.corpus = root / "corpus.jsonl"
        self.corpus.write_text("\n".join(json.dumps(r) for r in records), encoding="utf-8")
        self.more = root / "more.jsonl"
        self.more.write_text(json.dumps(rtqa_records(6)[5]), encoding="utf-8")
        self.ids = sorted(str(r["doc_id"]) for r in records)
        self.titles = [str(r["title"]) for r in records]
        self.data = root / "base"
        done = cli("ingest", "-q", str(self.corpus), data=self.data)
        assert done.returncode == 0, done.stderr
        self.state = full_state(_settings(self.data))

    def copy(self, target: Path) -> Path:
        shutil.copytree(self.data, target)
        return target

    def assert_intact(self, data: Path) -> None:
        """Nothing lost or rewritten: same articles, chunks and vectors, and searchable."""
        assert full_state(_settings(data)) == self.state
        assert assert_consistent_view(_settings(data), self.titles[:2]) == 0


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return Store(tmp_path_factory.mktemp("bad-state"))


def _config_cases(tmp: Path, store: Store) -> Iterator[tuple[tuple[str, ...], dict[str, Any],
                                                             tuple[str, ...]]]:
    """(command, cli keywords, what the error line must say), each on a command that would
    write or delete had the configuration been accepted."""
    def config(name: str, text: str | bytes) -> Path:
        path = tmp / name
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        return path

    ingest, delete = ("ingest", "-q", str(store.more)), ("delete", store.ids[0])
    yield ingest, {"config": config("top.toml", "bogus = 1\n")}, ("unknown key 'bogus'", "top.toml")
    yield delete, {"config": config("section.toml", "[retrival]\nk = 3\n")}, (
        "unknown key 'retrival'",)
    yield ingest, {"config": config("key.toml", "[store]\nbogus = 1\n")}, (
        "unknown key 'store.bogus'",)
    yield delete, {"config": config("nested.toml", "[generation.llama_cpp]\nbogus = 1\n")}, (
        "unknown key 'generation.llama_cpp.bogus'",)
    yield ingest, {"env": {"NEWSRAG_STORE__BOGUS": "1"}}, (
        "unknown key 'store.bogus' (from NEWSRAG_STORE__BOGUS)",)
    yield delete, {"env": {"NEWSRAG_BOGUS": "1"}}, ("unknown key 'bogus' (from NEWSRAG_BOGUS)",)
    yield ingest, {"config": config("type.toml", '[retrieval]\nk = "ten"\n')}, (
        "bad value for 'retrieval.k'", "valid integer")
    yield delete, {"config": config("scalar.toml", "store = 3\n")}, ("bad value for 'store'",)
    yield ingest, {"config": config("range.toml", "[chunking]\nchunk_tokens = 4\n")}, (
        "bad value for 'chunking.chunk_tokens'",)
    yield ingest, {"env": {"NEWSRAG_STORE__ADD_BATCH_SIZE": "many"}}, (
        "bad value for 'store.add_batch_size'", "(from NEWSRAG_STORE__ADD_BATCH_SIZE)")
    yield delete, {"env": {"NEWSRAG_UI__USERS": '["alice:secret"'}}, (
        "NEWSRAG_UI__USERS is not valid JSON",)
    yield ingest, {"config": config("syntax.toml", "[retrieval\n")}, ("cannot read",)
    yield delete, {"config": config("binary.toml", b"\xff\xfe\x00garbage")}, (
        "cannot read", "binary.toml")
    yield ingest, {"config": tmp / "missing.toml"}, ("config file not found", "missing.toml")
    yield delete, {"config": None, "env": {"NEWSRAG_CONFIG": str(tmp / "gone.toml")}}, (
        "config file not found", "gone.toml")
    yield ingest, {"config": tmp}, ("config file is a directory",)


def test_bad_configuration_is_one_line_and_touches_nothing(store: Store, tmp_path: Path
                                                          ) -> None:
    data = store.copy(tmp_path / "data")
    before = _bytes_digest(data)
    cases = list(_config_cases(tmp_path, store))
    with ThreadPoolExecutor(2) as pool:  # independent, and each a second of start-up
        results = list(pool.map(lambda c: cli(*c[0], data=data, **c[1]), cases))
    for (command, _, needles), result in zip(cases, results, strict=True):
        line = one_line_error(result, "invalid configuration" if "key" in needles[0] or
                              "value" in needles[0] else "", *needles)
        assert "secret" not in line, "a rejected value may be a secret: never echo it"
        assert command[0] in ("ingest", "delete")
    assert _bytes_digest(data) == before
    store.assert_intact(data)


def _moved(path: Path) -> Path:
    aside = path.with_name(path.name + ".aside")
    path.rename(aside)
    return aside


def test_a_data_dir_missing_a_half_is_refused_and_nothing_is_recreated(
        store: Store, tmp_path: Path) -> None:
    data = store.copy(tmp_path / "data")
    chroma = _moved(data / "chroma")
    catalog_bytes = (data / "catalog.sqlite3").read_bytes()
    for command in (("list",), ("search", store.titles[0]), ("ingest", "-q", str(store.more)),
                    ("delete", store.ids[0])):
        one_line_error(cli(*command, data=data), "vector store", "is missing",
                       "lists 5 articles", "restore the data dir")
    assert not (data / "chroma").exists() and (data / "catalog.sqlite3").read_bytes() == (
        catalog_bytes)
    chroma.rename(data / "chroma")

    catalog = _moved(data / "catalog.sqlite3")
    for command in (("list",), ("ask", "What happened?"), ("ingest", "-q", str(store.more))):
        one_line_error(cli(*command, data=data), "article catalog", "is missing",
                       "restore the data dir")
    assert not (data / "catalog.sqlite3").exists()
    catalog.rename(data / "catalog.sqlite3")
    store.assert_intact(data)


def test_a_data_dir_that_does_not_exist_is_an_empty_store(store: Store, tmp_path: Path
                                                          ) -> None:
    listed = cli("list", data=tmp_path / "never")
    searched = cli("search", store.titles[0], data=tmp_path / "never")
    assert (listed.returncode, listed.stdout.strip(), listed.stderr) == (0, "0 articles", "")
    assert searched.returncode == 0 and "no results" in searched.stdout and not searched.stderr
    TALLY["cases"] += 1


@pytest.mark.parametrize("damage", ["chroma", "catalog", "catalog-truncated"])
def test_a_corrupt_store_is_refused_and_restoring_it_loses_nothing(
        store: Store, tmp_path: Path, damage: str) -> None:
    data = store.copy(tmp_path / "data")
    target = data / ("chroma/chroma.sqlite3" if damage == "chroma" else "catalog.sqlite3")
    original = target.read_bytes()
    target.write_bytes(original[:len(original) // 3] if damage.endswith("truncated")
                       else os.urandom(4096))
    if damage == "chroma":
        # The catalog and the snapshot are whole: listing and searching still answer right,
        # but nothing that writes may start on a store it cannot read.
        assert cli("search", store.titles[0], "--json", data=data).returncode == 0
        needles: tuple[str, ...] = ("cannot open the Chroma store", "file is not a database")
    else:
        one_line_error(cli("list", data=data), "article catalog", "catalog.sqlite3")
        needles = ("article catalog", "unreadable")
    one_line_error(cli("ingest", "-q", str(store.more), data=data), *needles)
    one_line_error(cli("delete", store.ids[0], data=data), *needles)
    target.write_bytes(original)
    store.assert_intact(data)


def test_a_damaged_snapshot_is_rebuilt_silently(store: Store, tmp_path: Path) -> None:
    expected = cli("search", store.titles[1], "--json", data=store.copy(tmp_path / "intact"))
    damages: list[Callable[[Path], object]] = [
        lambda folder: (folder / "vectors.npy").write_bytes(os.urandom(64)),
        lambda folder: (folder / "docs.json").write_text('{"chunk_ids": [', encoding="utf-8"),
        lambda folder: np.save(folder / "first_chunk.npy", np.arange(3)),  # parses, wrong
        lambda folder: (folder.parent / "CURRENT").write_text("garbage", encoding="utf-8"),
        lambda folder: shutil.rmtree(folder),
    ]
    copies = [store.copy(tmp_path / f"damaged-{i}") for i in range(len(damages))]
    for data, damage in zip(copies, damages, strict=True):
        damage(data / "lexical" / (data / "lexical" / "CURRENT").read_text().strip())
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda d: cli("search", store.titles[1], "--json", data=d),
                                copies))
    for result in results:
        assert (result.returncode, result.stderr) == (0, ""), result.stderr
        assert json.loads(result.stdout) == json.loads(expected.stdout)
        TALLY["cases"] += 1
        TALLY["rebuilt_silently"] += 1
    store.assert_intact(copies[0])  # ...and the rebuilt snapshot was saved whole


def test_missing_or_bad_model_files_are_one_line(store: Store, tmp_path: Path) -> None:
    data = store.copy(tmp_path / "data")
    before = _bytes_digest(data)
    not_gguf, bad_gguf = tmp_path / "notes.gguf", tmp_path / "broken.gguf"
    not_gguf.write_text("this is not a model", encoding="utf-8")
    bad_gguf.write_bytes(b"GGUF\x03\x00\x00\x00" + os.urandom(4096))
    # A question the store answers: a declined one never needs the model.
    asked = "Which wildly popular show did Netflix green light for a second season?"
    llama = ("ask", asked, "--generator", "llama-cpp")
    path_env = "NEWSRAG_GENERATION__LLAMA_CPP__MODEL_PATH"
    generator_config = tmp_path / "llama.toml"
    generator_config.write_text(f'[generation]\ngenerator = "llama-cpp"\n[generation.llama_cpp]\n'
                                f'model_path = "{tmp_path / "nowhere.gguf"}"\n', encoding="utf-8")
    cases: list[tuple[tuple[str, ...], dict[str, Any], tuple[str, ...]]] = [
        (llama, {"env": {path_env: str(tmp_path / "missing.gguf")}},
         ("cannot read model file", "missing.gguf", "No such file")),
        (("ask", asked), {"config": generator_config},
         ("cannot read model file", "nowhere.gguf")),
        (llama, {"env": {path_env: str(not_gguf)}}, ("notes.gguf is not a GGUF model file",)),
        (llama, {"env": {path_env: str(bad_gguf)}}, ("llama.cpp cannot load", "broken.gguf")),
        (("search", "budget"), {"env": {"NEWSRAG_EMBEDDING__BACKEND": "onnx",
                                        "NEWSRAG_EMBEDDING__MODEL": str(tmp_path / "no-model")}},
         ("no embedding model at", "no-model")),
        (("search", "budget"), {"env": {"NEWSRAG_EMBEDDING__BACKEND": "sentence-transformers",
                                        "NEWSRAG_EMBEDDING__MODEL": str(tmp_path / "no-model")}},
         ("no sentence-transformers model at", "no-model")),
    ]
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda c: cli(*c[0], data=data, **c[1]), cases))
    for (_, _, needles), result in zip(cases, results, strict=True):
        one_line_error(result, *needles)
    assert _bytes_digest(data) == before
    store.assert_intact(data)


def _unshare_works() -> bool:
    if not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"],
                           capture_output=True, timeout=30)
    return probe.returncode == 0


def test_a_full_disk_fails_the_ingest_in_one_line_and_keeps_what_was_stored(
        store: Store, tmp_path: Path) -> None:
    if not _unshare_works():
        pytest.skip("needs `unshare --user --map-root-user --mount` to mount a small tmpfs")
    records = rtqa_records(55)
    small, big = tmp_path / "small.jsonl", tmp_path / "big.jsonl"
    small.write_text("\n".join(json.dumps(r) for r in records[:4]), encoding="utf-8")
    big.write_text("\n".join(json.dumps(r) for r in records[10:55]), encoding="utf-8")
    reference = _settings(tmp_path / "reference")
    for corpus in (small, big):  # the same two ingests on a disk with room
        ingest([str(corpus)], reference)
    scenario = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", sys.executable, "-m",
         "tests.full_disk", str(tmp_path / "work"), str(small), str(big), "3"],
        capture_output=True, text=True, timeout=300, cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)})
    assert scenario.returncode == 0, scenario.stderr[-3000:]
    report = json.loads(scenario.stdout)
    assert report["first"]["code"] == 0, report["first"]["stderr"]
    line = one_line_error(subprocess.CompletedProcess([], report["full"]["code"], "",
                                                      report["full"]["stderr"]), "disk full")
    assert "Chroma store" in line or "catalog" in line or "search index" in line, line
    listed = {a["id"] for a in json.loads(report["list"]["stdout"])}
    assert {str(r["doc_id"]) for r in records[:4]} <= listed
    assert report["search"]["code"] == 0 and len(report["search"]["stderr"].splitlines()) <= 1
    assert records[0]["doc_id"] in {h["article_id"] for h in json.loads(report["search"]["stdout"])}
    assert report["first_kept"] is True  # the first corpus' articles, chunks and vectors
    assert report["rerun"]["code"] == 0, report["rerun"]["stderr"]
    assert report["final"] == digest(full_state(reference))
    TALLY["full_disk_orphans_recovered"] = report["orphans"]
