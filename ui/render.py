"""HTML for the UI, built from rag models. Every piece of article text is escaped here.

Gradio's HTML component fills a JS/Handlebars template, so besides `& < > " '` the escaper
also neutralises `{ } $ \\``: article text can never become markup, script or template code.
Control characters and bidi overrides are dropped too, so text cannot display as something else.

    >>> escape('<img src=x onerror=alert(1)> {{x}}')
    '&lt;img src=x onerror=alert(1)&gt; &#123;&#123;x&#125;&#125;'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ingest.models import Article
from newsrag.terminal import safe
from rag.answer_layout import (
    DECLINED,
    Evidence,
    Layout,
    day,
    later_notes,
    lay_out,
    without_markers,
)
from rag.models import Answer, AnswerSentence, Citation, Hit

_ENTITIES = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;",
             "{": "&#123;", "}": "&#125;", "$": "&#36;", "`": "&#96;", "\\": "&#92;"}
_ESCAPE = re.compile("[" + re.escape("".join(_ENTITIES)) + "]")
_PARAGRAPH_BREAK = re.compile(r"\n\s*\n")


def escape(text: object) -> str:
    """Text as inert HTML: no tags, attributes, entities, template syntax or controls survive."""
    return _ESCAPE.sub(lambda m: _ENTITIES[m.group(0)], safe(str(text)))


def plural(count: int, noun: str) -> str:
    """A count and its noun.

    >>> plural(1, "article"), plural(2, "article")
    ('1 article', '2 articles')
    """
    return f"{count} {noun}{'' if count == 1 else 's'}"


def safe_href(url: str) -> str | None:
    """The URL if it is plain http(s), else None (no javascript:, data: or relative links)."""
    parts = urlsplit(url.strip())
    return url.strip() if parts.scheme in ("http", "https") and parts.netloc else None


def link(url: str, label: str, fallback: bool = True) -> str:
    """A new-tab link to an http(s) URL; otherwise the label as text (or nothing)."""
    href = safe_href(url)
    if href is None:
        return escape(label) if fallback else ""
    return (f'<a href="{escape(href)}" target="_blank" rel="noopener noreferrer nofollow">'
            f"{escape(label)}</a>")


@dataclass(frozen=True)
class ChatTurn:
    """One exchange of the chat: the question and, once finished, its Answer."""

    question: str
    text: str = ""  # the answer as streamed so far
    answer: Answer | None = None
    error: str = ""


def render_transcript(turns: Sequence[ChatTurn], show_checks: bool = False,
                      selected: tuple[int, int] | None = None) -> str:
    """The whole chat: questions, short answers with [n] markers, each answer's citations."""
    if not turns:
        return ('<div class="nr-empty">Ask a question about the ingested news. The short answer '
                "comes first, then the source sentences it rests on; click a citation to read "
                "it in its article.</div>")
    parts = [_render_turn(i, turn, show_checks, selected) for i, turn in enumerate(turns)]
    return '<div class="nr-transcript">' + "".join(parts) + "</div>"


def _render_turn(index: int, turn: ChatTurn, show_checks: bool,
                 selected: tuple[int, int] | None) -> str:
    question = f'<div class="nr-q"><span class="nr-who">You</span>{escape(turn.question)}</div>'
    if turn.error:
        body = f'<div class="nr-error" role="alert">{escape(turn.error)}</div>'
        if turn.text and turn.answer is None:  # stopped: what had come is kept
            body = f'<div class="nr-a nr-stopped">{_marked_text(turn.text)}{body}</div>'
    elif turn.answer is None:
        body = (f'<div class="nr-a nr-streaming" aria-busy="true">{_marked_text(turn.text)}'
                '<span class="nr-cursor"></span></div>')
    else:
        body = _render_answer(index, turn.answer, show_checks, selected)
    return f'<div class="nr-turn" data-turn="{index}">{question}{body}</div>'


