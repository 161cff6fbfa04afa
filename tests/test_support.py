"""SupportScorer, the one judge under its older call shape, and grounding with the real judge."""

from __future__ import annotations

import pytest

from rag.grounding import DraftSentence, ground_sentences
from rag.judge_align import AlignmentJudge, load_weights
from rag.support import SupportScorer
from tests.fakes import FakeEmbedder
from tests.test_grounding import cite

STORM = "A storm killed 21 people in Texas on Monday."


def test_the_scorer_is_the_judge_one_claim_at_a_time() -> None:
    embedder = FakeEmbedder()
    scorer, judge = SupportScorer(embedder), AlignmentJudge(embedder)
    claim = "The storm killed 21 people in Texas."
    assert scorer.score(claim, [STORM]) == judge.score([(claim, [STORM])])[0]
    assert scorer.score_many([(claim, [STORM]), (claim, [])])[1] == 0.0
    weights = load_weights()
    between = (weights.threshold + weights.strict_threshold) / 2
    assert SupportScorer(embedder).supported(between)
    assert SupportScorer(embedder, strict=True).supported(between) is (
        weights.strict_threshold == weights.threshold)


@pytest.mark.slow
def test_grounding_keeps_reattributes_and_drops_with_the_real_judge() -> None:
    """The contract rag.grounding relies on, with the shipped weights and the real models."""
    from ingest.embed import make_embedder
    from newsrag.settings import EmbeddingSettings

    texts = ["Trump said the talks will include land and power plants.", STORM]
    sources = [cite(n, t, f"a{n}") for n, t in enumerate(texts, start=1)]
    drafts = [DraftSentence("The talks will include land and power plants, Trump said.", (1,)),
              DraftSentence("The storm killed 21 people in Texas.", (1,)),
              DraftSentence("The storm killed 12 people in Texas.", (2,)),
              DraftSentence("Putin said the talks will include land and power plants.", (1,))]
    judge = AlignmentJudge(make_embedder(EmbeddingSettings()))
    grounded = ground_sentences(drafts, sources, judge, mode="flag")
    assert [(g.status, g.cited) for g in grounded] == [
        ("supported", (1,)), ("reattributed", (2,)), ("unsupported", (2,)),
        ("unsupported", (1,))]
    assert all(g.support >= judge.strict_threshold for g in grounded[:2])
