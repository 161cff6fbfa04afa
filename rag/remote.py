"""Chat models behind a server: any OpenAI-compatible endpoint, and Ollama, through LangChain.

LangChain objects stay inside this module: role/content dicts come in, text deltas go out.
Constructors are cheap (the client is built on the first `stream`), and every failure to reach
or use the server becomes one `ModelError` line that names the server.

    >>> from newsrag.settings import GenerationSettings
    >>> chat = OpenAIChat(GenerationSettings())
    >>> chat.name
    'openai:local-model'
    >>> "".join(chat.stream([{"role": "user", "content": "Hi"}]))  # doctest: +SKIP
    'Hello! How can I help you?'
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict

from newsrag.errors import ModelError
from newsrag.registry import with_options
from newsrag.settings import GenerationSettings
from rag.generators import ChatModel, Messages

# Local servers ignore the key, but the OpenAI client refuses to start without one.
PLACEHOLDER_API_KEY = "not-needed"
OPENAI_HOST = "api.openai.com"


def to_langchain(messages: Messages) -> list[Any]:
    """LangChain message objects for role/content dicts."""
    from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

    kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
    converted = []
    for message in messages:
        kind = kinds.get(message.get("role", ""))
        if kind is None:
            raise ValueError(f"unknown chat message role {message.get('role')!r}")
        converted.append(kind(content=message["content"]))
    return converted


def causes(exc: BaseException) -> list[BaseException]:
    """The exception and what it was raised from or during, outermost first."""
    chain = [exc]
    while (inner := chain[-1].__cause__ or chain[-1].__context__) and inner not in chain:
        chain.append(inner)
    return chain


def describe_cause(exc: BaseException) -> str:
    """The innermost cause in a few words, e.g. "connection refused"."""
    inner = causes(exc)[-1]
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", str(inner)).strip().rstrip(".")
    return (text[:1].lower() + text[1:]) if text else type(inner).__name__


def http_errors(name: str) -> tuple[type[BaseException], ...]:
    """`httpx.<name>` and, where installed, `httpx2.<name>` (openai 3 moved to httpx2)."""
    found = []
    for module in ("httpx", "httpx2"):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except ImportError:
            continue
    return tuple(found)


def status_detail(exc: Any) -> str:
    """The server's own words from an openai.APIStatusError, not a dump of its JSON body."""
    body = exc.body
    if isinstance(body, dict):
        for key in ("message", "detail", "error"):
            if isinstance(body.get(key), str) and body[key]:
                return str(body[key])
    return str(exc.response.reason_phrase or exc.message)


class _ServerChat:
    """What both backends share: a lazy client, the message conversion, one-line errors."""

    def __init__(self, kind: str, settings: GenerationSettings, base_url: str,
                 model: str) -> None:
        self.settings = settings
        self.base_url = base_url
        self.model = model
        self.name = f"{kind}:{model}"
        self._client: Any = None

    def stream(self, messages: Messages) -> Iterator[str]:
        converted = to_langchain(messages)
        try:
            if self._client is None:
                self._client = self._build()
            for chunk in self._client.stream(converted):
                if text := chunk.text:
                    yield str(text)
        except Exception as exc:
            if (message := self._explain(exc)) is None:
                raise
            raise ModelError(message) from None

    def _build(self) -> Any:
        raise NotImplementedError

    def _explain(self, exc: Exception) -> str | None:
        """One line for a failure of the server or the connection; None for anything else."""
        raise NotImplementedError

    def _unreachable(self, where: str, exc: BaseException) -> str:
        timeouts: tuple[type[BaseException], ...] = (TimeoutError, *http_errors("TimeoutException"))
        if any(isinstance(cause, timeouts) for cause in causes(exc)):
            return f"{where} did not answer within {self.settings.timeout_s:g} s"
        return f"cannot reach {where}: {describe_cause(exc)}"


