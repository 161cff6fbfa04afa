"""The REST API: search, full answers, briefings, the article library and ingest.

Ingest follows the UI's rules (ui/library.py: accepted extensions, upload size limit, files
saved under the data dir with safe names, http(s) URLs only).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import asdict
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from ingest.catalog import ArticleRecord
from ingest.models import IngestReport, Skip
from newsrag.errors import NotFoundError
from rag.answering import AskOptions, Assistant
from rag.brief import Briefing, brief
from rag.models import Answer
from rag.search import SearchOptions, make_filters, search
from serve.errors import ApiError
from serve.schemas import (
    AnswerRequest,
    ArticleDetail,
    ArticlePage,
    ArticleSummary,
    BriefRequest,
    Deleted,
    IngestRequest,
    IngestResult,
    SearchResponse,
    SentenceSpan,
    SkipOut,
)

if TYPE_CHECKING:
    from rag.services import Services

MAX_ID = 300


def build_router(assistant: Assistant, reader: Callable[..., Any],
                 admin: Callable[..., Any]) -> APIRouter:
    """The routes; `reader` and `admin` are the auth dependencies (serve/app.py)."""
    services = assistant.services
    router = APIRouter(prefix="/v1")
    read_only = [Depends(reader)]

    @router.get("/search", response_model=SearchResponse, dependencies=read_only)
    def search_articles(q: Annotated[str, Query(min_length=1, max_length=4000)],
                        k: Annotated[int, Query(ge=1, le=200)] = 10,
                        source: Annotated[list[str] | None, Query(max_length=50)] = None,
                        since: date | None = None, until: date | None = None,
                        as_of: date | None = None) -> SearchResponse:
        """Ranked chunks for a query, with their article, sentences and ranks."""
        result = search(q, services, SearchOptions(
            k=k, filters=make_filters(tuple(source or ()), since, until), reference=as_of))
        window = None
        if result.window:
            window = (str(result.window.since or ""), str(result.window.until or ""))
        return SearchResponse(data=result.hits, date_window=window)

    @router.post("/answers", response_model=Answer, dependencies=read_only)
    def answer(request: AnswerRequest) -> Answer:
        """The full Answer: text, sentences, citations, short answer, reader checks, sources."""
        if request.generator is not None:
            assistant.chat_model(request.generator)  # an unknown name fails here, clearly
        options = AskOptions(k=request.k, generator=request.generator, mmr=request.mmr,
                             filters=make_filters(tuple(request.sources), request.since,
                                                  request.until), reference=request.as_of)
        return assistant.answer(request.question, request.history, options)

    @router.post("/briefs", response_model=Briefing, dependencies=read_only)
    def briefs(request: BriefRequest) -> Briefing:
        """A briefing whose every line quotes an exact span of its article."""
        return brief(services, request.topic, request.since, request.until, request.as_of,
                     request.max_items)

    @router.get("/articles", response_model=ArticlePage, dependencies=read_only)
    def list_articles(offset: Annotated[int, Query(ge=0)] = 0,
                      limit: Annotated[int, Query(ge=1, le=500)] = 50,
                      q: Annotated[str, Query(max_length=500)] = "",
                      source: str | None = None, since: date | None = None,
                      until: date | None = None) -> ArticlePage:
        """Articles newest first; `q` matches titles, `source` the outlet exactly."""
        needle = q.strip().casefold()
        rows = [r for r in services.index.catalog.list_articles()
                if needle in r.article.title.casefold()
                and (source is None or r.article.source == source)
                and _within(r.article.published, since, until)]
        return ArticlePage(data=[_summary(r) for r in rows[offset:offset + limit]],
                           total=len(rows), offset=offset, limit=limit)

    @router.get("/articles/{article_id}", response_model=ArticleDetail,
                dependencies=read_only)
    def get_article(article_id: str) -> ArticleDetail:
        """One article: its text and every sentence's span (`text[start:end]`)."""
        record = services.index.catalog.get(_checked_id(article_id))
        if record is None:
            raise NotFoundError(f"no article with id {article_id[:MAX_ID]!r}")
        a = record.article
        return ArticleDetail(**_summary(record).model_dump(), text=a.text, location=a.location,
                             sentences=[SentenceSpan(**asdict(s)) for s in record.sentences])

    @router.delete("/articles/{article_id}", response_model=Deleted,
                   dependencies=[Depends(admin)])
    def delete_article(article_id: str) -> Deleted:
        """Delete an article and its chunks (admin keys only)."""
        from ui.library import LibraryHandlers

        return Deleted(id=LibraryHandlers(services).delete(_checked_id(article_id)))

    @router.post("/ingest", response_model=IngestResult, dependencies=[Depends(admin)],
                 openapi_extra={"requestBody": {"content": {
                     "application/json": {"schema": IngestRequest.model_json_schema()},
                     "multipart/form-data": {"schema": {"type": "object", "properties": {
                         "files": {"type": "array", "items": {"type": "string",
                                                              "format": "binary"}},
                         "urls": {"type": "string"}}}}}}})
    async def ingest(request: Request) -> IngestResult:
        """Ingest http(s) URLs (JSON `{"urls": [...]}`) or uploaded files (multipart
        `files`, optional `urls` field): the UI's rules (admin keys only)."""
        from starlette.concurrency import run_in_threadpool

        kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
        odd: list[str] = []
        with tempfile.TemporaryDirectory(dir=_upload_temp(services)) as temp:
            if kind == "application/json":
                try:
                    body = IngestRequest.model_validate_json(await request.body())
                except ValidationError as exc:
                    raise RequestValidationError(exc.errors()) from None
                files: list[str] = []
                # One URL per item: an item with spaces is not split into several.
                odd = [u for u in body.urls if u.split() != [u]]
                urls = " ".join(u for u in body.urls if u not in odd)
            elif kind in ("multipart/form-data", "application/x-www-form-urlencoded"):
                files, urls = await _received_files(request, Path(temp))
            else:
                raise ApiError(415, "send JSON {\"urls\": [...]} or multipart/form-data files",
                               "unsupported_media_type")
            report = (await run_in_threadpool(_ingest, services, files, urls) if files or urls
                      else IngestReport())
        report.skipped[:0] = [Skip(u, "not an http(s) URL") for u in odd]
        return _result(report)

    return router


