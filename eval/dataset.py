"""Reading eval datasets: our JSONL, the RealTime QA layout, and precomputed answers.

Our JSONL holds one case a line: `question`, optional `id`, `reference_answers[]`,
`gold_article_ids[]`, `answerable` (default true), `chat_history` ([[question, answer], ...]),
`question_date`. A RealTime QA folder (or its questions file) is read as it is.

    >>> dataset = load_dataset("eval/datasets/sample.jsonl")     # doctest: +SKIP
    >>> dataset.cases[0].question                                # doctest: +SKIP
    'What will Trump and Putin discuss?'
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from eval.models import EvalCase
from newsrag.errors import EvalError

RTQA_QUESTIONS = "questions_with_gold_doc.jsonl"


@dataclass(frozen=True)
class Dataset:
    """A named list of cases (the name is the file it came from)."""

    name: str
    cases: tuple[EvalCase, ...]


def read_jsonl(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """(line number, object) for each non-blank line; a broken line is an EvalError."""
    try:
        handle = path.open(encoding="utf-8")
    except OSError as exc:
        raise EvalError(f"cannot read {path}: {exc.strerror or exc}") from None
    with handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as exc:
                raise EvalError(f"{path}:{number}: not JSON ({exc.msg})") from None
            if not isinstance(row, dict):
                raise EvalError(f"{path}:{number}: expected a JSON object")
            yield number, row


def load_dataset(path: str | Path) -> Dataset:
    """The cases of a JSONL dataset, a RealTime QA folder or a RealTime QA questions file."""
    path = Path(path)
    if path.is_dir():
        if not (path / RTQA_QUESTIONS).is_file():
            raise EvalError(f"{path} is a folder without {RTQA_QUESTIONS}")
        path = path / RTQA_QUESTIONS
    cases = []
    for number, row in read_jsonl(path):
        converted = _from_realtimeqa(row) if "question_id" in row else row
        cases.append(_case(converted, number, path))
    if not cases:
        raise EvalError(f"{path} holds no cases")
    ids = [case.id for case in cases]
    if len(set(ids)) != len(ids):
        raise EvalError(f"{path}: case ids are not unique")
    return Dataset(path.name, tuple(cases))


def _case(row: dict[str, Any], number: int, path: Path) -> EvalCase:
    row = {"id": f"{path.stem}-{number}", **row}
    row["id"] = str(row["id"])
    try:
        return EvalCase.model_validate(row)
    except ValidationError as exc:
        problem = exc.errors()[0]
        where = ".".join(str(p) for p in problem["loc"])
        raise EvalError(f"{path}:{number}: {where}: {problem['msg']}") from None


def _from_realtimeqa(row: dict[str, Any]) -> dict[str, Any]:
    """A RealTime QA quiz question as a case: the right choice(s) are the reference answers."""
    return {
        "id": row["question_id"],
        "question": row["question"],
        "reference_answers": [a for a in row.get("answer_text") or () if a],
        "gold_article_ids": row.get("gold_doc_ids") or [],
        "question_date": _iso_date(row.get("question_date")),
    }


def _iso_date(value: Any) -> str | None:
    """RealTime QA writes dates as 2022/06/17."""
    return str(value).replace("/", "-")[:10] if value else None