class OpenAIOptions(BaseModel):
    """[generation.openai]"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base_url: str = "http://127.0.0.1:8000/v1"
    model: str = "local-model"
    api_key: str = ""


class OllamaOptions(BaseModel):
    """[generation.ollama]"""

    model_config = ConfigDict(extra="forbid", frozen=True)
    base_url: str = "http://127.0.0.1:11434"
    model: str = "llama3.2:3b"


class OpenAIChat(_ServerChat):
    """Any OpenAI-compatible chat server (llama-cpp-python, llama.cpp, vLLM, LM Studio, OpenAI)."""

    def __init__(self, settings: GenerationSettings, options: OpenAIOptions | None = None
                 ) -> None:
        self.options = options or OpenAIOptions.model_validate(
            settings.backend_tables().get("openai", {}))
        super().__init__("openai", settings, self.options.base_url, self.options.model)

    def _build(self) -> Any:
        from langchain_openai import ChatOpenAI

        key = self.options.api_key or os.environ.get("OPENAI_API_KEY")
        return ChatOpenAI(base_url=self.base_url, model=self.model,
                          api_key=key or PLACEHOLDER_API_KEY,
                          temperature=self.settings.temperature, seed=self.settings.seed,
                          timeout=self.settings.timeout_s, max_retries=1, **self._token_limit())

    def _token_limit(self) -> dict[str, Any]:
        # ChatOpenAI sends its max_tokens as max_completion_tokens, which OpenAI wants but
        # compatible servers such as llama-cpp-python's ignore (they then generate up to the
        # context size); OpenAI rejects a request that carries both names.
        if urlparse(self.base_url).hostname == OPENAI_HOST:
            return {"max_tokens": self.settings.max_tokens}
        return {"extra_body": {"max_tokens": self.settings.max_tokens}}

    def _explain(self, exc: Exception) -> str | None:
        import openai

        if not isinstance(exc, (openai.OpenAIError, *http_errors("HTTPError"))):
            return None
        where = f"the OpenAI-compatible server at {self.base_url}"
        if isinstance(exc, openai.APIStatusError):
            return f"{where} answered {exc.status_code}: {status_detail(exc)}"
        if isinstance(exc, openai.OpenAIError) and not isinstance(exc, openai.APIConnectionError):
            return f"{where} failed: {exc}"
        return self._unreachable(where, exc)


class OllamaChat(_ServerChat):
    """A model served by Ollama (https://ollama.com), e.g. `ollama pull llama3.2:3b`."""

    def __init__(self, settings: GenerationSettings, options: OllamaOptions | None = None
                 ) -> None:
        self.options = options or OllamaOptions.model_validate(
            settings.backend_tables().get("ollama", {}))
        super().__init__("ollama", settings, self.options.base_url, self.options.model)

    def _build(self) -> Any:
        from langchain_ollama import ChatOllama

        return ChatOllama(base_url=self.base_url, model=self.model,
                          temperature=self.settings.temperature, seed=self.settings.seed,
                          num_predict=self.settings.max_tokens,
                          client_kwargs={"timeout": self.settings.timeout_s})

    def _explain(self, exc: Exception) -> str | None:
        import ollama

        expected = (ollama.ResponseError, ollama.RequestError, ConnectionError)
        if not isinstance(exc, (*expected, *http_errors("HTTPError"))):
            return None
        where = f"the Ollama server at {self.base_url}"
        if isinstance(exc, ollama.ResponseError):
            if exc.status_code == 404 and "not found" in exc.error and "model" in exc.error:
                return f"{where} has no model '{self.model}' (try: ollama pull {self.model})"
            status = f"answered {exc.status_code}" if exc.status_code > 0 else "failed"
            return f"{where} {status}: {exc.error}"
        if isinstance(exc, ollama.RequestError):
            return f"{where} rejected the request: {exc.error}"
        return self._unreachable(where, exc)


@with_options(OpenAIOptions)
def openai_chat(settings: GenerationSettings, options: OpenAIOptions) -> ChatModel:
    return OpenAIChat(settings, options)


@with_options(OllamaOptions)
def ollama_chat(settings: GenerationSettings, options: OllamaOptions) -> ChatModel:
    return OllamaChat(settings, options)