def _render_answer(index: int, answer: Answer, show_checks: bool,
                   selected: tuple[int, int] | None) -> str:
    """The short answer in bold, any written prose, then each cited sentence once with its
    article, day and outlet (rag/answer_layout.py decides what is shown where)."""
    from ui.checks import render_checks  # it renders with this module's escape and markers

    layout = lay_out(answer)
    checks = render_checks(index, answer) if show_checks else ""
    if layout.declined:
        return (f'<div class="nr-a nr-refused" data-answer="{index}">'
                f'<span class="nr-badge nr-badge-refused">Not covered</span>'
                f'<p class="nr-text nr-declined">{escape(DECLINED)}</p>{_window(layout)}'
                f"{_closest(layout.closest)}{checks}</div>")
    top = ""
    if layout.short is not None:
        kind = escape(layout.short.kind)  # a whole sentence is set smaller than a name
        top = (f'<p class="nr-short nr-short-{kind}"><strong>{escape(layout.short.text)}'
               f"</strong>{marker(layout.short.citation, index)}</p>")
    if layout.prose:
        top += '<p class="nr-text">' + " ".join(_prose(index, s) for s in layout.prose) + "</p>"
    chosen = selected[1] if selected and selected[0] == index else None
    later = "".join(f'<div class="nr-later">Update: {escape(note)}</div>'
                    for note in later_notes(answer))
    return (f'<div class="nr-a" data-answer="{index}">{_searched(answer)}{top}{_window(layout)}'
            f"{_cards(index, layout.evidence, chosen)}{later}{_tools(index)}{checks}</div>")


def _searched(answer: Answer) -> str:
    """The follow-up as rewritten for the search, when it differs from what was typed."""
    searched = answer.standalone_question.strip()
    if not searched or searched.casefold() == answer.question.strip().casefold():
        return ""
    shown = searched if len(searched) <= 160 else searched[:159].rstrip() + "…"
    return (f'<div class="nr-searched nr-note" title="{escape(searched)}">searched for: '
            f"{escape(shown)}</div>")


def _tools(index: int) -> str:
    """Per-answer actions run in the browser (the app's script copies the answer's text)."""
    return (f'<div class="nr-tools"><button type="button" class="nr-copy" data-copy="{index}" '
            'title="Copy the answer and its sources">Copy</button></div>')


def _cards(index: int, evidence: Sequence[Evidence], chosen: int | None) -> str:
    """One compact card per cited article (title, day, outlet once), its citations inside."""
    groups: dict[str, list[Evidence]] = {}
    for entry in evidence:
        groups.setdefault(entry.citation.article_id, []).append(entry)
    cards = "".join(_card(index, entries, chosen) for entries in groups.values())
    return f'<ol class="nr-citations" aria-label="Citations">{cards}</ol>'


def _card(index: int, entries: Sequence[Evidence], chosen: int | None) -> str:
    first = entries[0].citation
    head = (f'<div class="nr-card-head"><span class="nr-cite-title">'
            f'{escape(first.title or "Untitled")}</span> '
            f'<span class="nr-meta">{_origin(first.published, first.source)}</span></div>')
    items = "".join(_render_citation(index, e, e.citation.n == chosen) for e in entries)
    return (f'<li class="nr-card" data-article="{escape(first.article_id)}">{head}'
            f'<ul class="nr-card-cites">{items}</ul></li>')


def _marked_text(text: str, turn: int | None = None) -> str:
    """Answer text with its [n] markers as buttons that open the citation."""
    out, last = [], 0
    for match in re.finditer(r"\[(\d+)\]", text):
        out.append(escape(text[last:match.start()]))
        out.append(marker(int(match.group(1)), turn))
        last = match.end()
    out.append(escape(text[last:]))
    return '<p class="nr-text">' + "".join(out) + "</p>"


def marker(n: int, turn: int | None) -> str:
    """A [n] citation marker; a button that opens the source when it belongs to a turn."""
    if turn is None:
        return f'<sup class="nr-marker">[{n}]</sup>'
    return (f'<sup><button type="button" class="nr-marker" data-turn="{turn}" data-cite="{n}" '
            f'title="Show source [{n}]">[{n}]</button></sup>')


def _prose(turn: int, sentence: AnswerSentence) -> str:
    """A sentence of the answer with its markers; a quoted one opens its source on click."""
    markers = "".join(marker(n, turn) for n in sentence.citations)
    if sentence.status == "quoted" and len(sentence.citations) == 1:  # verbatim source text
        return (f'<span class="nr-quoted" data-turn="{turn}" data-cite="{sentence.citations[0]}"'
                f' title="Show source">{escape(sentence.text)}</span>{markers}')
    return escape(without_markers(sentence.text)) + markers


def _window(layout: Layout) -> str:
    if not layout.window:
        return ""
    since, until = (day(d) for d in layout.window)
    return (f'<div class="nr-note nr-window">Articles published {escape(since)} to '
            f"{escape(until)}, as the question asks.</div>")


def _closest(hits: Sequence[Hit]) -> str:
    if not hits:
        return '<div class="nr-note">Nothing matched: is anything ingested?</div>'
    items = "".join(f'<li>{link(h.url, h.title or "Untitled")} '
                    f'<span class="nr-meta">{_origin(h.published, h.source)}</span></li>'
                    for h in hits)
    return (f'<div class="nr-closest"><div class="nr-note">Closest articles:</div>'
            f"<ul>{items}</ul></div>")


