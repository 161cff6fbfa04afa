"""The `newsrag` command line: a thin layer over the library's entry functions.

    $ newsrag ingest data/sample
    $ newsrag ask "What will Trump and Putin discuss?" --stream
    $ newsrag chat --generator llama-cpp
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING, Any

import click

from newsrag.cli.brief import brief_command
from newsrag.cli.context import CliContext, pass_context
from newsrag.cli.evals import eval_group
from newsrag.cli.library import LIBRARY_COMMANDS
from newsrag.cli.serve import keys_group, serve_command
from newsrag.cli.watch import watch_command
from newsrag.errors import NewsragError
from newsrag.settings import load_settings
from newsrag.terminal import report_error, safe

if TYPE_CHECKING:
    from rag.answering import AskOptions, Assistant



@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config", type=click.Path(), default=None,
              help="config.toml to use (default: NEWSRAG_CONFIG, else ./config.toml).")
@click.version_option(package_name="newsrag")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Offline Q&A over news articles, with every answer sentence cited."""
    ctx.obj = CliContext(config)


@cli.command()
@click.argument("inputs", nargs=-1, required=True)
@click.option("--prune", is_flag=True, help="Remove articles whose files (or records) vanished.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--verbose", "-v", is_flag=True,
              help="List every skip and warning (by default 20 of each reason).")
@click.option("--json", "as_json", is_flag=True,
              help="Print the outcome of every article, record and file as JSON.")
@pass_context
def ingest(app: CliContext, inputs: tuple[str, ...], prune: bool, quiet: bool, verbose: bool,
           as_json: bool) -> None:
    """Ingest files, directories (recursively) and http(s) URLs."""
    from ingest.pipeline import ingest as run_ingest
    from ingest.reporting import json_report, text_report
    from newsrag.cli.progress import ingest_progress

    with ingest_progress(enabled=not quiet and sys.stderr.isatty()) as on_event:
        report = run_ingest(inputs, app.settings, app.services.index, prune=prune,
                            on_event=on_event)
    for line in [json_report(report)] if as_json else text_report(report, verbose):
        click.echo(line)
    if report.stored == 0:
        raise NewsragError("nothing could be ingested")



def _filter_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
                        help="When the question is asked: nothing published later is used, and "
                             "with retrieval.resolve_dates 'this week' etc. count from it.")(func)
    func = click.option("--until", type=click.DateTime(["%Y-%m-%d"]),
                        help="Only articles published on or before this date.")(func)
    func = click.option("--since", type=click.DateTime(["%Y-%m-%d"]),
                        help="Only articles published on or after this date.")(func)
    func = click.option("--source", "sources", multiple=True,
                        help="Only articles from this source (repeatable).")(func)
    return click.option("--k", type=click.IntRange(1, 200), default=None,
                        help="How many chunks to retrieve (default: retrieval.k).")(func)


def _filters(sources: tuple[str, ...], since: Any, until: Any) -> Any:
    from rag.search import make_filters

    as_date: Callable[[Any], date | None] = lambda v: v.date() if v else None  # noqa: E731
    return make_filters(sources, as_date(since), as_date(until))


@cli.command()
@click.argument("query")
@_filter_options
@click.option("--explain", is_flag=True,
              help="Show each hit's dense, BM25 and article-BM25 ranks and fused score.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def search(app: CliContext, query: str, k: int | None, sources: tuple[str, ...], since: Any,
           until: Any, as_of: Any, explain: bool, as_json: bool) -> None:
    """Ranked chunks for a query, with their article and sentences."""
    from rag.search import SearchOptions, future_dated
    from rag.search import search as run_search

    result = run_search(query, app.services, SearchOptions(
        k=k or 10, filters=_filters(sources, since, until),
        reference=as_of.date() if as_of else None))
    if as_json:
        click.echo(json.dumps([h.model_dump() for h in result.hits], indent=2,
                              ensure_ascii=False))
        return
    if not result.hits:
        click.echo("no results (is anything ingested? see `newsrag stats`)")
    if result.window and explain:
        click.echo(f'"{result.window.phrase}" → published {result.window.since} .. '
                   f"{result.window.until}")
    for rank, hit in enumerate(result.hits, start=1):
        click.echo(f"{rank}. [{hit.score:.4f}] {safe(hit.title)} — {hit.published or 'undated'}"
                   f" · {safe(hit.source) or '-'}\n   {safe(hit.url) or '(no url)'}  "
                   f"id {safe(hit.article_id)} chunk {hit.chunk_index}")
        if explain:
            click.echo(f"   ranks: dense {_place(hit.dense_rank)} · BM25 {_place(hit.bm25_rank)}"
                       f" · article BM25 {_place(hit.article_rank)} · cosine "
                       f"{hit.similarity if hit.similarity is not None else '-'} · fused "
                       f"{hit.score:.4f}")
            if future_dated(hit, result.reference):
                click.echo(f"   dated after {result.reference}: a future date is not trusted, "
                           "so no recency bonus")
        for sentence in hit.sentences:
            click.echo(f"   · {safe(sentence.text)}")


