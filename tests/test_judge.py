"""The one support judge: facts, signals and verdicts with the real spaCy model and embedder,
its shipped calibration, and one judge object serving grounding and `newsrag eval` alike."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from newsrag.errors import ModelError
from rag.judge import JudgeBase, SupportJudge, make_judge, shared_judge
from rag.judge_align import AlignmentJudge, load_weights, save_weights
from rag.judge_features import CONFLICTS, FEATURES, window_features
from rag.judge_text import analyse_sentences, claim_facts
from rag.numbers import numbers_in
from rag.text import content_words
from tests.conftest import SEED_TEXT
from tests.fakes import FakeEmbedder

STORM = ["Officials said the storm killed 21 people in Texas on Monday.",
         "Power was restored to most homes by Wednesday."]
SCHOLZ = ["German Chancellor Olaf Scholz visited Kyiv on Thursday, June 16."]
TALKS = ["On Tuesday, Putin thanked Trump for the talks in Riyadh."]
MINISTER = ["The minister resigned after the vote on Tuesday."]
# (claim, evidence, supported?) — copies that change one thing must fail: these were the
# strict xfails of the word-and-embedding judge (negation, name, number), plus dates and roles.
CONTRASTS = {
    "copy": ("The storm killed 21 people in Texas.", STORM, True),
    "paraphrase": ("Officials said 21 people died in Texas when the storm hit on Monday.",
                   STORM, True),
    "number swap": ("The storm killed 12 people in Texas.", STORM, False),
    "scale swap": ("The storm killed 2,100 people in Texas.", STORM, False),
    "negation flip": ("The minister did not resign after the vote.", MINISTER, False),
    "negation kept": ("The minister resigned after the vote.", MINISTER, True),
    "name swap": ("Angela Merkel visited Kyiv on Thursday.", SCHOLZ, False),
    "name kept": ("Olaf Scholz visited Kyiv on Thursday.", SCHOLZ, True),
    "weekday swap": ("Olaf Scholz visited Kyiv on Tuesday.", SCHOLZ, False),
    "month swap": ("Olaf Scholz visited Kyiv in March.", SCHOLZ, False),
    "role swap": ("Trump thanked Putin for the talks in Riyadh.", TALKS, False),
    "roles kept": ("Putin thanked Trump for the talks in Riyadh.", TALKS, True),
    "unrelated": ("The central bank raised interest rates by half a point.", STORM, False),
}


@pytest.fixture(scope="module")
def judge() -> AlignmentJudge:
    from ingest.embed import make_embedder
    from newsrag.settings import EmbeddingSettings

    return AlignmentJudge(make_embedder(EmbeddingSettings()))


def test_numbers_are_normalised() -> None:
    assert numbers_in("1,000 troops") == numbers_in("1000 troops") == {"1000"}
    assert numbers_in("$1.2 million") == numbers_in("1,200,000 dollars") == {"1200000"}
    assert numbers_in("twelve ships and twenty-five planes") == {"12", "25"}
    assert numbers_in("the only one left") == set()  # "one" in a claim is usually a pronoun
    assert "1.2" in numbers_in("$1.2m", lenient=True)


def test_a_claim_splits_into_facts_at_clauses_with_their_own_subject() -> None:
    facts = claim_facts("Putin met Trump on Tuesday, and Zelensky stayed home.")
    assert [f.text for f in facts] == ["Putin met Trump on Tuesday", "Zelensky stayed home"]
    assert len(claim_facts("Putin met Trump and signed a deal.")) == 1  # one subject


def test_what_the_analysis_reads() -> None:
    denied, affirmed, passive, month = analyse_sentences([
        "Russia denied that it attacked Kyiv.", "Russia did not deny that it attacked Kyiv.",
        "Putin was praised by Trump on Tuesday.", "Talks may resume in May 2022."])
    assert {p.verb: p.negated for p in denied.predicates}["attack"] is True
    assert {p.verb: p.negated for p in affirmed.predicates}["attack"] is False
    (praise,) = [p for p in passive.predicates if p.verb == "prais"]
    assert praise.subjects == {"trump"} and praise.objects == {"putin"}
    assert ("weekday", "tuesday") in passive.dates
    assert {("month", "may"), ("year", "2022")} <= month.dates and month.hedged
    assert "2022" not in month.numbers  # a year is a date, not a figure


def _features(claim: str, evidence: str) -> dict[str, float]:
    (fact,) = claim_facts(claim)
    (window,) = analyse_sentences([evidence])
    return dict(zip(FEATURES, window_features(fact.analysis, window, 0.9, False), strict=True))


def test_conflicts_are_read_per_kind() -> None:
    assert _features("Police arrested 12 men.", "Police arrested 21 men.")["number_conflict"]
    assert not _features("Police arrested 12 men.", "Police arrested men.")["number_conflict"]
    assert _features("They met on Tuesday.", "They met on Thursday.")["date_conflict"]
    assert not _features("They met on Tuesday.", "They met in March.")["date_conflict"]
    swapped = _features("Trump praised Putin.", "Putin praised Trump.")
    assert swapped["role_swap"] and not _features("Trump praised Putin.",
                                                  "Putin was praised by Trump.")["role_swap"]
    assert _features("The minister did not resign.",
                     "The minister resigned.")["polarity_conflict"]
    assert _features("Angela Merkel visited Kyiv.", "Olaf Scholz visited Kyiv.")["name_conflict"]
    assert all(0.0 <= v <= 1.0 for v in swapped.values())


@pytest.mark.parametrize("case", CONTRASTS)
def test_contrasts(judge: AlignmentJudge, case: str) -> None:
    claim, evidence, expected = CONTRASTS[case]
    [verdict] = judge.verdicts([(claim, evidence)])
    assert verdict.supported is expected, f"{case}: p={verdict.probability:.3f}"
    assert verdict.probability == judge.score([(claim, evidence)])[0]


def test_a_long_article_holding_every_word_of_a_false_claim_does_not_support_it(
        judge: AlignmentJudge) -> None:
    article = SEED_TEXT
    false_claims = [
        "Zhao Junjie and Dmitry Peskov convened in Istanbul on February 18.",
        "Steve Witkoff spoke to President Putin aboard Air Force One on Sunday.",
        "Trump and Putin agreed to return six properties in Riyadh.",
    ]
    true_claims = ["U.S. and Russian delegations convened in Riyadh on February 18.",
                   "Trump told reporters aboard Air Force One that he would speak to Putin "
                   "on Tuesday."]
    words = content_words(article)
    for claim in false_claims:  # the premise: word overlap with the article is complete
        assert content_words(claim) <= words, claim
    scores = judge.score([(c, [article]) for c in false_claims + true_claims])
    assert all(s < judge.threshold for s in scores[:len(false_claims)]), scores
    assert all(s >= judge.threshold for s in scores[len(false_claims):]), scores


def test_verdicts_say_which_sentences_support_which_fact(judge: AlignmentJudge) -> None:
    context = ["Markets fell on Monday. " + STORM[0] + " Shops closed early.", STORM[1]]
    claim = "The storm killed 21 people in Texas, and power was restored by Wednesday."
    [verdict] = judge.verdicts([(claim, context)])
    assert verdict.supported
    assert [s.evidence for s in verdict.spans] == [(STORM[0],), (STORM[1],)]
    assert judge.evidence_for(claim, context) == STORM


def test_empty_evidence_and_batches(judge: AlignmentJudge) -> None:
    assert judge.score([]) == []
    [none] = judge.verdicts([("The storm killed 21 people.", [])])
    assert none.probability == 0.0 and not none.supported and none.spans == ()


def test_shipped_weights_come_from_one_calibration(tmp_path: Path) -> None:
    weights = load_weights()
    assert len(weights.weights) == len(FEATURES)
    assert 0.0 < weights.threshold <= weights.strict_threshold < 1.0
    assert set(weights.vetoes) <= set(CONFLICTS)
    assert weights.embedder == "sentence-transformers:all-MiniLM-L6-v2"
    assert any("whole article" in name for name in weights.metadata["data"])
    save_weights(weights, tmp_path / "w.json")
    assert load_weights(tmp_path / "w.json").weights == weights.weights
    data = json.loads((tmp_path / "w.json").read_text())
    data["feature_names"] = data["feature_names"][:-1]
    (tmp_path / "stale.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match=r"re-run bench/calibrate_judge\.py"):
        load_weights(tmp_path / "stale.json")


def test_vetoed_windows_cannot_support() -> None:
    weights = load_weights()
    row = np.zeros(len(FEATURES))
    row[FEATURES.index("coverage")] = row[FEATURES.index("cosine")] = 1.0
    vetoed = row.copy()
    for name in weights.vetoes:
        vetoed[FEATURES.index(name)] = 1.0
    clean, capped = weights.probabilities(np.array([row, vetoed]))
    assert clean >= weights.threshold
    if weights.vetoes:
        assert capped < weights.threshold


class ScriptedJudge(JudgeBase):
    """Gives every pair the probability it was told (a fake at our boundary)."""

    name = "scripted"
    probability = 1.0

    def score(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        return [self.probability] * len(pairs)


def scripted_judge(services: Any) -> SupportJudge:
    """eval.judge = "tests.test_judge:scripted_judge"; SCRIPTED_SUPPORT sets its answer."""
    judge = ScriptedJudge()
    judge.probability = float(os.environ.get("SCRIPTED_SUPPORT", "1"))
    return judge


@pytest.mark.slow
def test_one_scripted_judge_grounds_answers_and_judges_the_eval(make_settings: Any) -> None:
    """The judge eval.judge names is the object grounding uses and the eval scores with."""
    from eval.dataset import Dataset, load_dataset
    from eval.runner import evaluate
    from ingest.index import open_index
    from ingest.pipeline import ingest
    from rag.answering import AskOptions, Assistant
    from rag.generators import register_chat_model
    from rag.services import build_services
    from tests.conftest import REPO, SAMPLE
    from tests.fakes import ScriptedChat

    settings = make_settings(NEWSRAG_EVAL__JUDGE="tests.test_judge:scripted_judge")
    index = open_index(settings)
    ingest([str(SAMPLE)], settings, index)
    services = build_services(settings, index)
    said = "Trump will speak with Putin on Tuesday about land and power plants [1]."
    register_chat_model("judge-test-chat", lambda _, __: ScriptedChat(said, said, said, said))
    assistant = Assistant(services)
    judge = shared_judge(services)
    assert assistant.judge is judge and isinstance(judge, ScriptedJudge)
    full = load_dataset(REPO / "eval" / "datasets" / "sample.jsonl")
    dataset = Dataset(full.name, full.cases[:1])
    seen = {}
    for probability in (1.0, 0.0):
        judge.probability = probability
        answer = assistant.answer(dataset.cases[0].question,
                                  options=AskOptions(generator="judge-test-chat"))
        report = evaluate(dataset, answers={dataset.cases[0].id: _as_system(answer)},
                          services=services)
        faithfulness = next(m.value for m in report.summary if m.name == "faithfulness")
        seen[probability] = ("Trump will speak with Putin" in answer.answer, faithfulness,
                             report.judge)
    assert seen == {1.0: (True, 1.0, "scripted"), 0.0: (False, 0.0, "scripted")}


def _as_system(answer: Any) -> Any:
    from eval.answers import to_system_answer

    return to_system_answer(answer)


@pytest.mark.slow
def test_newsrag_eval_judges_with_the_judge_it_is_told(tmp_path: Path) -> None:
    from tests.clirunner import run_cli
    from tests.conftest import REPO, SAMPLE

    data = tmp_path / "data"
    assert run_cli("ingest", str(SAMPLE), data_dir=data).returncode == 0
    faithfulness = {}
    for probability in ("1", "0"):
        done = run_cli("eval", str(REPO / "eval" / "datasets" / "sample.jsonl"), "--limit", "2",
                       "--json", data_dir=data,
                       env={"NEWSRAG_EVAL__JUDGE": "tests.test_judge:scripted_judge",
                            "SCRIPTED_SUPPORT": probability})
        assert done.returncode == 0, done.stderr
        report = json.loads(done.stdout)
        assert report["judge"] == "scripted"
        faithfulness[probability] = next(m["value"] for m in report["summary"]
                                         if m["name"] == "faithfulness")
    assert faithfulness == {"1": 1.0, "0": 0.0}


def test_the_fake_embedder_runs_the_real_judge_and_the_registry_builds_it(
        make_settings: Any) -> None:
    from rag.services import build_services

    services = build_services(make_settings())
    built = make_judge(services)
    assert isinstance(built, AlignmentJudge) and isinstance(built, SupportJudge)
    assert shared_judge(services) is shared_judge(services) is not built
    custom = build_services(make_settings(NEWSRAG_EVAL__JUDGE="tests.test_judge:scripted_judge"))
    assert shared_judge(custom).name == "scripted"
    fake = AlignmentJudge(FakeEmbedder())
    [p] = fake.score([("The storm killed 21 people.", STORM)])
    assert 0.0 <= p <= 1.0
