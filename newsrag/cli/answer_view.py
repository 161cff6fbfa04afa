"""An Answer in the terminal: the short answer in bold, prose, evidence once, checks.

Every piece of article or model text goes through `newsrag.terminal.safe` and is kept on one
line, so no article can move the cursor, recolour the terminal or forge extra lines.

    North Korea [1]

    [1] "North Korea declared victory over Covid-19 on Thursday ..."
        North Korea says Covid is beaten — 2022-08-11 · CNN
"""

from __future__ import annotations

import re

import click

from newsrag.terminal import fit, safe
from rag.answer_layout import (
    DECLINED,
    Evidence,
    Layout,
    day,
    decision,
    later_notes,
    lay_out,
    without_markers,
)
from rag.models import Answer, AnswerSentence

_WHITESPACE = re.compile(r"\s+")


def one_line(text: str | None) -> str:
    """`safe` text with every run of whitespace (newlines too) as one space."""
    return " ".join(safe(text).split())


def print_view(answer: Answer, detailed: bool = False, prose_shown: bool = False) -> None:
    """The whole answer; `detailed` adds each citation's url, article id and character span."""
    layout = lay_out(answer, prose_shown)
    if layout.declined:
        print_declined(layout)
        return
    if layout.short is not None and not prose_shown:  # streamed, it led the text already
        text = one_line(layout.short.text)
        click.echo(fit(f"{click.style(text, bold=True)} [{layout.short.citation}]"))
    if layout.prose:
        click.echo(fit(" ".join(_sentence_text(s) for s in layout.prose)))
    print_window(layout)
    if layout.evidence:
        click.echo()
    for entry in layout.evidence:
        click.echo(fit(_evidence(entry, detailed), indent="    "))
    for note, report in zip(later_notes(answer), answer.later_reports, strict=True):
        span = (f"  id {report.article_id}  chars {report.char_start}–{report.char_end}"
                if detailed else "")
        click.echo(fit(f"Update: {safe(note)}{safe(span)}", indent="    "))


def print_declined(layout: Layout) -> None:
    """"The articles do not say." and the closest articles, each once."""
    click.echo(DECLINED)
    print_window(layout)
    if not layout.closest:
        click.echo("(nothing matched: is anything ingested? see `newsrag stats`)")
        return
    click.echo("\nClosest articles:")
    for hit in layout.closest:
        click.echo(fit(f"  - {_origin(hit.title or hit.article_id, hit.published, hit.source)}",
                       indent="    "))


def print_window(layout: Layout) -> None:
    if layout.window:
        since, until = layout.window
        click.echo(f"(articles published {day(since)} to {day(until)}, as the question asks)")


def print_sources(answer: Answer) -> None:
    """Every citation in full (/sources): quote, title, day, outlet, url, id and span."""
    if not answer.citations:
        click.echo("(the last answer cites nothing)")
    for citation in sorted(answer.citations, key=lambda c: c.n):
        click.echo(fit(_evidence(Evidence(citation, quote=True), detailed=True), indent="    "))


def print_checks(answer: Answer) -> None:
    """Why the question was answered or declined: the reader's answer type, candidates and
    reasons, the resolved dates, and each answer sentence's grounding."""
    click.echo("\nChecks:")
    if answer.standalone_question and answer.standalone_question != answer.question:
        click.echo(f"  searched for: {one_line(answer.standalone_question)}")
    click.echo(f"  decision:     {decision(answer)}")
    if answer.date_window:
        click.echo(f"  dates:        {day(answer.date_window[0])} to {day(answer.date_window[1])}")
    check = answer.check
    if check is None:
        click.echo(f"  reader:       none (generator {one_line(answer.generator)})")
    else:
        click.echo(f"  answer type:  {check.answer_type}")
        for reason in check.reasons:
            click.echo(f"  why:          {one_line(reason)}")
        click.echo("  candidates:" + ("" if check.candidates else "   none of the expected type"))
        for rank, c in enumerate(check.candidates, start=1):
            click.echo(f"    {rank}. {one_line(c.text)} — score {c.score:.2f} · "
                       f"{c.sentences} sentence{'s' * (c.sentences != 1)} · "
                       f"{c.articles} article{'s' * (c.articles != 1)}")
    grounded = (*answer.sentences, *answer.dropped)
    if grounded:
        click.echo("  grounding:")
    for s in grounded:
        cited = "".join(f"[{n}]" for n in s.citations) or "[-]"
        shown = ("(verbatim source sentence)" if s.status == "quoted"
                 else one_line(without_markers(s.text)))
        click.echo(f"    {s.status:<12} {s.support:.2f} {cited} {shown}")


def _sentence_text(sentence: AnswerSentence) -> str:
    markers = "".join(f"[{n}]" for n in sentence.citations)
    if sentence.status == "quoted":  # verbatim source text, never trimmed
        return f"{one_line(sentence.text)} {markers}".strip()
    return f"{one_line(without_markers(sentence.text))} {markers}".strip()


def _evidence(entry: Evidence, detailed: bool) -> str:
    c = entry.citation
    origin = _origin(c.title, c.published, c.source)
    if c.story_outlets and c.story_outlets > 1:  # copies or rewrites in other outlets
        origin += f" · the story is carried by {c.story_outlets} outlets"
    lines = [f"[{c.n}] {_quote(entry)}", f"    {origin}"] if entry.quote else [f"[{c.n}] {origin}"]
    if detailed:
        lines.append(f"    {one_line(c.url) or '(no url)'}  id {one_line(c.article_id)}  "
                     f"chars {c.char_start}–{c.char_end}")
    return "\n".join(lines)


def _quote(entry: Evidence) -> str:
    """The cited sentence in quotes, its short answer (if any) in bold."""
    text = entry.citation.text
    if entry.highlight is None:
        return f"“{one_line(text)}”"
    start, end = entry.highlight
    flat = [_WHITESPACE.sub(" ", safe(part)) for part in (text[:start], text[start:end],
                                                         text[end:])]
    return f"“{flat[0].lstrip()}{click.style(flat[1], bold=True)}{flat[2].rstrip()}”"


def _origin(title: str, published: str | None, source: str) -> str:
    return f"{one_line(title) or 'Untitled'} — {day(published)} · {one_line(source) or '-'}"

