"""The eval report as one self-contained HTML page: inline CSS and SVG, no scripts, no network.

    >>> from eval.models import Report
    >>> page = render_html(Report(dataset="d", judge="heuristic", system="newsrag",
    ...                           cases=(), summary=()))
    >>> page.startswith("<!DOCTYPE html>") and "heuristic" in page
    True
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from eval.charts import Bar, bars_svg, esc, fmt, histogram_svg
from eval.html_style import CSS
from eval.models import CaseResult, Evidence, MetricSummary, Report, SentenceResult

RANKED_BY = "faithfulness"
TIP_CHARS = 160
# Even if a data string slipped past escaping, the page may run no script and fetch nothing.
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


def render_html(report: Report, worst: int = 5) -> str:
    """The whole report page; `worst` answers with the lowest faithfulness are shown in full.

        >>> html = render_html(report)                      # doctest: +SKIP
        >>> Path("report.html").write_text(html)            # doctest: +SKIP
    """
    body = [_header(report), _summary_table(report.summary), _charts(report),
            _worst_section(report, worst), _settings_section(report.settings)]
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(f'newsrag eval: {report.dataset} · {report.system}')}</title>"
            f"<style>{CSS}</style></head>\n<body><main>{''.join(body)}</main></body></html>\n")


def write_html(report: Report, path: Path, worst: int = 5) -> Path:
    """Write the report page to `path` (its folder is created) and return the path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, worst), encoding="utf-8")
    return path


def _header(report: Report) -> str:
    facts = [("Dataset", report.dataset), ("System", report.system or "—"),
             ("Judge", report.judge or "unnamed judge"), ("Cases", str(len(report.cases))),
             ("Run time", f"{report.seconds:.1f} s")]
    items = "".join(f"<div><dt>{name}</dt><dd>{esc(value)}</dd></div>" for name, value in facts)
    return f'<header id="run"><h1>Faithfulness eval</h1><dl class="facts">{items}</dl></header>'


def _slug(name: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in name)


def _centre(summary: MetricSummary) -> str:
    """Latency-like metrics report a median and carry a p95; the rest report a mean."""
    return "median" if summary.p95 is not None else "mean"


def _summary_table(summaries: Sequence[MetricSummary]) -> str:
    if not summaries:
        return '<section id="summary"><h2>Summary</h2><p class="note">No metrics.</p></section>'
    rows = "".join(
        f'<tr><th scope="row"><a href="#chart-{esc(_slug(s.name))}">{esc(s.name)}</a></th>'
        f'<td class="num">{fmt(s.value)}</td><td class="note">{_centre(s)}</td>'
        f'<td class="num">{fmt(s.low)} – {fmt(s.high)}</td><td class="num">{s.n}</td>'
        f'<td class="num">{fmt(s.p95)}</td></tr>' for s in summaries)
    return ('<section id="summary"><h2>Summary</h2><table class="summary"><thead><tr>'
            '<th>Metric</th><th>Value</th><th></th><th>95 % CI</th><th>n</th><th>p95</th>'
            f"</tr></thead><tbody>{rows}</tbody></table></section>")


def _charts(report: Report) -> str:
    figures = "".join(_figure(report.cases, summary) for summary in report.summary)
    return (f'<section id="charts"><h2>Per metric</h2><p class="note">Left: how the cases '
            f"spread. Right: each case in order (hover for its question); the line is the "
            f"summary value over its 95 % interval.</p>"
            f'<div class="charts">{figures}</div></section>')


def _figure(cases: Sequence[CaseResult], summary: MetricSummary) -> str:
    name = summary.name
    values = [_finite(case.metrics.get(name)) for case in cases]
    bars = [Bar(value, _tip(case, name, value)) for case, value in zip(cases, values, strict=True)]
    known = [value for value in values if value is not None]
    caption = (f"<b>{esc(name)}</b> {_centre(summary)} {fmt(summary.value)} "
               f'<span class="note">95 % CI {fmt(summary.low)} – {fmt(summary.high)} · '
               f"n = {summary.n}</span>")
    return (f'<figure class="chart" id="chart-{esc(_slug(name))}" data-metric="{esc(name)}">'
            f"<figcaption>{caption}</figcaption><div class=\"plots\">"
            f"{histogram_svg(known, name)}"
            f"{bars_svg(bars, summary.value, (summary.low, summary.high), name)}</div></figure>")


