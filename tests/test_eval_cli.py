"""`newsrag eval` end to end: the real console script, embedder, Chroma and heuristic judge on
the shipped sample set; precomputed answers; gates; `newsrag eval judge` on real labels."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.clirunner import run_cli
from tests.conftest import REPO, SHARED_DATA
from tests.test_cli_answer import ingest_sample

pytestmark = pytest.mark.slow
SAMPLE_SET = REPO / "eval" / "datasets" / "sample.jsonl"


@pytest.fixture(scope="module")
def data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ingest_sample(tmp_path_factory.mktemp("eval"))


@pytest.fixture(scope="module")
def report(data: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    html = tmp_path_factory.mktemp("html") / "report.html"
    done = run_cli("eval", str(SAMPLE_SET), "--json", "--html", str(html), data_dir=data,
                   fake=False)
    assert done.returncode == 0, done.stderr
    assert html.is_file() and "<svg" in html.read_text(encoding="utf-8")
    return json.loads(done.stdout)


def test_sample_run_reports_every_metric(report: dict) -> None:
    summary = {m["name"]: m for m in report["summary"]}
    cases = [json.loads(line) for line in SAMPLE_SET.read_text().splitlines() if line.strip()]
    assert report["judge"] == "heuristic" and report["system"] == "extractive"
    assert len(report["cases"]) == len(cases)
    for name in ("faithfulness", "citation_recall", "citation_precision", "contains_reference",
                 "token_f1", "hit_at_1", "mrr_at_10", "cites_gold", "correct_refusal",
                 "wrong_refusal", "latency_s"):
        assert summary[name]["value"] is not None, name
        assert summary[name]["low"] <= summary[name]["value"] <= summary[name]["high"]
    unanswerable = sum(not c.get("answerable", True) for c in cases)
    assert summary["correct_refusal"]["n"] == unanswerable
    assert summary["wrong_refusal"]["n"] == len(cases) - unanswerable
    # The short answer's own metrics cover every answerable case (none given counts as 0).
    for name in ("short_exact_match", "short_token_f1", "short_answered"):
        assert summary[name]["n"] == len(cases) - unanswerable, name
        assert summary[name]["value"] is not None, name
    # One article: every answered question retrieves and cites it.
    assert summary["hit_at_1"]["value"] == 1.0
    assert report["settings"]["generation"]["generator"] == "extractive"


def test_table_and_gates(data: Path) -> None:
    passing = run_cli("eval", str(SAMPLE_SET), "--limit", "4", "--fail-under",
                      "hit_at_5=0.5", data_dir=data, fake=False)
    assert passing.returncode == 0, passing.stderr
    assert "faithfulness" in passing.stdout and "judge heuristic" in passing.stdout
    failing = run_cli("eval", str(SAMPLE_SET), "--limit", "4", "--fail-under",
                      "faithfulness=1.01", "--fail-over", "latency_s=0", data_dir=data,
                      fake=False)
    assert failing.returncode == 1
    assert "eval below its thresholds: faithfulness" in failing.stderr
    assert "latency_s" in failing.stderr and len(failing.stderr.strip().splitlines()) == 1
    unknown = run_cli("eval", str(SAMPLE_SET), "--fail-under", "faith=1", data_dir=data)
    assert unknown.returncode == 1 and "unknown metric 'faith'" in unknown.stderr


def test_precomputed_answers_from_another_system(data: Path, tmp_path: Path) -> None:
    """A RAGAS-style answers file: one faithful cited answer, one invented, one refusal."""
    dataset = tmp_path / "cases.jsonl"
    dataset.write_text("\n".join(json.dumps(c) for c in [
        {"id": "a", "question": "Where did the delegations meet?",
         "reference_answers": ["Saudi Arabia"]},
        {"id": "b", "question": "What did Trump promise?"},
        {"id": "c", "question": "Who won the World Cup?", "answerable": False}]))
    context = ("Last month, American and Russian delegations met in Saudi Arabia to discuss "
               "the war.")
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(json.dumps(a) for a in [
        {"id": "a", "question": "Where did the delegations meet?",
         "answer": "The delegations met in Saudi Arabia [1].", "contexts": [context]},
        {"id": "b", "question": "What did Trump promise?",
         "answer": "Trump promised 400 billion dollars of tariffs on Brazilian coffee [1].",
         "contexts": [context]},
        {"id": "c", "question": "Who won the World Cup?", "answer": "I don't know.",
         "contexts": []}]))
    done = run_cli("eval", str(dataset), "--answers", str(answers), "--json", data_dir=data,
                   fake=False)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    metrics = {c["case"]["id"]: c["metrics"] for c in report["cases"]}
    assert metrics["a"]["faithfulness"] == 1.0 and metrics["a"]["citation_recall"] == 1.0
    assert metrics["a"]["contains_reference"] == 1.0
    assert metrics["b"]["faithfulness"] == 0.0 and metrics["b"]["citation_recall"] == 0.0
    assert metrics["c"]["correct_refusal"] == 1.0


def test_missing_answer_is_one_line(data: Path, tmp_path: Path) -> None:
    answers = tmp_path / "answers.jsonl"
    answers.write_text(json.dumps({"question": "Something else?", "answer": "x"}) + "\n")
    done = run_cli("eval", str(SAMPLE_SET), "--answers", str(answers), data_dir=data)
    assert done.returncode == 1 and "no answer for case" in done.stderr


def test_judge_command_on_real_labels(data: Path) -> None:
    done = run_cli("eval", "judge", str(SHARED_DATA / "wice-dev" / "wice_claim_dev.jsonl"),
                   "--limit", "60", "--json", data_dir=data, fake=False)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["judge"] == "heuristic" and figures["n"] == 60
    assert 0.5 < figures["roc_auc"] <= 1.0
    assert set(figures["judged_supported"]) <= {"supported", "partially_supported",
                                                "not_supported"}
    text = run_cli("eval", "judge", str(SHARED_DATA / "wice-dev" / "wice_claim_dev.jsonl"),
                   "--limit", "10", data_dir=data, fake=False)
    assert "balanced accuracy" in text.stdout and "ROC-AUC" in text.stdout
