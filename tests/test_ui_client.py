"""The UI's `/ask` API through gradio_client, on the real embedder, over loopback only."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

from tests.conftest import SAMPLE, SEED_TEXT
from tests.uiserver import ui_server

if TYPE_CHECKING:
    from gradio_client import Client

    from rag.services import Services

pytestmark = pytest.mark.slow

QUESTION = "What will Trump and Putin discuss?"


@pytest.fixture(scope="module")
def server(offline_env: None, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[str, Services]]:
    from ingest.pipeline import ingest

    with ui_server(tmp_path_factory.mktemp("ui")) as (url, services):
        report = ingest([str(SAMPLE)], services.settings, services.index)
        assert len(report.added) == 1
        yield url, services


@pytest.fixture(scope="module")
def client(server: tuple[str, Services]) -> Client:
    from gradio_client import Client

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    return Client(server[0], verbose=False)


@pytest.fixture(scope="module")
def first(client: Client) -> dict[str, Any]:
    result = client.predict(QUESTION, None, api_name="/ask")
    assert isinstance(result, dict)
    return result


def test_ask_returns_a_cited_answer(first: dict[str, Any], server: tuple[str, Services]) -> None:
    assert first["refused"] is False
    assert first["question"] == QUESTION
    assert "[1]" in first["answer"]
    assert first["citations"], first
    catalog = server[1].index.catalog
    for citation in first["citations"]:
        assert citation["text"] in SEED_TEXT
        record = catalog.get(citation["article_id"])
        assert record is not None
        assert record.article.text[citation["char_start"]:citation["char_end"]] == citation["text"]
    assert any("land" in c["text"] or "power plants" in c["text"] for c in first["citations"])


def test_ask_with_history_answers_a_follow_up(client: Client, first: dict[str, Any]) -> None:
    result = client.predict("When?", [[QUESTION, first["answer"]]], api_name="/ask")
    assert result["refused"] is False, result
    assert result["citations"]
    assert all(c["text"] in SEED_TEXT for c in result["citations"])
    assert result["standalone_question"] != "When?"  # rewritten from the history