def _finite(value: float | None) -> float | None:
    """A NaN or infinite metric would break the axes and the ranking: show it as missing."""
    return value if value is not None and math.isfinite(value) else None


def _tip(case: CaseResult, name: str, value: float | None) -> str:
    question = case.case.question
    if len(question) > TIP_CHARS:
        question = question[:TIP_CHARS] + "…"
    shown = "n/a (does not apply)" if value is None else fmt(value)
    return f"{case.case.id}: {question}\n{name} = {shown}"


def worst_cases(report: Report, count: int) -> list[CaseResult]:
    """The `count` cases with the lowest faithfulness, in case order among ties; unscored last."""
    scored = [(value, index, case) for index, case in enumerate(report.cases)
              if (value := _finite(case.metrics.get(RANKED_BY))) is not None]
    scored.sort(key=lambda item: (item[0], item[1]))
    return [case for _, _, case in scored[:max(count, 0)]]


def _worst_section(report: Report, count: int) -> str:
    cases = worst_cases(report, count)
    unscored = sum(_finite(case.metrics.get(RANKED_BY)) is None for case in report.cases)
    note = (f'<p class="note">{unscored} case(s) without a {RANKED_BY} score (e.g. refusals) '
            f"are not ranked.</p>") if unscored else ""
    cards = "".join(_case_card(case, rank) for rank, case in enumerate(cases, start=1))
    if not cards:
        cards = f'<p class="note">No case has a {RANKED_BY} score.</p>'
    return (f'<section id="worst"><h2>Worst answers by {RANKED_BY}</h2>{note}{cards}'
            f"</section>")


def _case_card(result: CaseResult, rank: int) -> str:
    case, answer = result.case, result.answer
    cited = _distinct(ev for s in answer.sentences for ev in s.citations)
    read = {text.strip() for s in result.sentences for claim in s.claims
            for text in claim.evidence if text.strip()}
    badges = "".join(f'<span class="badge {css}">{label}</span>' for css, label, on in (
        ("refused", "refused", answer.refused), ("unanswerable", "not answerable",
                                                 not case.answerable)) if on)
    references = "; ".join(case.reference_answers) or "—"
    short = ("" if answer.refused else
             f' · short answer: <b class="short">{esc(answer.short_answer)}</b>'
             if answer.short_answer else " · no short answer")
    sentences = "".join(_sentence(result, index, cited) for index in range(len(result.sentences)))
    if not sentences:
        sentences = f'<li class="sentence"><span class="text">{esc(answer.answer)}</span></li>'
    return (f'<article class="case" id="case-{rank}" data-case="{esc(case.id)}">'
            f"<h3>{rank}. {esc(case.question)} {badges}</h3>"
            f'<p class="meta">case {esc(case.id)} · reference: {esc(references)}{short}</p>'
            f"{_metric_chips(result.metrics)}<div class=\"split\"><div>"
            f'<h4>Answer</h4><ol class="sentences">{sentences}</ol></div>'
            f"<div><h4>Sources</h4>{_sources(result, cited, read, rank)}</div></div></article>")


def _distinct(evidence: Iterable[Evidence]) -> list[Evidence]:
    return list(dict.fromkeys(evidence))


def _metric_chips(metrics: Mapping[str, float | None]) -> str:
    chips = "".join(f'<span class="chip">{esc(name)} <b>{fmt(value)}</b></span>'
                    for name, value in metrics.items())
    return f'<p class="chips">{chips}</p>'


def _sentence(result: CaseResult, index: int, cited: list[Evidence]) -> str:
    judged: SentenceResult = result.sentences[index]
    citations = _citations_of(result, index, judged.text)
    unsupported = any(not claim.supported for claim in judged.claims)
    css = "unsupported" if unsupported else ("supported" if judged.claims else "unjudged")
    markers = "".join(_marker(cited.index(ev) + 1, _relevant(judged, position))
                      for position, ev in enumerate(citations))
    flags = '<span class="badge bad">unsupported</span>' if unsupported else ""
    if judged.citations_support is False:
        flags += '<span class="badge warn">citations do not support it</span>'
    claims = "".join(
        f'<li class="claim {"ok" if claim.supported else "bad"}">'
        f'<span class="prob">{"✓" if claim.supported else "✗"} {claim.support:.2f}</span> '
        f"{esc(claim.claim)}</li>" for claim in judged.claims)
    return (f'<li class="sentence {css}"><span class="text">{esc(judged.text)}</span>'
            f'{markers} {flags}<ul class="claims">{claims}</ul></li>')


