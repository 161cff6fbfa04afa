"""`newsrag brief`: the top stories of a window, or a topic's timeline, every line cited.

    $ newsrag brief --since 2022-08-08 --until 2022-08-14
    $ newsrag brief "Mar-a-Lago search" --since "last month"
    $ newsrag brief --as-of 2022-08-12 --max-items 5 --json
"""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import date
from typing import Any

import click

from newsrag.terminal import counted, safe
from rag.answer_layout import day, update_phrase


@click.command(name="brief")
@click.argument("topic", required=False)
@click.option("--since", help="First day: YYYY-MM-DD or a phrase ('monday', 'last week').")
@click.option("--until", help="Last day (default: the --as-of day, else today).")
@click.option("--as-of", "as_of", help="The day the briefing is asked on: nothing published "
                                       "later is used, phrases count back from it.")
@click.option("--max-items", type=click.IntRange(1, 50), default=10, show_default=True,
              help="Most stories (or timeline entries).")
@click.option("--json", "as_json", is_flag=True, help="Print the whole Briefing as JSON.")
@click.pass_context
def brief_command(ctx: click.Context, topic: str | None, since: str | None, until: str | None,
                  as_of: str | None, max_items: int, as_json: bool) -> None:
    """What happened (the top stories of a window, default the last 7 days), or with a
    TOPIC how it developed (a dated timeline); every line quotes its source exactly."""
    from rag.brief import brief
    from rag.dates import parse_day

    today = date.today()
    reference = parse_day(as_of, today, end=True) if as_of else None
    anchor = reference or today
    briefing = brief(ctx.find_root().obj.services, topic.strip() if topic else None,
                     since=parse_day(since, anchor) if since else None,
                     until=parse_day(until, anchor, end=True) if until else None,
                     as_of=reference, max_items=max_items)
    if as_json:
        click.echo(json.dumps(asdict(briefing), indent=2, ensure_ascii=False))
        return
    for line in briefing_lines(asdict(briefing)):
        click.echo(line)


def briefing_lines(briefing: dict[str, Any]) -> list[str]:
    """The briefing as terminal lines: a heading, then each item's quoted lines with their
    sources and spans."""
    window = f"{briefing['since'] or '…'} .. {briefing['until'] or '…'}"
    heading = (f"Timeline: {safe(briefing['topic'])} ({window})" if briefing["kind"] ==
               "timeline" else f"Top stories {window}")
    out = [f"{heading} · from {counted(briefing['articles'], 'article')}"]
    if briefing["message"]:
        out.append(safe(briefing["message"]))
    for n, item in enumerate(briefing["items"], start=1):
        carried = f"{counted(item['outlets'], 'outlet')}, {counted(item['articles'], 'article')}"
        out.append(f"\n{n}. {day(item['date'])} · {carried}")
        out.extend(_cited(item["headline"], "   "))
        for fact in item["facts"]:
            out.extend(_cited(fact, "   - "))
    return out


def _cited(line: dict[str, Any], lead: str) -> list[str]:
    shown = [f"{lead}{safe(line['text'])}"]
    update = line.get("update")
    if update:
        shown.append("     ↳ update: " + safe(update_phrase(
            update.get("kind", "figures"), update["old"], update["new"],
            update["earlier"]["published"], line["published"])))
    shown.append(f"     [{safe(line['source']) or '-'}, {day(line['published'])}] "
                 f"id {safe(line['article_id'])}  chars {line['char_start']}–{line['char_end']}"
                 f"  support {line['support']:.2f}")
    return shown
