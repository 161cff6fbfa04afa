"""Follow-up questions made standalone from the chat history, before retrieval.

"And what did the Kremlin say?" retrieves nothing useful on its own. A question that looks
like a follow-up (a pronoun, a leading "and"/"what about", too few words of its own) is
rewritten: by the LLM when there is one (its rewrite is checked and discarded if it looks
wrong), otherwise by carrying names over from the previous turn: its answer in a few words
first (after "Which country declared victory over Covid?" - "North Korea", "Who announced
it?" is about North Korea), then the names in its question, then names from the sentences
its answer cited (the accuser in "How much was his accuser awarded?"), then its topic words.

    >>> history = [Turn("What will Trump and Putin discuss?", "Land and power plants [1].")]
    >>> rewrite_followup("When is it?", history)
    'When is it? (about: Land and power plants, Trump, Putin, discuss)'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from newsrag.errors import ModelError
from rag.names import WORD as _WORD
from rag.names import capitalised, names_in
from rag.text import STOPWORDS, content_words

if TYPE_CHECKING:
    from rag.generators import ChatModel

_FOLLOWUP_WORDS = re.compile(
    r"\b(it|its|they|them|their|theirs|he|him|his|she|her|hers|this|that|these|those|there|"
    r"then|the same|the other|which one)\b", re.IGNORECASE)
_FOLLOWUP_START = re.compile(r"^\s*(and|but|also|so|what about|how about|why not|then)\b",
                             re.IGNORECASE)


_ROLES = ("user", "human", "assistant", "ai", "system", "tool")


@dataclass(frozen=True)
class Turn:
    """One exchange of a chat: the user's question and the answer shown (with newsrag's
    Answer: its short answer and the sentences it cited)."""

    question: str
    answer: str = ""
    short_answer: str = ""
    cited: tuple[str, ...] = ()


def to_turns(history: Iterable[Any] | None) -> list[Turn]:
    """Turns from Turn objects, (question, answer) pairs, role/content dicts or LangChain
    messages (user then assistant)."""
    turns: list[Turn] = []
    for item in history or ():
        if isinstance(item, Turn):
            turns.append(item)
        elif isinstance(item, tuple | list) and len(item) == 2 and item[0] not in _ROLES:
            turns.append(_pair(str(item[0]), item[1]))
        else:
            role, content = _role_and_content(item)
            if role in ("user", "human"):
                turns.append(Turn(content))
            elif role in ("assistant", "ai") and turns and not turns[-1].answer:
                turns[-1] = Turn(turns[-1].question, content)
    return turns


def _pair(question: str, answer: Any) -> Turn:
    """(question, answer text) or (question, Answer): an Answer brings its short answer and
    cited sentences along."""
    if hasattr(answer, "citations") and hasattr(answer, "answer"):
        short = getattr(answer, "short_answer", None)
        return Turn(question, str(answer.answer), short.text if short else "",
                    tuple(c.text for c in answer.citations))
    return Turn(question, str(answer or ""))


def _role_and_content(item: Any) -> tuple[str, str]:
    if isinstance(item, dict):
        return str(item.get("role", "")), str(item.get("content", ""))
    if isinstance(item, tuple | list) and len(item) == 2:
        return str(item[0]), str(item[1])
    role = getattr(item, "type", None) or getattr(item, "role", "")
    return str(role), str(getattr(item, "content", ""))


def looks_like_followup(question: str) -> bool:
    """Pronouns, a leading "and"/"what about", fewer than two words of its own, or a short
    question about "the" something that names nothing ("Who bought the team?")."""
    words = content_words(question)
    return bool(_FOLLOWUP_WORDS.search(question) or _FOLLOWUP_START.search(question)
                or len(words) < 2 or (len(words) <= _DEFINITE_WORDS and _THE.search(question)
                                      and not capitalised(question)))


_DEFINITE_WORDS = 3
_THE = re.compile(r"\bthe\b", re.IGNORECASE)


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
    """What the follow-up is about, from the latest turn (and the one before it when the
    latest was a follow-up itself): its short answer, the names in its question, names from
    its cited sentences, then its topic words; nothing the new question already says."""
    have = content_words(question)
    names: list[str] = []
    words: list[str] = []
    for turn in reversed(history[-2:]):
        for term in _turn_names(turn):
            if term not in names and not content_words(term) <= have:
                names.append(term)
        words += [w for w in _topic_words(turn.question) if w not in words
                  and not content_words(w) <= have and not any(w in n for n in names)]
        if names and not looks_like_followup(turn.question):
            break  # that question named what it was about: the follow-up is about that too
    return (names + words)[:limit]


_SHORT_WORDS = 5  # an answer this short is the answer in a few words ("North Korea. [1]")
_PRONOUNS = frozenset("it its they them their he him his she her we i you this that".split())


def _turn_names(turn: Turn) -> list[str]:
    """The turn's short answer, the names in its question; without a short answer, the
    first name its answer added ("They met in Riyadh, Saudi Arabia." adds Riyadh). Every
    further name pulls the search towards the earlier turn's story and away from what the
    follow-up asks (measured on the sample set's follow-ups, bench/followups.py)."""
    short = short_answer_of(turn)
    found = [short] if short and _referent(short) else []
    found += [n for n in names_in(turn.question) if n not in found and _referent(n)]
    if not short:
        evidence = " ".join(turn.cited) or _MARKERS.sub("", turn.answer)
        found += [n for n in names_in(evidence) if not any(n in f or f in n for f in found)
                  and _referent(n)][:1]
    return found


def _referent(name: str) -> bool:
    """Something a pronoun can stand for: not a day or month (when something happened) and
    not a bare number (how many), which "it", "they" or "he" hardly refer to."""
    first = name.split()[0].lower()
    return first not in _CALENDAR and not first[0].isdigit()


_CALENDAR = frozenset("""monday tuesday wednesday thursday friday saturday sunday january february
    march april may june july august september october november december""".split())


def short_answer_of(turn: Turn) -> str:
    """The turn's answer in a few words: newsrag's short answer, or an answer that short."""
    answer = " ".join(_MARKERS.sub("", turn.answer).split()).rstrip(".").strip()
    return " ".join((turn.short_answer or (answer if _looks_short(answer) else "")).split())


def _looks_short(answer: str) -> bool:
    """A few words that are not a sentence about something ("They met in Riyadh.")."""
    words = answer.split()
    return 0 < len(words) <= _SHORT_WORDS and words[0].lower() not in _PRONOUNS


_MARKERS = re.compile(r"\[\d+(?:\s*,\s*\d+)*\]")
def _topic_words(question: str) -> list[str]:
    """The question's plain content words (its names are carried as names)."""
    named = " ".join(names_in(question))
    return [t for t in _WORD.findall(question) if t[0].islower() and t.lower() not in STOPWORDS
            and t not in named][:2]


def _rewrite_with_llm(question: str, history: Sequence[Turn], chat: ChatModel) -> str | None:
    # Numbered questions with their answers in a few words only: SmolLM2-135M copes with this
    # layout, not with a transcript, and copies whole answers back.
    lines = [f"Question {i}: {' '.join(t.question.split())}" + (
        f" (answer: {short})" if (short := short_answer_of(t)) else "")
        for i, t in enumerate(history[-2:], start=1)]
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
    earlier = set().union(*(content_words(f"{t.question} {short_answer_of(t)}")
                            for t in history[-2:]))
    if own and not own & words:
        return None  # lost the follow-up's own point
    if not (words - own) & earlier:
        return None  # added nothing from the conversation
    return text
