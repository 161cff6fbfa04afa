"""The FastAPI application: OpenAI-compatible chat, the REST API, /health, auth and limits.

    >>> app = create_app(services, KeyStore.in_data_dir(data_dir), "127.0.0.1")  # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8800)                       # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from importlib.metadata import PackageNotFoundError, version
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.responses import StreamingResponse

from rag.answering import Assistant
from rag.services import Services
from serve.auth import Caller, Guard
from serve.chat import ChatService
from serve.errors import error_response, install_error_handlers
from serve.keys import KeyStore
from serve.rest import build_router
from serve.schemas import ChatCompletion, ChatRequest, ErrorResponse, Health, ModelCard, ModelList
from ui.server import is_loopback

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorResponse} for code in (400, 401, 403, 404, 413, 429, 500)}


def newsrag_version() -> str:
    try:
        return version("newsrag")
    except PackageNotFoundError:
        return "0+unknown"


class BodyLimit:
    """413 for request bodies over the limit, whether announced (Content-Length) or not: the
    body is read here, up to the limit, before the app sees it."""

    def __init__(self, app: ASGIApp, limit: int, upload_limit: int) -> None:
        self.app, self.limit, self.upload_limit = app, limit, upload_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            # Not the API's: the mounted UI limits its uploads itself (ui.max_upload_mb).
            await self.app(scope, receive, send)
            return
        limit = self.upload_limit if scope["path"].startswith("/v1/ingest") else self.limit
        declared = dict(scope.get("headers") or []).get(b"content-length", b"")
        if declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, receive, send, limit)
            return
        parts: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            parts.append(message.get("body", b""))
            size += len(parts[-1])
            if size > limit:
                await self._refuse(scope, receive, send, limit)
                return
            if not message.get("more_body", False):
                break
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": b"".join(parts), "more_body": False}

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        response = error_response(413, _too_large(limit), "request_too_large",
                                  headers={"Connection": "close"})
        await response(scope, receive, send)


def _too_large(limit: int) -> str:
    return f"the request body is over the limit of {limit / 1024:,.0f} KB"


def create_app(services: Services, keys: KeyStore, host: str,
               assistant: Assistant | None = None) -> FastAPI:
    """The app for these services; `host` is the address it will bind (auth depends on it)."""
    settings = services.settings
    assistant = assistant or Assistant(services)
    guard = Guard(keys, settings.serve, bound_to_loopback=is_loopback(host))
    chat = ChatService(assistant, settings)
    # No /docs or /redoc: their pages load Swagger UI and ReDoc from a CDN, and newsrag makes
    # no page that reaches outside. The schema is at /openapi.json.
    app = FastAPI(title="newsrag", version=newsrag_version(), responses=ERRORS,
                  docs_url=None, redoc_url=None,
                  description="Cited answers over your news articles: an OpenAI-compatible "
                  "chat endpoint and a REST API. Citations ride in the `newsrag` field.")
    app.state.guard, app.state.chat, app.state.services = guard, chat, services
    install_error_handlers(app)

    def reader(request: Request) -> Caller:
        return _admit(guard, request, "read")

    def admin(request: Request) -> Caller:
        return _admit(guard, request, "admin")

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """Liveness (no key needed): the version and whether keys are required."""
        return Health(version=newsrag_version(), keys_required=guard.keys_required())

    @app.get("/v1/models", response_model=ModelList, dependencies=[Depends(reader)])
    def models() -> ModelList:
        """"newsrag" (the configured generator) and "newsrag-<generator>" for the others."""
        return chat.models()

    @app.get("/v1/models/{model}", response_model=ModelCard, dependencies=[Depends(reader)])
    def model(model: str) -> ModelCard:
        chat.generator_of(model)
        return ModelCard(id=model, created=chat.started)

    @app.post("/v1/chat/completions", response_model=ChatCompletion,
              dependencies=[Depends(reader)],
              responses={200: {"content": {"text/event-stream": {}}}})
    def chat_completions(request: ChatRequest) -> Any:
        """OpenAI chat completions; `stream: true` sends server-sent events. Citations are
        in the extra `newsrag` field (on the last chunk when streamed)."""
        if request.stream:
            return StreamingResponse(chat.stream(request), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache",
                                              "X-Accel-Buffering": "no"})
        return chat.complete(request)

    app.include_router(build_router(assistant, reader, admin))
    _add_cors(app, settings.serve.cors_origins)
    upload_limit = int(max(settings.ui.max_upload_mb * 1e6 + 2**20,
                           settings.serve.max_body_kb * 1024))
    app.add_middleware(BodyLimit, limit=settings.serve.max_body_kb * 1024,
                       upload_limit=upload_limit)
    return app


def _admit(guard: Guard, request: Request, need: str) -> Caller:
    client = request.client.host if request.client else "unknown"
    caller = guard.admit(request.headers.get("authorization"), client, need)  # type: ignore[arg-type]
    request.state.caller = caller
    return caller


def _add_cors(app: FastAPI, origins: list[str]) -> None:
    if not origins:
        return  # no CORS headers: browsers keep other sites' pages from calling the API
    from fastapi.middleware.cors import CORSMiddleware

    app.add_middleware(CORSMiddleware, allow_origins=origins, allow_credentials=False,
                       allow_methods=["GET", "POST", "DELETE"],
                       allow_headers=["Authorization", "Content-Type"])
