"""Contract suites: what every Embedder, ChatModel and SupportJudge promises, written once and
run against the fake and each real backend (the VectorStore's is tests/test_store_contract.py).

A backend's test class inherits the contract and provides one fixture (`embedder`, `chat` or
`judge`); see tests/test_contracts.py.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import pytest

NEWS = ["The council approved the new harbour terminal on Monday.",
        "Police closed the coast road after the storm.",
        "Ferry fares will rise by 5 percent in April."]


class EmbedderContract:
    """ingest.embed.Embedder: unit vectors of one size, deterministic, honest token counts."""

    def test_it_names_its_vector_space_and_token_limit(self, embedder: Any) -> None:
        assert isinstance(embedder.name, str) and embedder.name
        assert isinstance(embedder.max_tokens, int) and embedder.max_tokens > 0

    def test_documents_become_unit_vectors_of_one_size(self, embedder: Any) -> None:
        vectors = embedder.embed_documents(NEWS)
        assert len(vectors) == len(NEWS) and len({len(v) for v in vectors}) == 1
        assert all(math.isclose(math.fsum(x * x for x in v), 1.0, rel_tol=1e-3) for v in vectors)
        assert embedder.embed_documents([]) == []

    def test_a_query_is_deterministic_and_in_the_same_space(self, embedder: Any) -> None:
        first, again = embedder.embed_query(NEWS[0]), embedder.embed_query(NEWS[0])
        assert len(first) == len(embedder.embed_documents(NEWS[:1])[0])
        assert max(abs(a - b) for a, b in zip(first, again, strict=True)) < 1e-5

    def test_the_same_text_is_nearer_itself_than_other_news(self, embedder: Any) -> None:
        query = embedder.embed_query(NEWS[1])
        cosines = [sum(a * b for a, b in zip(query, v, strict=True))
                   for v in embedder.embed_documents(NEWS)]
        assert cosines.index(max(cosines)) == 1

    def test_token_counts_grow_with_the_text(self, embedder: Any) -> None:
        short, longer = embedder.count_tokens(["Ferry fares rise.", " ".join(NEWS)])
        assert 0 < short < longer


class ChatModelContract:
    """rag.generators.ChatModel: a name, text deltas, the same reply at temperature 0, and a
    stream closed early leaves the model usable."""

    messages: ClassVar = [{"role": "system", "content": "Answer in one short sentence."},
                {"role": "user", "content": "What colour is the sky on a clear day?"}]

    def test_it_names_the_model(self, chat: Any) -> None:
        assert isinstance(chat.name, str) and chat.name

    def test_it_streams_text_deltas(self, chat: Any) -> None:
        deltas = list(chat.stream(self.messages))
        assert deltas and all(isinstance(d, str) for d in deltas)
        assert "".join(deltas).strip()

    def test_the_same_messages_get_the_same_reply(self, chat: Any) -> None:
        assert "".join(chat.stream(self.messages)) == "".join(chat.stream(self.messages))

    def test_a_stream_closed_early_frees_the_model(self, chat: Any) -> None:
        stream = iter(chat.stream(self.messages))
        next(stream)
        close = getattr(stream, "close", None)
        if close is not None:
            close()
        assert "".join(chat.stream(self.messages)).strip()


class JudgeContract:
    """rag.judge.SupportJudge: one probability per pair, higher for support than for an
    unrelated claim, deterministic, and a verdict at its own threshold."""

    evidence: ClassVar = ["The council approved the new harbour terminal on Monday, the mayor said."]

    def test_one_probability_per_pair(self, judge: Any) -> None:
        scores = judge.score([("The council approved the terminal.", self.evidence),
                              ("Ferry fares will rise in April.", self.evidence)])
        assert len(scores) == 2 and all(0.0 <= s <= 1.0 for s in scores)
        assert judge.score([]) == []

    def test_support_outscores_an_unrelated_claim(self, judge: Any) -> None:
        supported, unrelated = judge.score([
            ("The council approved the harbour terminal.", self.evidence),
            ("A volcano erupted in Iceland overnight.", self.evidence)])
        assert supported > unrelated
        assert judge.supported(supported) and not judge.supported(unrelated)

    def test_scores_are_deterministic(self, judge: Any) -> None:
        pair = [("The mayor said the terminal was approved.", self.evidence)]
        assert judge.score(pair) == pytest.approx(judge.score(pair))
