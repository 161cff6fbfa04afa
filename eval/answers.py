"""Answers under test, from our chain or from any other system, in the judge's terms.

`--answers FILE` reads JSONL, one answer a line, in either form:
- generic (RAGAS-like): `question`, `answer`, `contexts` (strings or {"text", "article_id"}),
  optional `id`, `refused`, `latency_s`, `system`, `short_answer` (the answer in a few words).
  `[n]` markers in the answer cite `contexts[n-1]`.
- newsrag's Answer JSON (`newsrag ask --json`, one per line).

    >>> to_system_answer(answer)                     # doctest: +SKIP
    SystemAnswer(question='What will ...', sentences=(SentenceUnderTest(...),), ...)
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eval.dataset import read_jsonl
from eval.models import Evidence, SentenceUnderTest, SystemAnswer
from newsrag.errors import EvalError
from rag.grounding import parse_markers
from rag.models import Answer

# How other systems say they cannot answer; ours sets `refused`.
_REFUSAL = re.compile(
    r"\b(?:do(?:es)? not (?:cover|contain|mention|say)|(?:don't|do not|cannot|can't) "
    r"(?:know|answer|find)|no (?:relevant )?information|not (?:enough|sufficient) "
    r"information|unanswerable)\b", re.IGNORECASE)


def to_system_answer(answer: Answer, latency_s: float | None = None) -> SystemAnswer:
    """Our Answer as the judge sees it: each sentence with the sentences it cites."""
    by_number = {c.n: Evidence(text=c.text, article_id=c.article_id) for c in answer.citations}
    sentences = tuple(
        SentenceUnderTest(text=s.text, citations=tuple(by_number[n] for n in s.citations
                                                       if n in by_number))
        for s in answer.sentences)
    contexts = tuple(Evidence(text=h.text, article_id=h.article_id) for h in answer.sources)
    return SystemAnswer(question=answer.question, answer=answer.answer, sentences=sentences,
                        contexts=contexts, refused=answer.refused,
                        latency_s=latency_s if latency_s is not None
                        else answer.timings.get("total_s"), system=answer.generator,
                        short_answer=answer.short_answer.text if answer.short_answer else None)


def from_generic(row: dict[str, Any]) -> SystemAnswer:
    """A RAGAS-like row; sentences are split and their [n] markers read as grounding does."""
    contexts = tuple(_evidence(c) for c in row.get("contexts") or ())
    text = str(row.get("answer") or "")
    sentences = tuple(
        SentenceUnderTest(text=draft.text, citations=tuple(contexts[n - 1] for n in draft.cited))
        for draft in parse_markers(text, len(contexts)))
    refused = row.get("refused")
    return SystemAnswer(
        question=str(row["question"]), answer=text, sentences=sentences,
        contexts=contexts, refused=bool(_REFUSAL.search(text)) if refused is None else refused,
        latency_s=row.get("latency_s"), system=str(row.get("system") or ""),
        short_answer=_short_answer(row.get("short_answer")))


def _short_answer(value: Any) -> str | None:
    """A plain string, or newsrag's {"text": ...}; blank is none."""
    if isinstance(value, dict):
        value = value.get("text")
    return (str(value).strip() or None) if value is not None else None


def _evidence(context: Any) -> Evidence:
    if isinstance(context, str):
        return Evidence(text=context)
    if isinstance(context, dict) and "text" in context:
        article = context.get("article_id") or context.get("doc_id") or context.get("id") or ""
        return Evidence(text=str(context["text"]), article_id=str(article))
    raise EvalError(f"a context must be a string or an object with 'text', not {context!r:.60}")


def load_answers(path: str | Path) -> dict[str, SystemAnswer]:
    """Precomputed answers keyed by case id when given, and by question text."""
    path = Path(path)
    answers: dict[str, SystemAnswer] = {}
    for number, row in read_jsonl(path):
        if "question" not in row:
            raise EvalError(f"{path}:{number}: an answer needs its 'question'")
        try:
            answer = (to_system_answer(Answer.model_validate(row)) if "citations" in row
                      and "sentences" in row else from_generic(row))
        except (ValidationError, KeyError, TypeError) as exc:
            raise EvalError(f"{path}:{number}: not an answer: {exc}".splitlines()[0]) from None
        answers[answer.question.strip()] = answer
        if "id" in row:
            answers[str(row["id"])] = answer
    return answers
