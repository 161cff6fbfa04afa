"""Follow-up questions made standalone from the chat history, before retrieval.

"And what did the Kremlin say?" retrieves nothing useful on its own. A question that looks
like a follow-up (a pronoun, a leading "and"/"what about", too few words of its own) is
rewritten: by the LLM when there is one (its rewrite is checked and discarded if it looks
wrong), otherwise by carrying the previous questions' names and topic words over.

    >>> history = [Turn("What will Trump and Putin discuss?", "Land and power plants [1].")]
    >>> rewrite_followup("When is it?", history)
    'When is it? (about: Trump, Putin, discuss)'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newsrag.errors import ModelError
from rag.text import STOPWORDS, content_words

if TYPE_CHECKING:
    from rag.generators import ChatModel

_FOLLOWUP_WORDS = re.compile(
    r"\b(it|its|they|them|their|theirs|he|him|his|she|her|hers|this|that|these|those|there|"
    r"then|the same|the other|which one)\b", re.IGNORECASE)
_FOLLOWUP_START = re.compile(r"^\s*(and|but|also|so|what about|how about|why not|then)\b",
                             re.IGNORECASE)
_WORD = re.compile(r"[A-Za-z][\w'’-]*|\d[\d,.]*")


_ROLES = ("user", "human", "assistant", "ai", "system", "tool")


@dataclass(frozen=True)
class Turn:
    """One exchange of a chat: the user's question and the answer shown."""

    question: str
    answer: str = ""


def to_turns(history: Iterable[Any] | None) -> list[Turn]:
    """Turns from Turn objects, (question, answer) pairs, role/content dicts or LangChain
    messages (user then assistant)."""
    turns: list[Turn] = []
    for item in history or ():
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, tuple | list) and len(item) == 2 and item[0] not in _ROLES:
            turns.append(Turn(str(item[0]), str(item[1] or "")))
        else:
            role, content = _role_and_content(item)
            if role in ("user", "human"):
                turns.append(Turn(content))
            elif role in ("assistant", "ai") and turns and not turns[-1].answer:
                turns[-1] = Turn(turns[-1].question, content)
    return turns


def _role_and_content(item: Any) -> tuple[str, str]:
    if isinstance(item, dict):
        return str(item.get("role", "")), str(item.get("content", ""))
    if isinstance(item, tuple | list) and len(item) == 2:
        return str(item[0]), str(item[1])
    role = getattr(item, "type", None) or getattr(item, "role", "")
    return str(role), str(getattr(item, "content", ""))


def looks_like_followup(question: str) -> bool:
    """Pronouns, a leading "and"/"what about", or fewer than two words of its own."""
    return bool(_FOLLOWUP_WORDS.search(question) or _FOLLOWUP_START.search(question)
                or len(content_words(question)) < 2)


def rewrite_followup(question: str, history: Sequence[Turn],
                     chat: ChatModel | None = None) -> str:
    """A standalone version of `question`; unchanged when it is not a follow-up."""
    if not history or not looks_like_followup(question):
        return question
    if chat is not None:
        rewritten = _rewrite_with_llm(question, history, chat)
        if rewritten:
            return rewritten
    carried = carried_terms(question, history)
    return f"{question.strip()} (about: {', '.join(carried)})" if carried else question


def carried_terms(question: str, history: Sequence[Turn], limit: int = 6) -> list[str]:
    """Names first, then topic words, of the latest questions that the new one lacks."""
    have = content_words(question)
    names: list[str] = []
    words: list[str] = []
    for turn in reversed(history[-2:]):
        for position, token in enumerate(_WORD.findall(turn.question)):
            if token.lower() in STOPWORDS or content_words(token) <= have:
                continue
            is_name = (token[0].isupper() and position > 0) or token[0].isdigit()
            bucket = names if is_name else words
            if token not in names and token not in words:
                bucket.append(token)
        if names:  # the latest question that named something is the one being followed up
            break
    return (names + words)[:limit]


def _rewrite_with_llm(question: str, history: Sequence[Turn], chat: ChatModel) -> str | None:
    # Numbered questions only: SmolLM2-135M copes with this layout, not with a transcript.
    earlier = [" ".join(t.question.split()) for t in history[-2:]]
    lines = [f"Question {i}: {q}" for i, q in enumerate(earlier, start=1)]
    last = len(lines) + 1
    lines.append(f"Question {last}: {' '.join(question.split())}")
    user = "\n".join(lines) + (
        f"\n\nRewrite question {last} so that it can be understood on its own: replace words "
        f"like 'it', 'they' or 'there' with what they refer to.\nRewritten question {last}:")
    try:
        reply = "".join(chat.stream([{"role": "user", "content": user}]))
    except ModelError:
        return None
    return _checked_rewrite(reply, question, history)


_LABEL = re.compile(r"^\s*(?:rewritten\s+)?question(?:\s+\d+)?\s*:\s*", re.IGNORECASE)


def _checked_rewrite(reply: str, question: str, history: Sequence[Turn]) -> str | None:
    """The model's rewrite if it is one plausible question about the same things, else None."""
    lines = [_LABEL.sub("", line).strip().strip('"') for line in reply.splitlines()]
    candidates = [line for line in lines if line.endswith("?")]
    text = candidates[-1] if candidates else ""
    if not text or len(text) > 3 * len(question) + 120:
        return None
    words = content_words(text)
    own = content_words(question)
    earlier = set().union(*(content_words(t.question) for t in history[-2:]))
    if own and not own & words:
        return None  # lost the follow-up's own point
    if not (words - own) & earlier:
        return None  # added nothing from the conversation
    return text