def _origin(published: str | None, source: str) -> str:
    return " · ".join(escape(part) for part in (day(published), source) if part)


def _render_citation(turn: int, entry: Evidence, selected: bool) -> str:
    citation = entry.citation
    current = ' aria-current="true"' if selected else ""
    quote = (f'<blockquote class="nr-quote">{_quote(citation.text, entry.highlight)}'
             "</blockquote>" if entry.quote else "")
    return (f'<li class="nr-citation"{current}><button type="button" class="nr-cite-open" '
            f'data-turn="{turn}" data-cite="{citation.n}" title="Show source [{citation.n}]">'
            f"[{citation.n}]</button>{quote}</li>")


def _quote(text: str, highlight: tuple[int, int] | None) -> str:
    """The cited sentence, its short answer (if any) in bold."""
    if highlight is None:
        return escape(text)
    start, end = highlight
    return (f'{escape(text[:start])}<strong class="nr-hl">{escape(text[start:end])}</strong>'
            f"{escape(text[end:])}")


CLOSE_PANE = ('<button type="button" class="nr-close" aria-label="Close the source pane">'
              "Close</button>")


def render_article(article: Article, citation: Citation | None, label: str = "") -> str:
    """The article, with the cited sentence (if any) highlighted in its paragraph."""
    meta = " · ".join(escape(p) for p in (
        article.source, day(article.published), ", ".join(article.authors)) if p)
    paragraphs = "".join(
        f"<p>{_highlighted(article.text, start, end, citation)}</p>"
        for start, end in paragraph_spans(article.text))
    label = label or (f"Source [{citation.n}]" if citation else "Article")
    return (f'<article class="nr-article" data-article="{escape(article.id)}">{CLOSE_PANE}'
            f'<div class="nr-pane-label">{escape(label)}</div>'
            f"<h3>{escape(article.title or 'Untitled')}</h3>"
            f'<div class="nr-meta">{meta} {link(article.url, "· open original", fallback=False)}'
            f"</div>{paragraphs}</article>")


def paragraph_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) of each paragraph: text between blank lines."""
    spans, start = [], 0
    for brk in _PARAGRAPH_BREAK.finditer(text):
        spans.append((start, brk.start()))
        start = brk.end()
    spans.append((start, len(text)))
    return [(s, e) for s, e in spans if text[s:e].strip()]


def _highlighted(text: str, start: int, end: int, citation: Citation | None) -> str:
    if citation is None:
        return escape(text[start:end])
    lo, hi = max(start, citation.char_start), min(end, citation.char_end)
    if lo >= hi:
        return escape(text[start:end])
    return (escape(text[start:lo]) + f'<mark class="nr-cited" id="nr-cited">{escape(text[lo:hi])}'
            "</mark>" + escape(text[hi:end]))


def render_missing_article(citation: Citation) -> str:
    """The pane when the cited article was deleted since the answer."""
    return (f'<div class="nr-article">{CLOSE_PANE}<h3>{escape(citation.title)}</h3>'
            '<p class="nr-note">'
            "This article is no longer in the library. The cited sentence was:</p>"
            f'<blockquote class="nr-quote"><mark class="nr-cited">{escape(citation.text)}'
            "</mark></blockquote></div>")


def render_sources(hits: Sequence[Hit], turn: int | None = None) -> str:
    """The articles answer `turn` retrieved, best first, with their best chunk score."""
    if not hits:
        return '<div class="nr-note">Sources appear here after a question.</div>'
    caption = (f'<div class="nr-pane-label" data-sources-of="{turn}">Retrieved for answer '
               f"{turn + 1}</div>" if turn is not None else "")
    best: dict[str, Hit] = {}
    for hit in hits:
        if hit.article_id not in best or hit.score > best[hit.article_id].score:
            best[hit.article_id] = hit
    rows = "".join(
        f'<tr><td class="nr-score">{hit.score:.3f}</td>'
        f'<td>{link(hit.url, hit.title or "Untitled")}</td><td>{escape(hit.source)}</td>'
        f'<td>{escape(day(hit.published))}</td></tr>'
        for hit in sorted(best.values(), key=lambda h: -h.score))
    return (f'{caption}<table class="nr-sources"><thead><tr><th>Score</th><th>Article</th>'
            f"<th>Source</th><th>Date</th></tr></thead><tbody>{rows}</tbody></table>")