def _citations_of(result: CaseResult, index: int, text: str) -> tuple[Evidence, ...]:
    """The judged sentence's citations: same position in the answer, else the same text."""
    sentences = result.answer.sentences
    if index < len(sentences) and sentences[index].text == text:
        return sentences[index].citations
    return next((s.citations for s in sentences if s.text == text), ())


def _relevant(judged: SentenceResult, position: int) -> bool | None:
    relevant = judged.citations_relevant
    return relevant[position] if position < len(relevant) else None


def _marker(number: int, relevant: bool | None) -> str:
    css, tip = ("cite", "cited source")
    if relevant is False:
        css, tip = ("cite irrelevant", "neither needed nor supportive (ALCE precision)")
    return f'<sup class="{css}" title="{tip}">[{number}]</sup>'


def _sources(result: CaseResult, cited: list[Evidence], read: set[str], rank: int) -> str:
    cites = "".join(f'<li value="{number}"><span class="meta">{esc(ev.article_id)}</span> '
                    f"{highlight(ev.text, read)}</li>" for number, ev in enumerate(cited, 1))
    contexts = "".join(_context(number, ev, read)
                       for number, ev in enumerate(result.answer.contexts, 1))
    sources = [ev.text for ev in (*cited, *result.answer.contexts)]
    elsewhere = sorted(text for text in read if not any(text in source for source in sources))
    other = "".join(f"<li><mark>{esc(text)}</mark></li>" for text in elsewhere)
    return (f'<h5>Cited</h5><ol class="cited">{cites or "<li>none</li>"}</ol>'
            f'<h5>Retrieved passages</h5><ol class="contexts" id="contexts-{rank}">'
            f'{contexts or "<li>none</li>"}</ol>'
            + (f'<h5>Other evidence the judge read</h5><ul class="cited">{other}</ul>'
               if other else ""))


def _context(number: int, evidence: Evidence, read: set[str]) -> str:
    """A retrieved passage, folded unless the judge read part of it."""
    body = highlight(evidence.text, read)
    opened = " open" if "<mark>" in body else ""
    preview = evidence.text[:90] + ("…" if len(evidence.text) > 90 else "")
    return (f'<li><details{opened}><summary><span class="meta">#{number} '
            f"{esc(evidence.article_id)}</span> {esc(preview)}</summary>"
            f'<p class="passage">{body}</p></details></li>')


def highlight(text: str, needles: Iterable[str]) -> str:
    """`text` escaped, with every occurrence of each needle wrapped in <mark>.

    >>> highlight("a <b> c", ["<b>"])
    'a <mark>&lt;b&gt;</mark> c'
    """
    spans = sorted((start, start + len(needle)) for needle in needles if needle
                   for start in _occurrences(text, needle))
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, cursor = [], 0
    for start, end in merged:
        out.append(f"{esc(text[cursor:start])}<mark>{esc(text[start:end])}</mark>")
        cursor = end
    return "".join(out) + esc(text[cursor:])


def _occurrences(text: str, needle: str) -> Iterable[int]:
    start = text.find(needle)
    while start != -1:
        yield start
        start = text.find(needle, start + len(needle))


def _settings_section(settings: Mapping[str, Any]) -> str:
    rows = "".join(f'<tr><th scope="row">{esc(key)}</th><td><code>{esc(value)}</code></td></tr>'
                   for key, value in _flatten(settings))
    table = (f'<table class="settings">{rows}</table>' if rows
             else '<p class="note">No settings recorded.</p>')
    return f'<section id="settings"><h2>Settings of this run</h2>{table}</section>'


def _flatten(settings: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Nested settings as dotted keys, so `retrieval.k` reads like its env override."""
    rows: list[tuple[str, str]] = []
    for key, value in settings.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            rows += _flatten(value, f"{name}.")
        else:
            rows.append((name, value if isinstance(value, str)
                         else json.dumps(value, default=str, ensure_ascii=False)))
    return rows
