"""OpenAI chat completions over newsrag's Assistant, streamed or not.

`messages` become the question (the last user message) and the chat history (earlier
user/assistant turns; follow-ups are rewritten by rag/conversation.py). The reply's content is
the answer with its `[n]` markers, then a Markdown Sources list; the structured citations
ride in the extra top-level `newsrag` field (on the last chunk when streamed).

    >>> chat = ChatService(assistant, settings)                     # doctest: +SKIP
    >>> chat.complete(ChatRequest(model="newsrag", messages=[...])).newsrag.citations
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Iterator
from functools import lru_cache
from typing import Any

from newsrag.settings import Settings
from rag.answering import AskOptions, Assistant
from rag.generators import EXTRACTIVE
from rag.models import Answer
from rag.search import make_filters
from serve.errors import ApiError, as_api_error, error_body
from serve.schemas import (
    AskParameters,
    AssistantMessage,
    ChatCompletion,
    ChatMessage,
    ChatRequest,
    Choice,
    ModelCard,
    ModelList,
    NewsragExtra,
    Usage,
)

MODEL = "newsrag"
SOURCES_HEADING = "**Sources**"
_SOURCES_BLOCK = re.compile(r"\n*\*\*Sources\*\*\n.*\Z", re.DOTALL)
_IGNORED_ROLES = ("system", "developer")
_ROLES = ("user", "assistant", *_IGNORED_ROLES)


def sources_markdown(answer: Answer) -> str:
    """The Markdown Sources list appended to the answer text ("" without citations): one
    line per citation, quoting its sentence unless the answer already quotes it whole."""
    if not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        where = ", ".join(part for part in (c.source, (c.published or "")[:10]) if part)
        title = _md(c.title or "Untitled")
        quote = "" if c.text in answer.answer else f": \u201c{_md(c.text)}\u201d"
        link = f" <{c.url}>" if c.url.startswith(("http://", "https://")) else ""
        lines.append(f"- [{c.n}] *{title}*{f' ({_md(where)})' if where else ''}{quote}{link}")
    return f"\n\n{SOURCES_HEADING}\n" + "\n".join(lines)


def _md(text: str) -> str:
    """Text safe inside a Markdown list item: one line, no markup characters acting up."""
    return re.sub(r"([\\`*_<>\[\]])", r"\\\1", " ".join(text.split()))


def without_sources(content: str) -> str:
    """An assistant turn as history: its Sources list removed (names in it are not topic)."""
    return _SOURCES_BLOCK.sub("", content)


def message_text(message: ChatMessage, index: int) -> str:
    content = message.content
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        if part.type != "text" or part.text is None:
            raise ApiError(400, f"messages[{index}]: only text content is supported, not "
                           f"{part.type!r}", "unsupported_content", f"messages.{index}.content")
        parts.append(part.text)
    return "\n".join(parts)


def question_and_history(messages: list[ChatMessage], settings: Settings
                         ) -> tuple[str, list[dict[str, str]]]:
    """The last user message and the user/assistant turns before it, checked."""
    limits = settings.serve
    if not messages:
        raise ApiError(400, "messages: at least one user message is required",
                       "empty_messages", "messages")
    if len(messages) > limits.max_messages:
        raise ApiError(400, f"messages: {len(messages):,} messages is over the limit of "
                       f"{limits.max_messages:,}", "too_many_messages", "messages")
    turns: list[dict[str, str]] = []
    for index, message in enumerate(messages):
        if message.role not in _ROLES:
            raise ApiError(400, f"messages[{index}].role: {message.role[:40]!r} is not one of "
                           f"{', '.join(_ROLES)}", "invalid_role", f"messages.{index}.role")
        text = message_text(message, index)
        if message.role in _IGNORED_ROLES:
            continue  # newsrag's rules are its own: a system prompt cannot change them
        turns.append({"role": message.role,
                      "content": without_sources(text) if message.role == "assistant" else text})
    if not turns or turns[-1]["role"] != "user":
        raise ApiError(400, "messages: the last message must be the user's question",
                       "no_question", "messages")
    question = turns[-1]["content"].strip()
    if not question:
        raise ApiError(400, "messages: the question is empty", "empty_question", "messages")
    if len(question) > limits.max_question_chars:
        raise ApiError(400, f"messages: the question is {len(question):,} characters, over "
                       f"the limit of {limits.max_question_chars:,}", "question_too_long",
                       "messages")
    return question, turns[:-1]


def ask_options(parameters: AskParameters | None, generator: str | None) -> AskOptions:
    p = parameters or AskParameters()
    if p.since and p.until and p.since > p.until:
        raise ApiError(400, "newsrag.since is after newsrag.until", "invalid_dates",
                       "newsrag.since")
    return AskOptions(k=p.k, filters=make_filters(tuple(p.sources), p.since, p.until),
                      generator=generator, mmr=p.mmr, reference=p.as_of)


@lru_cache(maxsize=4)
def _encoding(name: str) -> Any:
    import tiktoken

    return tiktoken.get_encoding(name)


def extra(answer: Answer) -> NewsragExtra:
    return NewsragExtra(citations=list(answer.citations), declined=answer.refused,
                        answer=answer.answer, short_answer=answer.short_answer,
                        standalone_question=answer.standalone_question,
                        generator=answer.generator, fallback=answer.fallback)


class ChatService:
    """Chat completions for one Assistant; at most `serve.concurrency` answers at once."""

    def __init__(self, assistant: Assistant, settings: Settings) -> None:
        self.assistant = assistant
        self.settings = settings
        self.slots = threading.BoundedSemaphore(settings.serve.concurrency)
        self.started = int(time.time())

    def models(self) -> ModelList:
        return ModelList(data=[ModelCard(id=name, created=self.started)
                               for name in self.generators()])

    def generators(self) -> dict[str, str | None]:
        """Model name -> generator (None: the configured one)."""
        names = [EXTRACTIVE, self.settings.generation.generator, *self.settings.serve.generators]
        return {MODEL: None, **{f"{MODEL}-{name}": name for name in dict.fromkeys(names)}}

    def generator_of(self, model: str) -> str | None:
        generators = self.generators()
        if model not in generators:
            raise ApiError(404, f"the model {model[:80]!r} does not exist (see GET /v1/models: "
                           f"{', '.join(generators)})", "model_not_found", "model")
        return generators[model]

    def prepare(self, request: ChatRequest) -> tuple[str, list[dict[str, str]], AskOptions]:
        question, history = question_and_history(request.messages, self.settings)
        return question, history, ask_options(request.newsrag,
                                              self.generator_of(request.model))

    def complete(self, request: ChatRequest) -> ChatCompletion:
        question, history, options = self.prepare(request)
        with self.slots:
            answer = self.assistant.answer(question, history, options)
        content = answer.answer + sources_markdown(answer)
        return ChatCompletion(
            id=_completion_id(), created=int(time.time()), model=request.model,
            choices=[Choice(message=AssistantMessage(content=content))],
            usage=self.usage(question, history, content), newsrag=extra(answer))

    def stream(self, request: ChatRequest) -> Iterator[str]:
        """Server-sent events: role, content deltas, Sources, the finish chunk with the
        `newsrag` field, usage if asked, then [DONE]. Input errors are raised before."""
        question, history, options = self.prepare(request)
        chunk = _Chunks(_completion_id(), int(time.time()), request.model)
        include_usage = bool(request.stream_options and request.stream_options.include_usage)
        return self._events(question, history, options, chunk, include_usage)

    def _events(self, question: str, history: list[dict[str, str]], options: AskOptions,
                chunk: _Chunks, include_usage: bool) -> Iterator[str]:
        yield chunk.event({"role": "assistant", "content": ""}, usage=include_usage)
        written: list[str] = []
        try:
            with self.slots:
                with self.assistant.stream(question, history, options) as stream:
                    for delta in stream:
                        if delta:
                            written.append(delta)
                            yield chunk.event({"content": delta}, usage=include_usage)
                    answer = stream.answer
                tail = sources_markdown(answer)
                if tail:
                    written.append(tail)
                    yield chunk.event({"content": tail}, usage=include_usage)
                yield chunk.event({}, "stop", usage=include_usage,
                                  newsrag=extra(answer).model_dump(mode="json"))
        except Exception as exc:  # headers are sent: the error travels as an event
            error = as_api_error(exc)
            yield f"data: {json.dumps(error_body(error.status, error.message, error.code))}\n\n"
            return
        if include_usage:
            usage = self.usage(question, history, "".join(written))
            yield chunk.event(None, usage=True, usage_value=usage.model_dump())
        yield "data: [DONE]\n\n"

    def usage(self, question: str, history: list[dict[str, str]], content: str) -> Usage:
        """Token counts with the configured tiktoken encoding (there is no model prompt)."""
        encoding = _encoding(self.settings.chunking.encoding)
        prompt = sum(len(encoding.encode(t["content"], disallowed_special=()))
                     for t in history) + len(encoding.encode(question, disallowed_special=()))
        completion = len(encoding.encode(content, disallowed_special=()))
        return Usage(prompt_tokens=prompt, completion_tokens=completion,
                     total_tokens=prompt + completion)


class _Chunks:
    """`chat.completion.chunk` events sharing one id, time and model."""

    def __init__(self, completion_id: str, created: int, model: str) -> None:
        self.base = {"id": completion_id, "object": "chat.completion.chunk", "created": created,
                     "model": model, "system_fingerprint": None}

    def event(self, delta: dict[str, Any] | None, finish: str | None = None, usage: bool = False,
              usage_value: dict[str, int] | None = None, **fields: Any) -> str:
        choices = [] if delta is None else [{"index": 0, "delta": delta, "logprobs": None,
                                             "finish_reason": finish}]
        body: dict[str, Any] = {**self.base, "choices": choices, **fields}
        if usage:
            body["usage"] = usage_value
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex}"