def _ingest(services: Services, files: list[str], urls: str) -> IngestReport:
    from ui.library import LibraryHandlers

    return LibraryHandlers(services).ingest(files, urls)


async def _received_files(request: Request, folder: Path) -> tuple[list[str], str]:
    """Uploaded files written to `folder` under their own (made safe) names."""
    from ui.library import safe_upload_name

    form = await request.form(max_files=100, max_fields=10)
    paths: list[str] = []
    for number, item in enumerate(form.getlist("files")):
        if not isinstance(item, UploadFile):
            raise ApiError(400, "files: each must be an uploaded file", "invalid_file", "files")
        place = folder / str(number)
        place.mkdir()
        target = place / safe_upload_name(item.filename or "upload")
        with target.open("wb") as out:
            while chunk := await item.read(1 << 20):
                out.write(chunk)
        paths.append(str(target))
    urls = form.get("urls") or ""
    if not isinstance(urls, str):
        raise ApiError(400, "urls: must be text", "invalid_urls", "urls")
    if not paths and not urls.strip():
        raise ApiError(400, "send files or urls", "nothing_to_ingest")
    return paths, urls


def _upload_temp(services: Services) -> Path:
    folder = services.settings.resolved_data_dir() / "cache" / "api-uploads"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _result(report: IngestReport) -> IngestResult:
    return IngestResult(added=report.added, updated=report.updated, unchanged=report.unchanged,
                        skipped=[SkipOut(location=s.location, reason=s.reason)
                                 for s in report.skipped],
                        warnings=[SkipOut(location=s.location, reason=s.reason)
                                  for s in report.warnings],
                        chunks=report.chunks, seconds=round(report.seconds, 3))


def _checked_id(article_id: str) -> str:
    if not article_id or len(article_id) > MAX_ID or any(ord(c) < 32 for c in article_id):
        raise ApiError(400, "article id: 1-300 printable characters", "invalid_article_id",
                       "article_id")
    return article_id


def _within(published: str | None, since: date | None, until: date | None) -> bool:
    if since is None and until is None:
        return True
    if not published:
        return False
    day = published[:10]
    return (since is None or day >= since.isoformat()) and (
        until is None or day <= until.isoformat())


def _summary(record: ArticleRecord) -> ArticleSummary:
    a = record.article
    return ArticleSummary(id=a.id, title=a.title, source=a.source, url=a.url,
                          published=a.published, authors=list(a.authors),
                          chunks=record.n_chunks, chars=len(a.text),
                          ingested_at=record.ingested_at)
