"""Deterministic stand-ins at our own boundaries, importable as "tests.fakes:FakeEmbedder"."""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Sequence

from newsrag.settings import EmbeddingSettings

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
