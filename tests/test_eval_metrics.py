"""Metric arithmetic on hand-made cases: correctness, retrieval, ALCE citations, bootstrap,
and the per-answer metrics judge_answers derives from a judge's verdicts."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pytest

from eval.judging import judge_answers
from eval.metrics import (
    METRICS,
    citation_precision_flags,
    contains_reference,
    exact_match,
    hit_at,
    match_words,
    mrr_at_10,
    normalize,
    ranked_articles,
    summarize,
    token_f1,
)
from eval.models import EvalCase, Evidence, SentenceUnderTest, SystemAnswer


def test_normalize_and_token_f1() -> None:
    assert normalize("The “Squid Game”, again!") == "squid game again"
    assert token_f1("on Tuesday in Riyadh", "Tuesday") == pytest.approx(2 * 0.25 / 1.25)
    assert token_f1("Riyadh", "Tuesday") == 0.0
    assert token_f1("the Tuesday", "Tuesday") == 1.0


def test_contains_reference_needs_whole_words() -> None:
    assert contains_reference("Talks are set for Tuesday [1].", ["tuesday"])
    assert not contains_reference("Talks on Tuesdaynight.", ["Tuesday"])
    assert not contains_reference("anything", ["", "  "])
    assert contains_reference("a 30-day ceasefire", ["30-day", "30 days"])


@pytest.mark.parametrize(("answer", "reference"), [
    ("He studied at Northeastern University’s law school.", "Northeastern University"),
    ("He studied at Northeastern University's law school.", "Northeastern University"),
    ("The show “Squid Game” returns.", "\"Squid Game\""),
    ("O’Brien said so.", "O'Brien"),
    ("The states' governors met.", "states"),
    ("a 30-day ceasefire", "30 days"),
    ("a thirty day truce", "thirty-day"),
    ("The long-term plan", "long term"),
    ("Officials from three countries met.", "three country"),
    ("Two new vaccines were approved.", "vaccine"),
    ("It cost $1,200 million.", "1200 million"),
    ("Talks in São Paulo", "Sao Paulo"),
    ("Prices rose 49% in May.", "49 percent"),
    ("A 101-year-old former guard", "101"),
    ("The U.S. Senate voted.", "US Senate"),
    ("Meet the Joneses", "the Joneses"),
])
def test_contains_reference_matches_inflections_and_spelling_variants(
        answer: str, reference: str) -> None:
    assert contains_reference(answer, [reference])


@pytest.mark.parametrize(("answer", "reference"), [
    ("Northeastern won the game.", "Northeastern University"),
    ("Tensions with South Korea rose.", "North Korea"),
    ("It cost 2.4 billion euros.", "24 billion"),
    ("The 100 delegates", "10"),
    ("On Jan 16 they met.", "Jan 6"),
    ("The Spaniards celebrated.", "Spain"),
    ("The university president resigned.", "Northeastern University"),
    ("Put the bus in the garage.", "bu"),
    ("The press met.", "pres"),
    ("News from Wales", "New"),
    ("A 49-year-old woman", "49%"),
    ("after the 118th sighting", "118"),
])
def test_contains_reference_is_not_lenient(answer: str, reference: str) -> None:
    assert not contains_reference(answer, [reference])


def test_match_words_and_exact_match() -> None:
    assert match_words("Northeastern University’s 30-day plans") == [
        "northeastern", "university", "30", "day", "plan"]
    assert exact_match("The “Squid Game”", "Squid Game") == 1.0
    assert exact_match("Squid Game season 2", "Squid Game") == 0.0
    assert exact_match("anything", "") == 0.0


def test_retrieval_metrics_count_each_article_once() -> None:
    articles = ranked_articles(["a", "a", "b", "", "c", "b"])
    assert articles == ["a", "b", "c"]
    assert hit_at(articles, {"b"}, 1) == 0.0
    assert hit_at(articles, {"b"}, 2) == 1.0
    assert mrr_at_10(articles, {"c", "b"}) == 0.5
    assert mrr_at_10(articles, {"z"}) == 0.0
    assert mrr_at_10([str(i) for i in range(20)], {"12"}) == 0.0  # past rank 10
    # A file's id ends in a hash of its path; a dataset may name it by its slug alone.
    assert hit_at(["x-1a2b3c4d", "talks-84d978ca"], {"talks"}, 2) == 1.0
    assert hit_at(["talks-84d978ca"], {"talks-00000000"}, 1) == 0.0
    assert hit_at(["talks-84d978ca"], {"talk"}, 1) == 0.0


def test_alce_precision_rules() -> None:
    # Unsupported sentence: every citation imprecise.
    assert citation_precision_flags(False, [True, False], [True, True]) == [False, False]
    # One citation, joint support: precise.
    assert citation_precision_flags(True, [False], [False]) == [True]
    # Two citations: the first supports alone; the second is neither supportive nor needed
    # (the rest, i.e. the first, still supports without it).
    assert citation_precision_flags(True, [True, False], [False, True]) == [True, False]
    # Two halves that only together support: both needed, both precise.
    assert citation_precision_flags(True, [False, False], [False, False]) == [True, True]


def test_bootstrap_summary() -> None:
    values: list[float | None] = [1.0, 0.0, None, 1.0, 1.0]
    summary = summarize("faithfulness", values, samples=500, seed=1)
    assert summary.value == 0.75 and summary.n == 4
    assert summary.low is not None and summary.high is not None
    assert 0.0 <= summary.low <= 0.75 <= summary.high <= 1.0
    assert summarize("faithfulness", values, samples=500, seed=1) == summary  # seeded
    latency = summarize("latency_s", [0.1, 0.2, 0.3, 10.0], samples=200)
    assert latency.value == 0.25 and latency.p95 == pytest.approx(np.percentile(
        [0.1, 0.2, 0.3, 10.0], 95), abs=1e-4)
    assert summarize("token_f1", [None, None]).value is None


class WordJudge:
    """Supported when every word of the claim occurs in the evidence: a rule a test can
    reason about (the real judges are tested against labelled data elsewhere)."""

    name = "word-judge"
    threshold = 0.5

    def __init__(self) -> None:
        self.calls = 0

    def score(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        self.calls += 1
        return [float(set(normalize(claim).split()) <= set(normalize(" ".join(ev)).split()))
                for claim, ev in pairs]

    def split_claims(self, sentence: str, question: str = "") -> list[str]:
        return [part.strip() for part in sentence.split(" and ")]


RIYADH = Evidence(text="Talks were held in Riyadh.", article_id="a1")
TUESDAY = Evidence(text="Trump and Putin spoke on Tuesday.", article_id="a2")
OTHER = Evidence(text="Markets fell sharply.", article_id="a3")


def test_judged_answer_metrics() -> None:
    case = EvalCase(id="c1", question="Where and when?", reference_answers=("Riyadh",),
                    gold_article_ids=("a1",))
    answer = SystemAnswer(
        question=case.question, answer="Talks were held in Riyadh [1]. Trump and Putin spoke "
        "on Tuesday and markets rose [1][2].",
        sentences=(SentenceUnderTest(text="Talks were held in Riyadh.", citations=(RIYADH,)),
                   SentenceUnderTest(text="Trump and Putin spoke on Tuesday and markets rose.",
                                     citations=(RIYADH, TUESDAY))),
        contexts=(OTHER, TUESDAY, RIYADH), latency_s=0.5)
    judge = WordJudge()
    [result] = judge_answers([(case, answer)], judge)
    metrics = result.metrics
    assert judge.calls == 1  # every pair in one batch
    # Claims: "Talks were held in Riyadh." ok; "Trump and Putin spoke on Tuesday" is split by
    # the judge at " and " into "Trump", "Putin spoke on Tuesday", "markets rose." -> 3 of 4.
    assert [v.supported for s in result.sentences for v in s.claims] == [True, True, True, False]
    assert metrics["faithfulness"] == 0.75
    # Sentence 2 is not supported by its citations ("rose" is nowhere): recall 1/2.
    assert [s.citations_support for s in result.sentences] == [True, False]
    assert metrics["citation_recall"] == 0.5
    assert metrics["citation_precision"] == pytest.approx(1 / 3)
    assert metrics["contains_reference"] == 1.0 and metrics["judged_correctness"] == 1.0
    assert metrics["hit_at_1"] == 0.0 and metrics["hit_at_5"] == 1.0
    assert metrics["mrr_at_10"] == pytest.approx(1 / 3)
    assert metrics["cites_gold"] == 1.0
    assert metrics["wrong_refusal"] == 0.0 and metrics["correct_refusal"] is None
    assert metrics["latency_s"] == 0.5


def test_refusals_and_unanswerable_cases() -> None:
    judge = WordJudge()
    refusal = SystemAnswer(question="q", answer="The articles do not cover this.", sentences=(),
                           contexts=(OTHER,), refused=True)
    answerable = EvalCase(id="a", question="q", reference_answers=("Riyadh",),
                          gold_article_ids=("a1",))
    unanswerable = EvalCase(id="u", question="q", answerable=False)
    wrong, right = judge_answers([(answerable, refusal), (unanswerable, refusal)], judge)
    assert wrong.metrics["wrong_refusal"] == 1.0 and wrong.metrics["correct_refusal"] is None
    assert wrong.metrics["faithfulness"] is None and wrong.metrics["citation_recall"] is None
    assert wrong.metrics["contains_reference"] == 0.0 and wrong.metrics["cites_gold"] == 0.0
    assert wrong.metrics["judged_correctness"] == 0.0
    assert right.metrics["correct_refusal"] == 1.0 and right.metrics["wrong_refusal"] is None
    assert right.metrics["contains_reference"] is None and right.metrics["hit_at_5"] is None


def test_uncited_sentence_fails_citation_recall_but_can_be_faithful() -> None:
    case = EvalCase(id="c", question="q")
    answer = SystemAnswer(question="q", answer="Markets fell sharply.",
                          sentences=(SentenceUnderTest(text="Markets fell sharply."),),
                          contexts=(OTHER,))
    [result] = judge_answers([(case, answer)], WordJudge())
    assert result.metrics["faithfulness"] == 1.0
    assert result.metrics["citation_recall"] == 0.0
    assert result.metrics["citation_precision"] is None  # no citations to be precise about


def test_short_answer_exact_match_and_f1() -> None:
    case = EvalCase(id="c", question="Which country?", reference_answers=("North Korea", "DPRK"))
    context = (Evidence(text="North Korea declared victory over Covid-19.", article_id="a"),)
    sentence = SentenceUnderTest(text="North Korea declared victory over Covid-19.",
                                 citations=context)

    def answer(short: str | None, refused: bool = False) -> SystemAnswer:
        return SystemAnswer(question=case.question, answer=f"{short}. [1]", refused=refused,
                            sentences=() if refused else (sentence,), contexts=context,
                            short_answer=short)

    exact, partial, missing, refusal = judge_answers(
        [(case, answer("North Korea")), (case, answer("North Korea's leader Kim")),
         (case, answer(None)), (case, answer("North Korea", refused=True))], WordJudge())
    assert exact.metrics["short_exact_match"] == 1.0
    assert exact.metrics["short_token_f1"] == 1.0 and exact.metrics["short_answered"] == 1.0
    assert partial.metrics["short_exact_match"] == 0.0
    # "north koreas leader kim" (SQuAD keeps the possessive's s) against "north korea": only
    # "north" in common, precision 1/4, recall 1/2.
    assert partial.metrics["short_token_f1"] == pytest.approx(1 / 3)
    for miss in (missing, refusal):  # no short answer, or a refusal: counted as misses
        assert miss.metrics["short_exact_match"] == 0.0 and miss.metrics["short_token_f1"] == 0.0
        assert miss.metrics["short_answered"] == 0.0
    unanswerable = EvalCase(id="u", question="q", answerable=False)
    [result] = judge_answers([(unanswerable, answer("North Korea"))], WordJudge())
    assert result.metrics["short_exact_match"] is None and result.metrics["short_answered"] is None
    assert list(exact.metrics) == list(METRICS)  # the report's order