def _place(rank: int | None) -> str:
    return "-" if rank is None else f"#{rank}"


def _answer_options(func: Callable[..., Any]) -> Callable[..., Any]:
    func = _filter_options(func)
    func = click.option("--mmr/--no-mmr", default=None,
                        help="Diversify retrieved chunks (default: retrieval.mmr).")(func)
    return click.option("--generator", default=None, metavar="NAME",
                        help="Who writes the answer: extractive, llama-cpp, openai, ollama or "
                             "module:factory (default: generation.generator).")(func)


def _assistant(app: CliContext, generator: str | None, mmr: bool | None, k: int | None,
               sources: tuple[str, ...], since: Any, until: Any, as_of: Any
               ) -> tuple[Assistant, AskOptions]:
    """The Assistant and the per-question options given on the command line."""
    from rag.answering import AskOptions, Assistant

    assistant = Assistant(app.services)
    assistant.chat_model(generator)  # an unknown --generator fails now, before any model loads
    return assistant, AskOptions(k=k, filters=_filters(sources, since, until),
                                 generator=generator, mmr=mmr,
                                 reference=as_of.date() if as_of else None)


@cli.command()
@click.argument("question")
@_answer_options
@click.option("--stream", "live", is_flag=True, help="Print the answer as it is written.")
@click.option("--show-checks", is_flag=True,
              help="Also print why the question was answered or declined (answer type, "
                   "candidates, reasons, dates) and each answer sentence's grounding.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the whole Answer as JSON (short answer, citations, checks, sources).")
@pass_context
def ask(app: CliContext, question: str, live: bool, show_checks: bool, as_json: bool,
        **options: Any) -> None:
    """Answer a question from the ingested news: a short answer, then the exact source
    sentences it rests on."""
    from newsrag.cli.chat import print_answer, print_checks

    assistant, ask_options = _assistant(app, **options)
    if as_json:
        click.echo(assistant.answer(question, None, ask_options).model_dump_json(indent=2))
        return
    answer = print_answer(assistant, question, [], ask_options, live=live, detailed=True)
    if show_checks:
        print_checks(answer)


@cli.command()
@_answer_options
@click.option("--show-checks", is_flag=True,
              help="Also print why each question was answered or declined and each answer "
                   "sentence's grounding.")
@pass_context
def chat(app: CliContext, show_checks: bool, **options: Any) -> None:
    """Chat in the terminal: follow-up questions, streamed cited answers (/help inside)."""
    from newsrag.cli.chat import ChatSession, run_chat

    assistant, ask_options = _assistant(app, **options)
    run_chat(ChatSession(assistant, ask_options, show_checks))


@cli.command()
@click.option("--host", default=None, help="Address to bind (default: ui.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None,
              help="Port (default: ui.port, 7860).")
@click.option("--watch", "watch", is_flag=True, default=None,
              help="Also run the feed watcher ([watch] sources) in the UI process.")
@pass_context
def ui(app: CliContext, host: str | None, port: int | None, watch: bool | None) -> None:
    """Open the chat UI in the browser at http://127.0.0.1:7860."""
    from ui.server import auth_users, prepare_gradio, serve_ui

    settings = load_settings(app.config)
    overrides = {k: v for k, v in (("host", host), ("port", port), ("watch", watch))
                 if v is not None}
    settings = settings.model_copy(update={"ui": settings.ui.model_copy(update=overrides)})
    auth_users(settings.ui)  # refuse an open non-local address before anything loads
    prepare_gradio(settings)
    from rag.services import build_services

    app._services = build_services(settings)
    serve_ui(app.services)


for command in LIBRARY_COMMANDS:
    cli.add_command(command)
cli.add_command(brief_command)
cli.add_command(eval_group)
cli.add_command(serve_command)
cli.add_command(keys_group)
cli.add_command(watch_command)


def main(argv: list[str] | None = None) -> None:
    """Console entry point: expected errors become one line on stderr and exit status 1."""
    try:
        cli.main(args=argv, prog_name="newsrag", standalone_mode=False)
    except (NewsragError, OSError) as exc:  # OSError: the machine's, not a bug (a full disk)
        report_error(exc)
        sys.exit(1)
    except click.exceptions.Abort:
        click.echo("newsrag: aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:  # a bug: still one line (the traceback too when debugging)
        report_error(exc)
        sys.exit(2)


if __name__ == "__main__":
    main()
