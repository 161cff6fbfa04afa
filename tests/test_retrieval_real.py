"""Hybrid retrieval with the real model, real Chroma and real bm25s on real dev questions.

The questions are not picked by outcome: they are the first QUESTIONS of
realtimeqa-dev/questions_with_gold_doc.jsonl in file order, and the corpus is their gold
articles plus every dev article RealTime QA's web search retrieved for any of them: hard
distractors on the same stories (N_ARTICLES articles).
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from ingest.index import open_index
from ingest.pipeline import ingest
from newsrag.settings import load_settings
from rag.search import SearchOptions, search
from rag.services import Services, build_services
from tests.conftest import REPO, SHARED_DATA

QUESTIONS = 5
N_ARTICLES = 43
DEV = SHARED_DATA / "realtimeqa-dev"


def load(name: str) -> list[dict[str, Any]]:
    with (DEV / name).open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


@pytest.fixture(scope="module")
def dev() -> tuple[list[dict[str, Any]], Services]:
    questions = load("questions_with_gold_doc.jsonl")[:QUESTIONS]
    wanted = {q["question_id"] for q in questions}
    golds = {g for q in questions for g in q["gold_doc_ids"]}
    articles = [a for a in load("corpus.jsonl")
                if a["doc_id"] in golds or wanted & set(a["retrieved_for"])]
    return questions, _index(articles)


def _index(articles: list[dict[str, Any]]) -> Services:
    import tempfile

    folder = Path(tempfile.mkdtemp(prefix="newsrag-dev-"))
    feed = folder / "dev.jsonl"
    feed.write_text("\n".join(json.dumps(a) for a in articles), encoding="utf-8")
    settings = load_settings(REPO / "config.toml", env={"NEWSRAG_DATA_DIR": str(folder / "data")})
    index = open_index(settings)
    report = ingest([str(feed)], settings, index)
    assert len(report.added) == len(articles) == N_ARTICLES
    return build_services(settings, index)


def asked_on(question: dict[str, Any]) -> date:
    return datetime.strptime(question["question_date"], "%Y/%m/%d").date()


@pytest.mark.parametrize("position", range(QUESTIONS))
def test_the_gold_article_is_in_the_top_5(dev: tuple[list[dict[str, Any]], Services],
                                           position: int) -> None:
    """Asked on its quiz date, as a user would have asked it (the default settings)."""
    questions, services = dev
    question = questions[position]
    result = search(question["question"], services, SearchOptions(k=10, reference=asked_on(question)))
    assert set(question["gold_doc_ids"]) & set(result.articles[:5]), question["question"]
    assert {h.article_id for h in result.hits} & set(question["gold_doc_ids"])


def test_without_its_date_most_questions_still_find_the_gold_article(
        dev: tuple[list[dict[str, Any]], Services]) -> None:
    questions, services = dev
    found = [bool(set(q["gold_doc_ids"]) & set(search(q["question"], services).articles[:5]))
             for q in questions]
    assert sum(found) >= QUESTIONS - 1, found


def test_the_question_date_keeps_later_articles_out(
        dev: tuple[list[dict[str, Any]], Services]) -> None:
    questions, services = dev
    question = questions[0]
    asked = asked_on(question)
    hits = search(question["question"], services, SearchOptions(k=10, reference=asked)).hits
    assert hits and all(h.published is None or h.published[:10] <= asked.isoformat()
                        for h in hits)
    undated = search(question["question"], services, SearchOptions(k=30)).hits
    assert any(h.published and h.published[:10] > asked.isoformat() for h in undated)
