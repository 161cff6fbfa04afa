"""`evaluate` through the Python API: real Chroma and pipeline, the fake embedder, and chains of
every accepted kind (Assistant, LangChain runnable, callable); a rule-based judge at our
boundary (the real judges have their own tests)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.dataset import Dataset
from eval.models import EvalCase
from eval.runner import evaluate
from newsrag.errors import EvalError
from rag.answering import Assistant
from rag.chain import build_chain
from rag.services import Services
from tests.test_chain import ingest_articles
from tests.test_eval_metrics import WordJudge

DATASET = Dataset("mini", (
    EvalCase(id="budget", question="When did the council approve the budget?",
             reference_answers=("Monday",), gold_article_ids=("budget",)),
    EvalCase(id="follow", question="And the bridge?", reference_answers=("Thursday",),
             gold_article_ids=("bridge",),
             chat_history=(("When did the harbour bridge reopen?", "On Thursday."),)),
    EvalCase(id="off", question="Who won the cricket world cup?", answerable=False),
))


@pytest.fixture(scope="module")
def services(tmp_path_factory: pytest.TempPathFactory) -> Services:
    return ingest_articles(tmp_path_factory.mktemp("runner"), NEWSRAG_EVAL__BOOTSTRAP_SAMPLES="200")


def test_default_chain_and_report(services: Services) -> None:
    progress: list[tuple[str, int, int]] = []
    report = evaluate(DATASET, judge=WordJudge(), services=services,
                      on_progress=lambda *step: progress.append(step))
    assert report.judge == "word-judge" and report.system == "extractive"
    assert report.dataset == "mini" and len(report.cases) == 3
    assert ("answering", 3, 3) in progress and progress[-1][0] == "judging"
    by_id = {c.case.id: c for c in report.cases}
    assert by_id["budget"].metrics["hit_at_1"] == 1.0
    assert by_id["budget"].metrics["contains_reference"] == 1.0
    assert by_id["off"].metrics["correct_refusal"] is not None
    # Quoted sentences are source sentences: the word judge finds every claim in the context.
    assert report.metric("faithfulness").value == 1.0
    assert report.metric("latency_s").n == 3
    assert report.settings["eval"]["bootstrap_samples"] == 200
    assert set(report.settings) >= {"retrieval", "ask", "generation", "eval"}


def test_chain_kinds_give_the_same_answers(services: Services) -> None:
    assistant = Assistant(services)
    seen: list[Any] = []

    def plain(question: str, history: list[tuple[str, str]]) -> Any:
        seen.append(history)
        return assistant.answer(question, history)

    reports = [evaluate(DATASET, chain, WordJudge(), services=services)
               for chain in (assistant, build_chain(assistant), plain)]
    answers = [[c.answer.answer for c in r.cases] for r in reports]
    assert answers[0] == answers[1] == answers[2]
    assert seen[1] == [("When did the harbour bridge reopen?", "On Thursday.")]
    follow = next(c for c in reports[1].cases if c.case.id == "follow")
    # Rewritten from its history ("And the bridge? (about: harbour, reopen)"), it is answered.
    assert follow.metrics["contains_reference"] == 1.0 and follow.metrics["hit_at_5"] == 1.0


def test_a_question_date_is_when_the_question_was_asked(services: Services) -> None:
    # The bridge story (2025-03-20) did not exist yet on 2025-03-05: only the budget remains.
    dated = Dataset("dated", (
        EvalCase(id="early", question="When did the harbour bridge reopen?",
                 question_date="2025-03-05"),
        EvalCase(id="late", question="When did the harbour bridge reopen?",
                 question_date="2025-03-25"),
    ))
    for chain in (None, Assistant(services)):
        report = evaluate(dated, chain, WordJudge(), services=services)
        early, late = ({e.article_id for e in c.answer.contexts} for c in report.cases)
        assert early == {"budget"} and "bridge" in late


def test_precomputed_answers_and_errors(services: Services, tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(json.dumps(row) for row in [
        {"id": "budget", "question": "x", "answer": "The budget passed on Monday [1].",
         "contexts": [{"text": "The city council approved the budget on Monday.",
                       "article_id": "budget"}], "system": "other-rag"},
        {"question": "And the bridge?", "answer": "No idea.", "contexts": []},
        {"question": "Who won the cricket world cup?", "answer": "I cannot answer that.",
         "contexts": []}]))
    report = evaluate(DATASET, judge=WordJudge(), answers=answers, services=services)
    assert report.system == "other-rag"
    by_id = {c.case.id: c.metrics for c in report.cases}
    assert by_id["budget"]["citation_recall"] == 0.0  # "passed" is not in the source
    assert by_id["off"]["correct_refusal"] == 1.0
    with pytest.raises(EvalError, match="returned str, not an Answer"):
        evaluate(DATASET, lambda q, h: "text", WordJudge(), services=services)
