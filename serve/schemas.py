"""The API's request and response models (they make the OpenAPI schema at /openapi.json).

Chat completions follow OpenAI's shapes; newsrag's own data rides in one extra top-level
field, `newsrag`, on requests (options) and responses (citations, decline flag).
"""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from rag.models import Citation, Hit, ShortAnswer


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AskParameters(Strict):
    """Retrieval options: the same as `newsrag ask`'s."""

    k: int | None = Field(None, ge=1, le=200, description="Chunks to retrieve.")
    sources: list[str] = Field([], max_length=50, description="Only these outlets.")
    since: date | None = Field(None, description="Only articles published on or after.")
    until: date | None = Field(None, description="Only articles published on or before.")
    as_of: date | None = Field(None, description="When the question is asked: nothing "
                               "published later is used; 'this week' counts from it.")
    mmr: bool | None = None


class TextPart(BaseModel):
    model_config = ConfigDict(extra="allow")
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_call_id ... are accepted, unused
    role: str
    content: str | list[TextPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")
    include_usage: bool = False


class ChatRequest(BaseModel):
    """OpenAI's chat-completions request; sampling parameters are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str
    messages: list[ChatMessage]
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int = Field(1, ge=1, le=1)
    newsrag: AskParameters | None = Field(None, description="newsrag's retrieval options.")


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class NewsragExtra(BaseModel):
    """What plain chat clients cannot show: the structured citations, and why."""

    citations: list[Citation]
    declined: bool
    answer: str = Field(description="The answer text without the Markdown Sources list.")
    short_answer: ShortAnswer | None
    standalone_question: str
    generator: str
    fallback: bool


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop"] = "stop"
    logprobs: None = None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: Usage
    system_fingerprint: str | None = None
    newsrag: NewsragExtra


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "newsrag"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorDetail(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorDetail


class AnswerRequest(AskParameters):
    """POST /v1/answers: a question, earlier turns, options, and the generator."""

    question: str = Field(min_length=1)
    history: list[tuple[str, str]] = Field([], description="Earlier (question, answer) turns.")
    generator: str | None = Field(None, description="Default: generation.generator.")


class BriefRequest(Strict):
    """POST /v1/briefs: the top stories of a window, or with a topic its timeline (the same
    as `newsrag brief`)."""

    topic: str | None = Field(None, min_length=1, max_length=500,
                              description="Without one: the window's top stories.")
    since: date | None = Field(None, description="First day (default: 7 days to `until`).")
    until: date | None = Field(None, description="Last day (default: `as_of`, else today).")
    as_of: date | None = Field(None, description="When it is asked: nothing published later "
                               "is used.")
    max_items: int = Field(10, ge=1, le=50, description="Most stories or timeline entries.")


class SearchResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[Hit]
    date_window: tuple[str, str] | None = None


class ArticleSummary(BaseModel):
    id: str
    title: str
    source: str
    url: str
    published: str | None
    authors: list[str]
    chunks: int
    chars: int
    ingested_at: str


class ArticlePage(BaseModel):
    object: Literal["list"] = "list"
    data: list[ArticleSummary]
    total: int
    offset: int
    limit: int


class SentenceSpan(BaseModel):
    index: int
    start: int
    end: int
    text: str


class ArticleDetail(ArticleSummary):
    text: str
    location: str
    sentences: list[SentenceSpan]


class Deleted(BaseModel):
    id: str
    object: Literal["article"] = "article"
    deleted: bool = True


class IngestRequest(Strict):
    urls: list[str] = Field(min_length=1, max_length=100)


class SkipOut(BaseModel):
    location: str
    reason: str


class IngestResult(BaseModel):
    added: list[str]
    updated: list[str]
    unchanged: int
    skipped: list[SkipOut]
    warnings: list[SkipOut]
    chunks: int
    seconds: float


class Health(BaseModel):
    status: Literal["ok"] = "ok"
    version: str
    keys_required: bool
