"""What an answer shows, in which order, each text once: shared by the CLI and the UI.

The short answer comes first (bold), then any written prose (an LLM's sentences), then the
cited sentences as evidence, each with its article's title, day and outlet. A sentence already
shown in full (a quoted answer sentence, or a short answer that is a whole sentence) is not
quoted again under its citation: its entry keeps only where it comes from.

    >>> layout = lay_out(answer)                                   # doctest: +SKIP
    >>> layout.short.text, [e.quote for e in layout.evidence]      # doctest: +SKIP
    ('North Korea', [True])
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.models import Answer, AnswerSentence, Citation, Hit, ShortAnswer

DECLINED = "The articles do not say."
_MARKER = re.compile(r"\s*\[\d+(?:\s*,\s*\d+)*\]")


@dataclass(frozen=True)
class Evidence:
    """A citation as listed under the answer; `quote` is False when its sentence was shown."""

    citation: Citation
    quote: bool
    # (start, end) of the short answer inside the quote, to highlight it there.
    highlight: tuple[int, int] | None = None


@dataclass(frozen=True)
class Layout:
    """One answer, laid out: what goes on top, what is prose, what is evidence."""

    declined: bool
    short: ShortAnswer | None
    prose: tuple[AnswerSentence, ...]
    evidence: tuple[Evidence, ...]
    closest: tuple[Hit, ...]  # for a decline: each retrieved article once, best first
    window: tuple[str, str] | None


def day(published: str | None) -> str:
    """An article's date as YYYY-MM-DD (or "undated"), the one format every view uses."""
    return (published or "")[:10] or "undated"


def without_markers(text: str) -> str:
    """A written sentence as shown before its markers: "Talks end [1]." is "Talks end."."""
    return " ".join(_MARKER.sub("", text).split())


def bare(text: str) -> str:
    """Text without its [n] markers and outer space or final period, for comparisons."""
    return _MARKER.sub("", text).strip().rstrip(".").strip()


def lay_out(answer: Answer, prose_shown: bool = False) -> Layout:
    """The answer's layout; `prose_shown`: its text was already printed (streamed), so its
    quoted sentences count as shown."""
    if answer.refused:
        return Layout(True, None, (), (), closest_articles(answer.sources), answer.date_window)
    short = answer.short_answer
    prose = tuple(s for s in answer.sentences if prose_shown or _is_prose(s, answer))
    shown = {n for s in prose if s.status == "quoted" for n in s.citations
             if _citation_text(answer, n) == s.text}
    if short and short.kind == "sentence" and _citation_text(answer, short.citation) == short.text:
        shown.add(short.citation)
    evidence = tuple(Evidence(c, c.n not in shown, _highlight(short, c))
                     for c in _short_first(answer.citations, short))
    return Layout(False, short, () if prose_shown else prose, evidence, (), answer.date_window)


def _is_prose(sentence: AnswerSentence, answer: Answer) -> bool:
    """Shown as text: without a short answer every sentence (the quotes style); with one,
    only written sentences that are neither a quote of their citation nor the short answer."""
    short = answer.short_answer
    if short is None:
        return True
    if bare(sentence.text) == bare(short.text):
        return False
    return not (sentence.status == "quoted" and all(
        _citation_text(answer, n) == sentence.text for n in sentence.citations))


def _citation_text(answer: Answer, n: int) -> str | None:
    return next((c.text for c in answer.citations if c.n == n), None)


def _short_first(citations: tuple[Citation, ...], short: ShortAnswer | None
                 ) -> list[Citation]:
    """The short answer's citation leads the evidence; the rest keep their numbers' order."""
    ordered = sorted(citations, key=lambda c: c.n)
    if short is None:
        return ordered
    return sorted(ordered, key=lambda c: c.n != short.citation)


def _highlight(short: ShortAnswer | None, citation: Citation) -> tuple[int, int] | None:
    """Where the short answer sits in its cited sentence (its span is into the article)."""
    if short is None or short.kind != "phrase" or short.citation != citation.n:
        return None
    start, end = short.char_start - citation.char_start, short.char_end - citation.char_start
    if 0 <= start < end <= len(citation.text) and citation.text[start:end] == short.text:
        return start, end
    return None


def closest_articles(hits: tuple[Hit, ...], limit: int = 5) -> tuple[Hit, ...]:
    """Each retrieved article once, in retrieval order."""
    seen: dict[str, Hit] = {}
    for hit in hits:
        seen.setdefault(hit.article_id, hit)
    return tuple(seen.values())[:limit]


def decision(answer: Answer) -> str:
    """Why the question was answered or declined, in one line."""
    check = answer.check
    verdict = "declined" if answer.refused else "answered"
    if check is None:
        return f"{verdict} · relevance {answer.relevance:.2f}"
    side = "<" if check.answerable < check.threshold else "≥"
    return (f"{verdict} · answerability {check.answerable:.2f} {side} threshold "
            f"{check.threshold:.2f}")


def update_phrase(kind: str, old: Sequence[str], new: Sequence[str],
                  earlier: str | None, later: str | None) -> str:
    """How a briefing line that changes an earlier one's fact is described.

    >>> update_phrase("figures", ["12"], ["15"], "2024-03-04", "2024-03-06")
    'a later report (2024-03-06) gives 15 where the report of 2024-03-04 said 12'
    """
    if kind == "reversal":
        return (f"a later report ({day(later)}) says the opposite of the report of "
                f"{day(earlier)}")
    return (f"a later report ({day(later)}) gives {', '.join(new)} where the report of "
            f"{day(earlier)} said {', '.join(old)}")


def later_notes(answer: Answer) -> list[str]:
    """One line per later report that changes a cited figure (rag/freshness.py):
    '[1] is as of 2024-03-04; a later report on 2024-03-06 (Valley Herald) says: "…"'."""
    cited = {c.n: c for c in answer.citations}
    notes = []
    for report in answer.later_reports:
        citation = cited.get(report.citation)
        as_of = day(citation.published) if citation else "undated"
        says = "says the opposite" if report.kind == "reversal" else "says"
        notes.append(f"[{report.citation}] is as of {as_of}; a later report on "
                     f"{day(report.published)} ({report.source or report.title or '-'}) "
                     f"{says}: \u201c{report.text}\u201d")
    return notes
