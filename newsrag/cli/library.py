"""Library commands: `newsrag list`, `show`, `delete`, `stats`.

    $ newsrag list --json
    $ newsrag show <id> --sentences
"""

from __future__ import annotations

import json
from typing import Any

import click

from newsrag.cli.context import CliContext, pass_context
from newsrag.terminal import counted, human_bytes, safe
from rag.answer_layout import day


@click.command(name="list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def list_articles(app: CliContext, as_json: bool) -> None:
    """List the ingested articles, newest first."""
    records = app.services.index.catalog.list_articles()
    if as_json:
        from ingest.stories import story_ids

        story = story_ids(app.services.index.catalog, (r.article.id for r in records))
        rows = [{"id": r.article.id, "title": r.article.title, "published": r.article.published,
                 "source": r.article.source, "url": r.article.url, "chunks": r.n_chunks,
                 "story_id": story[r.article.id]} for r in records]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    for r in records:
        when = day(r.article.published)
        click.echo(f"{safe(r.article.id)}  {when}  {safe(r.article.source) or '-'}  "
                   f"{safe(r.article.title)}  ({counted(r.n_chunks, 'chunk')})")
    click.echo(counted(len(records), "article"))


@click.command()
@click.argument("article_id")
@click.option("--sentences", is_flag=True, help="Number the sentences and show their spans.")
@pass_context
def show(app: CliContext, article_id: str, sentences: bool) -> None:
    """Show one article: metadata and text."""
    from newsrag.errors import NotFoundError

    record = app.services.index.catalog.get(article_id)
    if record is None:
        raise NotFoundError(f"no article with id {article_id!r} (see `newsrag list`)")
    a = record.article
    click.echo(f"{safe(a.title)}\n{a.published or 'undated'} · {safe(a.source) or '-'} · "
               f"{safe(', '.join(a.authors)) or '-'}\n{safe(a.url) or '(no url)'}\n"
               f"id {safe(a.id)} · "
               f"{record.n_chunks} chunks · from {safe(a.location)}\n")
    if sentences:
        for s in record.sentences:
            click.echo(f"[{s.index}] {s.start}-{s.end}  {safe(s.text)}")
    else:
        click.echo(safe(a.text))


@click.command()
@click.argument("article_ids", nargs=-1, required=True)
@pass_context
def delete(app: CliContext, article_ids: tuple[str, ...]) -> None:
    """Delete articles (and their chunks) by id."""
    from newsrag.errors import NotFoundError

    index = app.services.index
    with index.writing():
        removed = index.remove(article_ids)
    for article_id in removed:
        click.echo(f"deleted {safe(article_id)}")
    missing = sorted(set(article_ids) - set(removed))
    if missing:
        raise NotFoundError(f"no article with id {', '.join(map(repr, missing))}")


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def stats(app: CliContext, as_json: bool) -> None:
    """Articles, chunks and disk use of the store."""
    index = app.services.index
    data_dir = index.data_dir
    size = sum(p.stat().st_size for p in data_dir.rglob("*") if p.is_file()) if (
        data_dir.exists()) else 0
    embedding = app.settings.embedding
    # The catalog records the vector space (the model); the backend is what computes it now.
    info: dict[str, Any] = {**index.catalog.stats(), "data_dir": str(data_dir),
                            "bytes_on_disk": size, "embedding_backend": embedding.backend,
                            "vector_space": index.catalog.get_meta("embedder")}
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    model = str(info["vector_space"] or "").rpartition(":")[2] or "none yet"
    click.echo(f"articles: {info['articles']}\nchunks: {info['chunks']}\n"
               f"data dir: {info['data_dir']}\ndisk use: {human_bytes(size)}\n"
               f"embedder: {embedding.backend} ({model})")



LIBRARY_COMMANDS = (list_articles, show, delete, stats)
