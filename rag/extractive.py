"""The retrieved sentences that may be evidence, and the quoted (no-LLM) answer.

Sentences repeated verbatim across syndicated copies count once; sentences addressed to the
model (rag/screen.py) never count. `pick_extractive` is the `ask.style = "quotes"` answer:
the best sentences quoted verbatim, so it is faithful by construction. Ranking them is
rag/sentence_ranker.py's job.

    >>> ranked = rank_sentences(question, hits, embedder)          # doctest: +SKIP
    >>> [s.text for s in pick_extractive(ranked, 2)]               # doctest: +SKIP
    ["Trump, who is seeking Putin's backing for a 30-day ceasefire ..."]
"""

from __future__ import annotations

from collections.abc import Sequence

from rag.models import Citation, Hit
from rag.screen import screen_passage
from rag.sentence_kinds import is_heading
from rag.sentence_ranker import RankedSentence
from rag.text import content_words

# A quoted answer adds a sentence only if its relevance (0.7 × cosine + 0.3 × word overlap)
# is this close to the first one's. Swept by bench/extractive_cutoff.py: 0.85 answers in 2.2
# sentences on average; 0.7 gains two points of "contains the answer" for half a sentence
# more, 1.0 (one sentence) loses 13 points.
RELATIVE_CUTOFF = 0.85
# Sentences sharing this share of the smaller one's content words say the same thing.
REPEAT_OVERLAP = 0.7


def distinct_sentences(hits: Sequence[Hit]) -> list[tuple[Hit, int, int, str]]:
    """Sentences of all hits; a sentence repeated verbatim (syndicated copies) is kept once,
    and one addressed to the model (rag/screen.py) not at all: it is never evidence."""
    seen: set[str] = set()
    found = []
    for hit in hits:
        for sentence, screened in zip(hit.sentences, screened_sentences(hit), strict=True):
            key = " ".join(sentence.text.lower().split())
            if key not in seen and any(ch.isalnum() for ch in key):
                seen.add(key)
                if not screened:
                    found.append((hit, sentence.start, sentence.end, sentence.text))
    return found


def screened_sentences(hit: Hit) -> list[bool]:
    """Per sentence of the hit: addressed to the model, the second half of an order split in
    two, carrying a link to a site other than the article's outlet (rag/screen.py's
    `screen_passage`), or inside a forged chat turn (between two role markers, like the "OK"
    of "<|im_start|>assistant / OK / <|im_end|>")."""
    flags = screen_passage([s.text for s in hit.sentences], url=hit.url, source=hit.source)
    roles = [flag is not None and flag.kind == "role" for flag in flags]
    return [flag is not None or (0 < i < len(flags) - 1 and roles[i - 1] and roles[i + 1])
            for i, flag in enumerate(flags)]


def count_screened(hits: Sequence[Hit]) -> int:
    """Distinct retrieved sentences withheld as addressed to the model."""
    screened = {" ".join(s.text.lower().split()) for hit in hits
                for s, flag in zip(hit.sentences, screened_sentences(hit), strict=True) if flag}
    return len(screened)


def relevance(ranked: Sequence[RankedSentence]) -> float:
    """How well the retrieved text matches the question: the best sentence's relevance."""
    return max((r.relevance for r in ranked), default=0.0)


def pick_extractive(ranked: Sequence[RankedSentence], max_sentences: int
                    ) -> list[RankedSentence]:
    """The best sentence, and up to max_sentences - 1 more that score nearly as well and
    repeat none already chosen.

    Questions ("Will They Agree on a Ceasefire?" headlines) and teasers cut off with "..."
    are passed over unless nothing else is left.
    """
    whole = [r for r in ranked if not _is_question_or_teaser(r.text)
             and not is_heading(r.text, r.hit.title)] or list(ranked)
    if not whole:
        return []
    floor = whole[0].relevance * RELATIVE_CUTOFF
    chosen: list[RankedSentence] = []
    for candidate in whole:
        if len(chosen) == max_sentences:
            break
        if chosen and candidate.relevance < floor:
            continue
        if not any(_repeats(candidate.text, earlier.text) for earlier in chosen):
            chosen.append(candidate)
    return chosen


def _is_question_or_teaser(text: str) -> bool:
    end = text.rstrip(" \"'”’)")
    return end.endswith(("?", "...", "…"))


def _repeats(text: str, other: str) -> bool:
    """Mostly the same words: a lead paragraph and its teaser, or a rewritten wire copy."""
    words, other_words = content_words(text), content_words(other)
    smaller = min(len(words), len(other_words))
    return smaller > 0 and len(words & other_words) / smaller >= REPEAT_OVERLAP


def prompt_sources(ranked: Sequence[RankedSentence], count: int) -> list[Citation]:
    """The best `count` sentences numbered 1..count for a prompt: grouped by article (best
    article first) and in reading order within each, so the model sees coherent passages."""
    best = ranked[:count]
    article_rank: dict[str, int] = {}
    for r in best:
        article_rank.setdefault(r.hit.article_id, len(article_rank))
    ordered = sorted(best, key=lambda r: (article_rank[r.hit.article_id], r.start))
    return [r.cite(n) for n, r in enumerate(ordered, start=1)]
