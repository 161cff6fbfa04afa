"""The "Show checks" panel under an answer: why it was answered or declined, the reader's
answer type and candidates, the resolved dates, and each answer sentence's grounding.

    >>> render_checks(0, answer)                                    # doctest: +SKIP
    '<div class="nr-checks" ...>...'
"""

from __future__ import annotations

from newsrag.terminal import counted
from rag.answer_layout import day, decision, without_markers
from rag.models import Answer, AnswerSentence, ReaderCheck
from ui.render import escape, marker

STATUS_LABELS = {"quoted": "quoted", "supported": "supported", "reattributed": "re-attributed",
                 "unsupported": "unsupported", "dropped": "dropped"}


def render_checks(turn: int, answer: Answer) -> str:
    """The whole panel; every value from the answer is escaped."""
    rows = []
    if answer.standalone_question and answer.standalone_question != answer.question:
        rows.append(("Searched for", escape(answer.standalone_question)))
    rows.append(("Decision", escape(decision(answer))))
    if answer.date_window:
        since, until = (day(d) for d in answer.date_window)
        rows.append(("Dates", f"{escape(since)} to {escape(until)}"))
    if answer.check is not None:
        rows += _reader_rows(answer.check)
    else:
        rows.append(("Reader", "none for this answer"))
    rows.append(("Generator", f"{escape(answer.generator)} · relevance {answer.relevance:.2f} · "
                              f"{answer.timings.get('total_s', 0.0):.2f} s"))
    if grounding := _grounding(turn, answer):
        rows.append(("Grounding", grounding))
    table = "".join(f'<tr><th scope="row">{name}</th><td>{value}</td></tr>'
                    for name, value in rows)
    return (f'<div class="nr-checks" aria-label="Checks"><table class="nr-check-table">'
            f"{table}</table>{_notes(answer)}</div>")


def _reader_rows(check: ReaderCheck) -> list[tuple[str, str]]:
    rows = [("Answer type", escape(check.answer_type))]
    rows += [("Why", escape(reason)) for reason in check.reasons]
    if not check.candidates:
        rows.append(("Candidates", "none of the expected type"))
        return rows
    items = "".join(
        f'<li><span class="nr-candidate">{escape(c.text)}</span> '
        f'<span class="nr-meta">score {c.score:.2f} · {_count(c.sentences, "sentence")} · '
        f'{_count(c.articles, "article")}</span></li>' for c in check.candidates)
    rows.append(("Candidates", f'<ol class="nr-candidates">{items}</ol>'))
    return rows


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _notes(answer: Answer) -> str:
    notes = []
    if answer.fallback:
        notes.append("No generated sentence was supported by the sources: "
                     "the best source sentences are quoted instead.")
    if answer.dropped:
        notes.append(f"{counted(len(answer.dropped), 'generated sentence')} dropped as "
                     "unsupported.")
    return "".join(f'<div class="nr-note">{escape(n)}</div>' for n in notes)


def _grounding(turn: int, answer: Answer) -> str:
    """Each answer sentence (dropped ones struck through) with its status and support."""
    sentences = (*answer.sentences, *answer.dropped)
    if not sentences:
        return ""
    items = "".join(f"<li>{_checked_sentence(turn, s)}</li>" for s in sentences)
    return f'<ul class="nr-grounding" aria-label="Grounding">{items}</ul>'


def _checked_sentence(turn: int, sentence: AnswerSentence) -> str:
    markers = "".join(marker(n, turn) for n in sentence.citations)
    label = STATUS_LABELS.get(sentence.status, sentence.status)
    # A quoted sentence is its source sentence, already listed under the answer.
    text = ("verbatim source sentence" if sentence.status == "quoted"
            else escape(without_markers(sentence.text)))
    return (f'<span class="nr-s nr-s-{escape(sentence.status)}" '
            f'title="{escape(label)} · support {sentence.support:.2f}">{text}{markers}'
            f'<span class="nr-check">{escape(label)} {sentence.support:.2f}</span></span>')
