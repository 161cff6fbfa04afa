"""How much the contains-reference normalisation moves RealTime QA dev figures (before/after).

    .venv/bin/python -m bench.contains_reference [--show 20]

`eval.metrics.contains_reference` used to compare SQuAD-normalised whole words, so
"Northeastern University’s law school" did not contain "Northeastern University". This script
scores the same texts with the old rule and the current one, on what feeds the dev figures:
- each question's `evidence_text` (the quiz's own source sentence: it should always contain the
  answer, so this measures misses of the rule itself),
- each gold article (103 questions),
- every article retrieved for or written up for a question (329 questions; "is the answer
  anywhere in the corpus's candidates", as bench/answer.py's `answer_in_retrieved` asks),
and prints every sentence whose verdict changed, so false positives can be read, not guessed.
"""

from __future__ import annotations

import argparse
import json
import re
import string
from collections.abc import Sequence
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
DATA = REPO.parent / "shared" / "data" / "realtimeqa-dev"
_OLD_PUNCTUATION = str.maketrans("", "", string.punctuation + "“”‘’")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def old_contains(answer: str, references: Sequence[str]) -> bool:
    """The rule before issue 17, verbatim: SQuAD-normalised whole words."""
    def normalize(text: str) -> str:
        return " ".join(w for w in text.lower().translate(_OLD_PUNCTUATION).split()
                        if w not in {"a", "an", "the"})
    plain = f" {normalize(answer)} "
    return any(f" {normalize(r)} " in plain for r in references if normalize(r))


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    with path.open(encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def compare(texts: list[tuple[str, str, list[str]]]) -> tuple[int, int, int, list[str]]:
    """(old hits, new hits, total, changed sentences) over (id, text, references)."""
    from eval.metrics import contains_reference

    old = new = 0
    changed = []
    for key, text, references in texts:
        before, after = old_contains(text, references), contains_reference(text, references)
        old, new = old + before, new + after
        if before != after:
            changed.append(f"{key}: {'+' if after else '-'} {references} in "
                           f"{_changed_sentence(text, references, after)!r}")
    return old, new, len(texts), changed


def _changed_sentence(text: str, references: Sequence[str], after: bool) -> str:
    from eval.metrics import contains_reference

    for sentence in _SENTENCE_END.split(text):
        if contains_reference(sentence, references) and not old_contains(sentence, references):
            return sentence[:200]
    return text[:120] if not after else "(across sentences)"


def rows(show: int) -> list[str]:
    questions = load_jsonl(DATA / "questions.jsonl")
    gold_set = load_jsonl(DATA / "questions_with_gold_doc.jsonl")
    corpus = {a["doc_id"]: a for a in load_jsonl(DATA / "corpus.jsonl")}
    answers = {q["question_id"]: [a for a in q["answer_text"] if a] for q in questions}
    by_question: dict[str, list[str]] = {}
    for doc_id, article in corpus.items():
        for qid in article.get("retrieved_for") or ():
            by_question.setdefault(qid, []).append(doc_id)
    for q in gold_set:
        by_question.setdefault(q["question_id"], []).extend(q["gold_doc_ids"])
    sets = {
        "evidence_text (329 questions)": [
            (q["question_id"], q.get("evidence_text") or "", answers[q["question_id"]])
            for q in questions],
        "gold article text (103 questions)": [
            (q["question_id"], " ".join(corpus[d]["text"] for d in q["gold_doc_ids"]
                                        if d in corpus), answers[q["question_id"]])
            for q in gold_set],
        "any candidate article of the question (329)": [
            (qid, " ".join(corpus[d]["title"] + "\n" + corpus[d]["text"]
                           for d in dict.fromkeys(by_question.get(qid, ())) if d in corpus),
             answers[qid]) for qid in answers],
    }
    lines = ["| texts | contains before | contains after | changed |", "|---|---|---|---|"]
    details: list[str] = []
    for label, texts in sets.items():
        old, new, total, changed = compare(texts)
        lines.append(f"| {label} | {old}/{total} ({old / total:.3f}) | "
                     f"{new}/{total} ({new / total:.3f}) | {len(changed)} |")
        details += [f"\n{label}: {len(changed)} changed"] + [f"  {c}" for c in changed[:show]]
    return lines + details


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n", 1)[0])
    parser.add_argument("--show", type=int, default=20, help="changed texts listed per set")
    print("\n".join(rows(parser.parse_args().show)))


if __name__ == "__main__":
    main()
