"""The support scorer: its features, its fitting, the shipped weights, and real WiCE claims."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from newsrag.errors import ModelError
from rag.support import (
    FEATURE_NAMES,
    SupportScorer,
    fit_logistic,
    load_weights,
    names_in,
    numbers_in,
    save_weights,
    support_features,
)
from tests.conftest import SHARED_DATA
from tests.fakes import FakeEmbedder
from tests.test_grounding import cite

WICE = SHARED_DATA / "wice-dev" / "wice_claim_dev.jsonl"

# (claim, evidence it is checked against, should the evidence support it?)
CONTRASTS = {
    "numbers disagree": ("The storm killed 12 people in Texas.",
                         ["A storm killed 21 people in Texas on Monday."], False),
    "numbers agree": ("The storm killed 21 people in Texas.",
                      ["A storm killed 21 people in Texas on Monday."], True),
    "paraphrase, same names and numbers": (
        "Apple sold 3 million iPhones in China in March.",
        ["In March, Apple sold 3,000,000 iPhones across China, the company said."], True),
    "two sentences together": (
        "Kate Winslet married Ned Rocknroll in December 2012.",
        ["Winslet wed Rocknroll in a small ceremony.", "The wedding took place in December 2012.",
         ], True),
    "affirmative claim": ("The minister resigned after the vote.",
                          ["The minister resigned after the vote on Tuesday."], True),
    "unrelated source": ("The central bank raised interest rates by 0.5 points.",
                         ["The museum reopened its sculpture garden to visitors."], False),
}


@pytest.fixture(scope="module")
def real_embedder() -> Any:
    from ingest.embed import make_embedder
    from newsrag.settings import EmbeddingSettings

    return make_embedder(EmbeddingSettings())


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.slow)])
def scorer(request: pytest.FixtureRequest) -> SupportScorer:
    """The shipped weights, with the hashed fake embedder or the model they were fitted for."""
    embedder = FakeEmbedder() if request.param == "fake" else request.getfixturevalue(
        "real_embedder")
    return SupportScorer(embedder, load_weights())


@pytest.mark.parametrize("case", CONTRASTS)
def test_hand_made_verdicts(scorer: SupportScorer, case: str) -> None:
    claim, evidence, expected = CONTRASTS[case]
    p = scorer.score(claim, evidence)
    assert 0.0 <= p <= 1.0
    assert scorer.supported(p) is expected, f"{case}: p={p:.3f}"


# A flipped negation or a swapped name in an otherwise copied sentence: the scores drop a lot
# (see below) but not under the threshold. WiCE's supported claims often carry names and
# negations worded differently in their evidence ("declined" for "did not want"), which caps
# what these lexical signals can learn. Strict: a fix must be noticed and these moved up.
KNOWN_MISSES = {
    "negated copy": ("The minister did not resign after the vote.",
                     ["The minister resigned after the vote on Tuesday."]),
    "wrong person": ("Angela Merkel visited Kyiv in June.", ["Olaf Scholz visited Kyiv in June."]),
}


@pytest.mark.xfail(strict=True, reason="lexical judge: see KNOWN_MISSES")
@pytest.mark.parametrize("case", KNOWN_MISSES)
def test_flipped_negation_and_swapped_name_are_flagged(scorer: SupportScorer, case: str) -> None:
    claim, evidence = KNOWN_MISSES[case]
    assert not scorer.supported(scorer.score(claim, evidence))


def test_negation_and_a_swapped_name_cost_a_lot(scorer: SupportScorer) -> None:
    negated, affirmative, wrong, right = scorer.score_many([
        KNOWN_MISSES["negated copy"], CONTRASTS["affirmative claim"][:2],
        KNOWN_MISSES["wrong person"], ("Olaf Scholz visited Kyiv in June.",
                                       ["Olaf Scholz visited Kyiv in June."])])
    assert affirmative - negated > 0.2
    assert right - wrong > 0.2


def test_a_changed_number_costs_more_than_a_changed_word(scorer: SupportScorer) -> None:
    evidence = ["A storm killed 21 people in Texas on Monday."]
    same, number, word = scorer.score_many([
        ("The storm killed 21 people in Texas.", evidence),
        ("The storm killed 12 people in Texas.", evidence),
        ("The storm hurt 21 people in Texas.", evidence)])
    assert same > word > number


def test_numbers_are_normalised() -> None:
    assert numbers_in("1,000 troops") == numbers_in("1000 troops") == {"1000"}
    assert numbers_in("up 5%") == numbers_in("up 5 percent") == {"5"}
    assert numbers_in("$1.2 million") == numbers_in("1,200,000 dollars") == {"1200000"}
    assert numbers_in("twelve ships and twenty-five planes") == {"12", "25"}
    assert numbers_in("on 2004-10-19") == {"2004", "10", "19"}
    assert numbers_in("the only one left") == set()  # "one" in a claim is usually a pronoun
    assert "1" in numbers_in("one of them", lenient=True)
    assert "1.2" in numbers_in("$1.2m", lenient=True)


def test_names_skip_sentence_starts_and_stopwords() -> None:
    assert names_in("Police said Joe Biden met The Washington Post. Later he left.") == {
        "joe", "biden", "washington", "post"}


def test_number_name_and_negation_features() -> None:
    vec = [1.0, 0.0]
    year = support_features("Nobody was killed in 2019.", ["Two were killed in 2018."],
                            vec, [vec])
    assert (year.number_coverage, year.number_conflict) == (0.0, 1.0)
    assert (year.missing_years, year.missing_figures) == (0.5, 0.0)
    assert (year.claim_negation_unmatched, year.evidence_negation_unmatched) == (1.0, 0.0)
    assert year.max_cosine == year.centroid_cosine == 1.0
    figure = support_features("Police in Lyon arrested 12 men.",
                              ["Police arrested 21 men in Paris, none of them armed."], vec, [vec])
    assert (figure.number_conflict, figure.missing_figures) == (1.0, 0.5)
    assert (figure.name_coverage, figure.missing_names) == (0.0, 0.5)
    assert (figure.claim_negation_unmatched, figure.evidence_negation_unmatched) == (0.0, 1.0)
    absent = support_features("In 2019, 3 people won.", ["People won."], vec, [vec])
    assert absent.number_conflict == 0.0  # absent is not contradicted


@settings(max_examples=60, deadline=None)
@given(claim=st.text(max_size=80), evidence=st.lists(st.text(max_size=80), max_size=3))
def test_features_stay_in_unit_range(claim: str, evidence: list[str]) -> None:
    embedder = FakeEmbedder()
    vectors = embedder.embed_documents([claim, *evidence])
    features = support_features(claim, evidence, vectors[0], vectors[1:])
    assert all(0.0 <= value <= 1.0 for value in features.as_vector())


def test_score_many_embeds_once_and_handles_empty_evidence() -> None:
    embedder = FakeEmbedder()
    scorer = SupportScorer(embedder, load_weights())
    shared = "A storm killed 21 people in Texas on Monday."
    scores = scorer.score_many([("The storm killed 21 people.", [shared]),
                                ("21 people died in Texas.", [shared]),
                                ("The storm killed 21 people.", [])])
    assert embedder.calls == [3]  # one call, each distinct text once
    assert scores[2] < scores[0] and not scorer.supported(scores[2])
    assert scorer.score_many([]) == [] and embedder.calls == [3]


def test_verdicts_use_the_calibrated_threshold(caplog: pytest.LogCaptureFixture) -> None:
    weights = load_weights()
    scorer = SupportScorer(FakeEmbedder(), weights)
    assert scorer.supported(weights.threshold) and not scorer.supported(weights.threshold - 1e-6)
    assert "calibrated for sentence-transformers" in caplog.text  # the fake is not that model


def test_grounding_keeps_reattributes_and_drops_with_this_judge() -> None:
    """The contract rag.grounding relies on, with the shipped weights."""
    from rag.grounding import DraftSentence, ground_sentences

    texts = ["Trump said the talks will include land and power plants.",
             "A storm killed 21 people in Texas on Monday."]
    sources = [cite(n, t, f"a{n}") for n, t in enumerate(texts, start=1)]
    drafts = [DraftSentence("The talks will include land and power plants, Trump said.", (1,)),
              DraftSentence("The storm killed 21 people in Texas.", (1,)),
              DraftSentence("The storm killed 12 people in Texas.", (2,))]
    grounded = ground_sentences(drafts, sources, SupportScorer(FakeEmbedder(), load_weights()))
    assert [(g.status, g.cited) for g in grounded] == [("supported", (1,)),
                                                       ("reattributed", (2,))]


def test_fit_logistic_recovers_known_weights() -> None:
    rng = np.random.default_rng(1)
    x = rng.uniform(0, 1, size=(4000, 3))
    true_weights, true_bias = np.array([4.0, -3.0, 0.0]), -0.5
    p = 1 / (1 + np.exp(-(x @ true_weights + true_bias)))
    y = (rng.uniform(size=len(p)) < p).astype(float)
    weights, _ = fit_logistic(x, y, l2=0.01)
    assert weights == pytest.approx(true_weights, abs=0.6)


def test_weights_round_trip_and_stale_files_are_refused(tmp_path: Path) -> None:
    shipped = load_weights()
    save_weights(shipped, tmp_path / "w.json")
    assert load_weights(tmp_path / "w.json") == shipped
    data = json.loads((tmp_path / "w.json").read_text())
    data["feature_names"] = data["feature_names"][:-1]
    (tmp_path / "stale.json").write_text(json.dumps(data))
    with pytest.raises(ModelError, match="calibrate_support"):
        load_weights(tmp_path / "stale.json")
    with pytest.raises(ModelError):
        load_weights(tmp_path / "missing.json")


def test_shipped_weights_declare_their_calibration() -> None:
    weights = load_weights()
    assert weights.feature_names == FEATURE_NAMES
    assert weights.embedder == "sentence-transformers:all-MiniLM-L6-v2"
    assert 0.0 < weights.threshold < 1.0
    meta = weights.metadata
    assert meta["n_claims"] == 349 and meta["pairs"]["supported"] == 115 and meta["synthetic"]
    assert meta["cv_mean"]["roc_auc"] > 0.7  # a recalibration that got worse must be noticed


def _first_wice_cases(per_label: int) -> list[tuple[str, list[str], bool]]:
    """Rule: the first `per_label` supported and not_supported claims in file order."""
    rows = [json.loads(line) for line in WICE.open(encoding="utf-8")]
    supported = [r for r in rows if r["label"] == "supported"][:per_label]
    unsupported = [r for r in rows if r["label"] == "not_supported"][:per_label]
    cases = [(r["claim"], [r["evidence_sentences"][i]
                           for i in min(r["supporting_sentences"], key=len)], True)
             for r in supported]
    return cases + [(r["claim"], r["evidence_sentences"], False) for r in unsupported]


@pytest.mark.slow
def test_real_wice_claims_get_the_annotated_verdict(real_embedder: Any) -> None:
    """In-sample (the weights were fitted on all of WiCE dev): a check of the real path, not
    a quality figure; bench/calibrate_support.py reports held-out quality."""
    scorer = SupportScorer(real_embedder)
    verdicts = []
    for claim, sentences, expected in _first_wice_cases(5):
        if not expected:  # the two sentences a retriever would pick for an unsupported claim
            vectors = np.array(real_embedder.embed_documents([claim, *sentences]))
            nearest = np.argsort(-(vectors[1:] @ vectors[0]))[:2]
            sentences = [sentences[i] for i in sorted(nearest)]
        verdicts.append(scorer.supported(scorer.score(claim, sentences)) is expected)
    assert sum(verdicts) >= 7, verdicts  # a clear majority of the 10
