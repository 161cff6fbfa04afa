"""The Brief tab: the top stories of a window, or a topic's timeline, every line a quote with
its source, day and exact span (rag/brief.py). All text goes through `ui.render.escape`.

    >>> html = render_briefing(brief(services, since=date(2022, 8, 8)))   # doctest: +SKIP
"""

# No `from __future__ import annotations`: Gradio reads handler hints at run time.

from datetime import date
from typing import Any

import gradio as gr

from newsrag.errors import InputError
from rag.answer_layout import day, update_phrase
from rag.brief import Briefing, BriefItem, CitedLine, brief
from rag.dates import parse_day
from rag.services import Services
from ui.guard import guarded
from ui.render import escape, link, plural


def brief_tab(services: Services) -> Any:
    """The tab's fields and button, wired to `run_brief`; returns the click event."""
    gr.Markdown("What happened in a window, or with a topic how a story developed. Dates: "
                "YYYY-MM-DD or phrases like 'monday' or 'last week'.")
    with gr.Row():
        topic = gr.Textbox(label="Topic (empty: top stories)", elem_id="nr-brief-topic",
                           max_lines=1, scale=3)
        since = gr.Textbox(label="Since", elem_id="nr-brief-since", max_lines=1, scale=1)
        until = gr.Textbox(label="Until", elem_id="nr-brief-until", max_lines=1, scale=1)
        as_of = gr.Textbox(label="As of", elem_id="nr-brief-as-of", max_lines=1, scale=1)
        items = gr.Number(10, label="Items", precision=0, minimum=1, maximum=50,
                          elem_id="nr-brief-items", scale=0, min_width=80)
    start = gr.Button("Brief me", variant="primary", elem_id="nr-brief-run")
    problem = gr.HTML("", elem_id="nr-brief-error")
    shown = gr.HTML('<div class="nr-empty">No briefing yet.</div>', elem_id="nr-brief")

    def run(*values: Any) -> tuple[str, str]:
        return run_brief(services, *values)

    return start.click(guarded(run), [topic, since, until, as_of, items], [shown, problem],
                       concurrency_limit=2, api_visibility="private")


def run_brief(services: Services, topic: str, since: str, until: str, as_of: str,
              items: float | None) -> tuple[str, str]:
    """(briefing HTML, error line): a date that cannot be read is an error line, not a raise."""
    try:
        reference = parse_day(as_of, date.today(), end=True) if (as_of or "").strip() else None
        anchor = reference or date.today()
        first = parse_day(since, anchor) if (since or "").strip() else None
        last = parse_day(until, anchor, end=True) if (until or "").strip() else None
    except InputError as exc:
        return gr.skip(), _error(str(exc))
    count = min(max(int(items or 10), 1), 50)
    briefing = brief(services, (topic or "").strip() or None, first, last, reference, count)
    return render_briefing(briefing), ""


def render_briefing(briefing: Briefing) -> str:
    """The briefing as HTML: a heading, a message if any, then one block per item."""
    window = f"{briefing.since or '…'} – {briefing.until or '…'}"
    title = (f"Timeline: {escape(briefing.topic)}" if briefing.kind == "timeline"
             else "Top stories")
    parts = [f'<div class="nr-brief"><h3>{title} <small>{escape(window)} · from '
             f'{plural(briefing.articles, "article")}</small></h3>']
    if briefing.message:
        parts.append(f'<div class="nr-note">{escape(briefing.message)}</div>')
    parts.append('<ol class="nr-brief-items">')
    parts.extend(_item(item) for item in briefing.items)
    parts.append("</ol></div>")
    return "".join(parts)


def _item(item: BriefItem) -> str:
    facts = "".join(f"<li>{_line(f)}</li>" for f in item.facts)
    return (f'<li class="nr-brief-item"><div class="nr-brief-meta">{escape(day(item.date))} · '
            f'{plural(item.outlets, "outlet")}, {plural(item.articles, "article")}</div>'
            f'{_line(item.headline)}{f"<ul>{facts}</ul>" if facts else ""}</li>')


def _line(line: CitedLine) -> str:
    update = ""
    if line.update:
        phrase = update_phrase(line.update.kind, line.update.old, line.update.new,
                               line.update.earlier.published, line.published)
        update = f'<div class="nr-brief-update">Update: {escape(phrase)}.</div>'
    source = link(line.url, line.source or line.title or line.article_id)
    return (f'<blockquote class="nr-brief-line">{escape(line.text)}</blockquote>{update}'
            f'<div class="nr-brief-cite">{source} · {escape(day(line.published))} · '
            f'<span title="characters of the article">id {escape(line.article_id)} · chars '
            f"{line.char_start}–{line.char_end}</span></div>")


def _error(message: str) -> str:
    return f'<div class="nr-inline-error" role="alert">{escape(message)}</div>'
