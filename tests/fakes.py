"""Deterministic stand-ins at our own boundaries, importable as "tests.fakes:FakeEmbedder"."""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Sequence

from newsrag.settings import EmbeddingSettings
from rag.judge import JudgeBase
from rag.text import content_words

DIMENSIONS = 64
_WORD = re.compile(r"\w+")


class FakeEmbedder:
    """Hashed bag of words: similar word sets give similar vectors, with no model at all."""

    name = "fake-hash-64"
    max_tokens = 256
    delay_s = 0.0  # per text; lets crash tests land kills mid-ingest

    def __init__(self, settings: EmbeddingSettings | None = None) -> None:
        self.calls: list[int] = []

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(len(texts))
        if self.delay_s:
            time.sleep(self.delay_s * len(texts))
        return [self._vector(text) for text in texts]

    def embed_query(self, text: str) -> list[float]:
        return self._vector(text)

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        return [len(_WORD.findall(text)) + 2 for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * DIMENSIONS
        for word in _WORD.findall(text.lower()):
            digest = hashlib.blake2b(word.encode(), digest_size=4).digest()
            vector[int.from_bytes(digest[:2], "big") % DIMENSIONS] += 1.0
        norm = math.sqrt(sum(v * v for v in vector)) or 1.0
        return [v / norm for v in vector]


class SlowFakeEmbedder(FakeEmbedder):
    """FakeEmbedder taking 5 ms per text, for kill-mid-ingest tests."""

    delay_s = 0.005


from collections.abc import Iterator  # noqa: E402  (appended section: the header is shared)


class ScriptedChat:
    """A ChatModel whose replies are given up front; it records what it was sent and how much
    of each reply was read, and streams in `delta_chars`-sized pieces."""

    def __init__(self, *replies: str, delta_chars: int = 3, name: str = "scripted",
                 error: Exception | None = None) -> None:
        self.replies = list(replies)
        self.delta_chars = delta_chars
        self.name = name
        self.error = error
        self.calls: list[list[dict[str, str]]] = []  # the messages of each stream() call
        self.consumed: list[int] = []  # deltas read, per call
        self.closed: list[bool] = []  # closed before the reply ran out, per call

    def stream(self, messages: Sequence[dict[str, str]]) -> Iterator[str]:
        self.calls.append([dict(m) for m in messages])
        self.consumed.append(0)
        self.closed.append(False)
        return self._deltas(len(self.calls) - 1)

    def _deltas(self, call: int) -> Iterator[str]:
        # A generator, like the real backends: errors surface on the first next().
        if self.error is not None:
            raise self.error
        if not self.replies:
            raise AssertionError(f"{self.name} has no reply left for call {call + 1}")
        reply = self.replies.pop(0)
        try:
            for start in range(0, len(reply), self.delta_chars):
                self.consumed[call] += 1
                yield reply[start:start + self.delta_chars]
        except GeneratorExit:
            self.closed[call] = True
            raise

    def total_deltas(self, reply: str) -> int:
        return -(-len(reply) // self.delta_chars)

    @property
    def prompts(self) -> list[str]:
        """The last message's content of each call (where newsrag puts the whole prompt)."""
        return [call[-1]["content"] for call in self.calls]


class OverlapJudge(JudgeBase):
    """Supported when most of the claim's content words appear in the cited sentences; the
    eval bar is lower than grounding's, as with the real judge."""

    name = "overlap"
    threshold = 0.5

    @property
    def strict_threshold(self) -> float:
        return 0.75

    def score(self, pairs: Sequence[tuple[str, Sequence[str]]]) -> list[float]:
        scores = []
        for claim, evidence in pairs:
            wanted = content_words(claim)
            have = set().union(*(content_words(e) for e in evidence)) if evidence else set()
            scores.append(len(wanted & have) / len(wanted) if wanted else 0.0)
        return scores
