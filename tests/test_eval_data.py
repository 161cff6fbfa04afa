"""Eval inputs: our JSONL datasets, the RealTime QA layout, precomputed answers, gates."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.answers import load_answers
from eval.dataset import load_dataset
from eval.metrics import summarize
from eval.models import Report
from eval.report import missed_gates, parse_gates
from newsrag.errors import ConfigError, EvalError
from rag.models import ShortAnswer
from tests.conftest import REPO, SHARED_DATA

RTQA = SHARED_DATA / "realtimeqa-dev"


def write_jsonl(path: Path, rows: list[Any]) -> Path:
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_our_format(tmp_path: Path) -> None:
    path = write_jsonl(tmp_path / "cases.jsonl", [
        {"question": "Who?", "reference_answers": ["Ann"], "gold_article_ids": ["x"]},
        "",
        {"id": "f", "question": "And then?", "answerable": False,
         "chat_history": [["Who?", "Ann did."]]},
    ])
    dataset = load_dataset(path)
    first, second = dataset.cases
    assert first.id == "cases-1" and first.answerable and first.reference_answers == ("Ann",)
    assert second.chat_history == (("Who?", "Ann did."),) and not second.answerable


@pytest.mark.parametrize(("rows", "message"), [
    (["{not json"], "cases.jsonl:1: not JSON"),
    ([{"question": "q", "answerable": "perhaps"}], "cases.jsonl:1: answerable"),
    ([{"question": "q", "notes": "x"}], "notes"),
    ([{"id": "a", "question": "q"}, {"id": "a", "question": "r"}], "not unique"),
    ([], "holds no cases"),
])
def test_bad_datasets_are_one_line_errors(tmp_path: Path, rows: list[Any], message: str) -> None:
    with pytest.raises(EvalError, match=message) as caught:
        load_dataset(write_jsonl(tmp_path / "cases.jsonl", rows))
    assert "\n" not in str(caught.value)


def test_realtimeqa_folder_is_read_as_it_is() -> None:
    dataset = load_dataset(RTQA)
    assert len(dataset.cases) == 103
    case = next(c for c in dataset.cases if c.id == "20220617_0")
    assert case.reference_answers == ("“Squid Game”",)
    assert case.gold_article_ids and case.question_date == "2022-06-16"


def test_shipped_sample_set() -> None:
    cases = load_dataset(REPO / "eval" / "datasets" / "sample.jsonl").cases
    article = (REPO / "data" / "sample" / "trump-putin-ceasefire-talks.txt").read_text()
    answerable = [c for c in cases if c.answerable]
    assert len(cases) >= 25
    assert any(c.chat_history for c in cases) and any(not c.answerable for c in cases)
    for case in answerable:
        assert case.reference_answers and case.gold_article_ids
        assert any(r.lower() in article.lower() for r in case.reference_answers), case.id


def _our_answer() -> dict[str, Any]:
    from rag.models import Answer, AnswerSentence, Citation, Hit

    citation = Citation(n=1, article_id="a1", title="T", url="", source="", published=None,
                        text="Talks were held in Riyadh.", char_start=0, char_end=26)
    hit = Hit(article_id="a1", title="T", source="", url="", published=None, chunk_index=0,
              score=0.9, text="Talks were held in Riyadh. More.", char_start=0, char_end=32,
              sentences=())
    return Answer(question="Where were the talks?", answer="Talks were held in Riyadh. [1]",
                  sentences=(AnswerSentence(text="Talks were held in Riyadh.", citations=(1,),
                                            support=0.9, status="quoted"),),
                  citations=(citation,), refused=False, generator="extractive",
                  timings={"total_s": 0.25}, sources=(hit,)).model_dump(mode="json")


def test_precomputed_answers_in_both_forms(tmp_path: Path) -> None:
    rows: list[Any] = [{"id": "g", "question": "Where?", "answer": "In Riyadh [2]. Soon [1, 2].",
                        "contexts": ["Talks are soon.", {"text": "Talks in Riyadh.",
                                                         "article_id": "a9"}]},
                       {"question": "Who?", "answer": "I don't know.", "contexts": []},
                       _our_answer()]
    answers = load_answers(write_jsonl(tmp_path / "answers.jsonl", rows))
    generic = answers["g"]
    assert answers["Where?"] is generic
    assert [s.text for s in generic.sentences] == ["In Riyadh.", "Soon."]
    assert [c.article_id for c in generic.sentences[0].citations] == ["a9"]
    assert len(generic.sentences[1].citations) == 2
    assert answers["Who?"].refused and not generic.refused
    ours = answers["Where were the talks?"]
    assert ours.system == "extractive" and ours.latency_s == 0.25
    assert ours.sentences[0].citations[0].text == "Talks were held in Riyadh."
    assert [c.article_id for c in ours.contexts] == ["a1"]


def test_short_answers_are_read_from_both_forms(tmp_path: Path) -> None:
    ours = _our_answer()
    ours["short_answer"] = ShortAnswer(text="Riyadh", citation=1, article_id="a1",
                                       char_start=19, char_end=25).model_dump(mode="json")
    rows: list[Any] = [ours, {"question": "Who?", "answer": "Peskov [1].", "contexts": ["x"],
                              "short_answer": "Peskov"},
                       {"question": "When?", "answer": "Soon.", "short_answer": "  "},
                       {"question": "Why?", "answer": "Because.", "short_answer": {"text": "x"}}]
    answers = load_answers(write_jsonl(tmp_path / "answers.jsonl", rows))
    assert answers["Where were the talks?"].short_answer == "Riyadh"
    assert answers["Who?"].short_answer == "Peskov"
    assert answers["When?"].short_answer is None
    assert answers["Why?"].short_answer == "x"
    assert load_answers(write_jsonl(tmp_path / "b.jsonl", [_our_answer()])
                        )["Where were the talks?"].short_answer is None


def test_bad_answers_file(tmp_path: Path) -> None:
    with pytest.raises(EvalError, match="needs its 'question'"):
        load_answers(write_jsonl(tmp_path / "a.jsonl", [{"answer": "x"}]))
    with pytest.raises(EvalError, match="context must be"):
        load_answers(write_jsonl(tmp_path / "a.jsonl", [{"question": "q", "answer": "x",
                                                         "contexts": [3]}]))


def _report(**values: float | None) -> Report:
    return Report(dataset="d", judge="j", system="s", cases=(),
                  summary=tuple(summarize(k, [v]) for k, v in values.items()))


def test_gates() -> None:
    assert parse_gates(" faithfulness=0.9, citation_recall=.8 ") == {
        "faithfulness": 0.9, "citation_recall": 0.8}
    with pytest.raises(ConfigError, match="unknown metric 'faith'"):
        parse_gates("faith=0.9")
    with pytest.raises(ConfigError, match="not a number"):
        parse_gates("faithfulness=high")
    report = _report(faithfulness=0.85, citation_recall=0.8, wrong_refusal=0.2, token_f1=None)
    assert missed_gates(report, {"faithfulness": 0.9, "citation_recall": 0.8}, {}) == [
        "faithfulness 0.850 < 0.9"]
    assert missed_gates(report, {}, {"wrong_refusal": 0.1}) == ["wrong_refusal 0.200 > 0.1"]
    assert missed_gates(report, {"token_f1": 0.1}, {}) == ["token_f1 not computed < 0.1"]
    with pytest.raises(ConfigError, match="use --fail-over"):
        missed_gates(report, {"wrong_refusal": 0.1}, {})
