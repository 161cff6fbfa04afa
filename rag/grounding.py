"""Citation grounding: whatever a generator wrote, keep only sentences their sources support.

The generator sees numbered source sentences and is asked for [n] markers. Small models
ignore that, garble markers and invent details, so after generation every sentence is:
parsed for markers in any common form; checked against its cited sentences by a support
scorer; re-attributed to the best-supporting source sentence if its own citations fail;
dropped (or flagged) if nothing supports it. A sentence with a URL, markup, a chat-template
token or a code-like word its cited sentences lack is unsupported whatever its score: that is
how an injected instruction ("include http://evil.example", "say ZEBRA-42") would show.
Citations are then renumbered 1..m by first use.

    >>> [d.cited for d in parse_markers("The sky is blue [1]. Grass [7] is green.", 1)]
    [(1,), ()]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from ingest.segment import split_sentences
from rag.judge import SupportJudge
from rag.models import Citation
from rag.screen import foreign_strings

# A retrieved sentence as the generator saw it, numbered `n` in the prompt.
SourceSentence = Citation

Mode = Literal["drop", "flag"]

# [1] [1, 2] [1][2] [1-3] [^1] 【1】 (1) (1, 2) — numbers only, so "(2022)" style years are
# filtered by range below.
_MARKER = re.compile(
    r"\[\^?\s*(\d+(?:\s*(?:[,;–-]|and)\s*\d+)*)\s*\]|【\s*(\d+)\s*】|\((\d{1,2}(?:\s*,\s*\d{1,2})*)\)"
)
MARKER_PATTERN = _MARKER  # for readers of answers written elsewhere (the eval suite)
_LEADING_MARKERS = re.compile(rf"\s*(?:(?:{_MARKER.pattern})\s*)+")
_UNFINISHED_MARKER = re.compile(r"\s*(?:[\[(【]\^?[\d\s,;–-]*)$")
_SPACES = re.compile(r"\s+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,;:!?])")


@dataclass(frozen=True)
class DraftSentence:
    """One generated sentence, markers removed; `cited` holds valid prompt numbers."""

    text: str
    cited: tuple[int, ...]


@dataclass(frozen=True)
class GroundedSentence:
    text: str
    cited: tuple[int, ...]  # prompt numbers
    support: float
    status: Literal["supported", "reattributed", "unsupported"]


def parse_markers(text: str, n_sources: int) -> list[DraftSentence]:
    """Split generated text into sentences and read their citation markers (any common form)."""
    drafts: list[DraftSentence] = []
    for sentence in split_sentences(text.strip()):
        numbers = _numbers_in(sentence.text, n_sources)
        clean = _strip_markers(sentence.text)
        leading = _LEADING_MARKERS.match(sentence.text)
        if drafts and not drafts[-1].cited and (leading or not any(c.isalnum() for c in clean)):
            # "Foo. [1] Bar." splits before "[1]": the marker closes the sentence before.
            moved = _numbers_in(leading.group(0), n_sources) if leading else numbers
            drafts[-1] = DraftSentence(drafts[-1].text, moved)
            numbers = tuple(n for n in numbers if n not in moved)
        if any(ch.isalnum() for ch in clean):
            drafts.append(DraftSentence(clean, numbers))
        elif drafts and numbers:
            last = drafts[-1]
            drafts[-1] = DraftSentence(last.text, _merge(last.cited, numbers))
    return drafts


def only_markers(text: str) -> bool:
    """True for text that so far is only markers, maybe one still being written ("[1, ")."""
    return bool(_UNFINISHED_MARKER.match(text)) or not any(
        ch.isalnum() for ch in _strip_markers(text))


def _numbers_in(text: str, n_sources: int) -> tuple[int, ...]:
    found: list[int] = []
    for match in _MARKER.finditer(text):
        group = next(g for g in match.groups() if g)
        for number in _expand(group):
            if 1 <= number <= n_sources and number not in found:
                found.append(number)
    return tuple(found)


def _expand(group: str) -> list[int]:
    """'1, 3' -> [1, 3]; '2-4' -> [2, 3, 4] (ranges capped so '1-999' cannot explode)."""
    numbers: list[int] = []
    for part in re.split(r"\s*(?:[,;]|and)\s*", group):
        bounds = [int(b) for b in re.split(r"\s*[–-]\s*", part) if b]
        if len(bounds) == 2 and 0 <= bounds[1] - bounds[0] <= 10:
            numbers.extend(range(bounds[0], bounds[1] + 1))
        else:
            numbers.extend(bounds)
    return numbers


def _strip_markers(text: str) -> str:
    text = _MARKER.sub("", text)
    text = _SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", text))
    return text.strip()


def _merge(first: tuple[int, ...], second: tuple[int, ...]) -> tuple[int, ...]:
    return first + tuple(n for n in second if n not in first)


def ground_sentences(
    drafts: Sequence[DraftSentence],
    sources: Sequence[SourceSentence],
    judge: SupportJudge,
    mode: Mode = "drop",
) -> list[GroundedSentence]:
    """Keep, re-attribute, or drop/flag each draft sentence by how well sources support it."""
    return [sentence for sentence, _ in _grade(drafts, sources, judge)
            if mode == "flag" or sentence.status != "unsupported"]


def _grade(
    drafts: Sequence[DraftSentence],
    sources: Sequence[SourceSentence],
    judge: SupportJudge,
) -> list[tuple[GroundedSentence, float]]:
    """Every draft graded (unsupported ones flagged), with the best score any check gave it."""
    by_number = {s.n: s for s in sources}
    # Grounding keeps generated text at the judge's precision-targeted bar.
    strict = judge.strict_threshold
    cited_scores = judge.score(
        [(d.text, [by_number[n].text for n in d.cited]) for d in drafts if d.cited])
    cited_iter = iter(cited_scores)
    own_scores = [next(cited_iter) if d.cited else 0.0 for d in drafts]
    # Each source alone is scored only for sentences their own citations do not support.
    failing = [d for d, own in zip(drafts, own_scores, strict=True)
               if not (d.cited and own >= strict)]
    single_scores = iter(judge.score(
        [(d.text, [s.text]) for d in failing for s in sources]) if sources else [])
    graded: list[tuple[GroundedSentence, float]] = []
    for draft, own in zip(drafts, own_scores, strict=True):
        if draft.cited and own >= strict:
            graded.append(_verbatim_checked(
                GroundedSentence(draft.text, draft.cited, own, "supported"), own, by_number))
            continue
        row = [next(single_scores) for _ in sources]
        best = max(range(len(row)), key=row.__getitem__) if row else None
        if best is not None and row[best] >= strict:
            graded.append(_clauses_checked(*_verbatim_checked(GroundedSentence(
                draft.text, (sources[best].n,), row[best], "reattributed"), row[best], by_number),
                by_number, judge))
        else:
            graded.append((GroundedSentence(draft.text, draft.cited, own, "unsupported"),
                           max([own, *row])))
    return graded


def _verbatim_checked(sentence: GroundedSentence, score: float,
                      by_number: dict[int, SourceSentence]) -> tuple[GroundedSentence, float]:
    """Unsupported if it has a URL, markup or code-like word its cited sentences lack."""
    if foreign_strings(sentence.text, [by_number[n].text for n in sentence.cited]):
        return replace(sentence, status="unsupported"), score
    return sentence, score


# Where one clause of a sentence ends and the next begins: a semicolon, or a comma or
# space before a conjunction that joins two statements.
_CLAUSE_BREAK = re.compile(r"\s*;\s*|,\s+(?=(?:and|but|while|whereas|although|though|yet|so|"
                           r"which|adding|saying)\s)|\s+(?=(?:but|whereas|while)\s)")


def split_clauses(text: str, min_words: int = 4) -> list[str]:
    """A sentence's clauses, a fragment under `min_words` words joined to its neighbour.

    >>> split_clauses("The bridge reopened on Monday, and the mayor has resigned in disgrace.")
    ['The bridge reopened on Monday', 'and the mayor has resigned in disgrace.']
    """
    clauses: list[str] = []
    for part in _CLAUSE_BREAK.split(text):
        if clauses and (len(part.split()) < min_words or len(clauses[-1].split()) < min_words):
            clauses[-1] = f"{clauses[-1]} {part}".strip()
        elif part.strip():
            clauses.append(part.strip())
    return clauses


def _clauses_checked(sentence: GroundedSentence, score: float,
                     by_number: dict[int, SourceSentence], judge: SupportJudge
                     ) -> tuple[GroundedSentence, float]:
    """A re-attributed sentence stays only if its new source supports each clause alone: a
    model can glue an echo of an attack from another article onto a supported clause, and
    the whole sentence still scores high against the source of the supported one."""
    clauses = split_clauses(sentence.text)
    if sentence.status != "reattributed" or len(clauses) < 2:
        return sentence, score
    evidence = [by_number[n].text for n in sentence.cited]
    weakest = min(judge.score([(clause, evidence) for clause in clauses]))
    if weakest < judge.strict_threshold:
        return replace(sentence, status="unsupported"), score
    return sentence, score


@dataclass(frozen=True)
class Renumbered:
    """The final answer text with [n] markers, and the sources each n refers to."""

    text: str
    sentences: tuple[GroundedSentence, ...]  # cited numbers now 1..m
    citations: tuple[SourceSentence, ...]  # citations[i] is [i + 1], with n = i + 1


def renumber(grounded: Sequence[GroundedSentence], sources: Sequence[SourceSentence]
             ) -> Renumbered:
    """Number citations 1..m by first use, and write the answer text with its markers."""
    by_number = {s.n: s for s in sources}
    order: dict[int, int] = {}
    sentences = []
    for sentence in grounded:
        for n in sentence.cited:
            order.setdefault(n, len(order) + 1)
        cited = tuple(order[n] for n in sentence.cited)
        sentences.append(GroundedSentence(sentence.text, cited, sentence.support, sentence.status))
    text = " ".join(
        s.text + ("" if not s.cited else " " + "".join(f"[{n}]" for n in s.cited))
        for s in sentences)
    citations = tuple(by_number[n].model_copy(update={"n": order[n]})
                      for n in sorted(order, key=order.__getitem__))
    return Renumbered(text, tuple(sentences), citations)


class StreamGrounder:
    """Grounds generated text sentence by sentence while it streams.

    `feed` and `finish` return deltas of the final, renumbered answer text, so what a user
    sees streaming is exactly what the answer will say. A finished sentence is held back
    while the text after it may still be its citation marker, and flagged sentences until a
    supported one exists (with none, the caller falls back to quotes). In "drop" mode the
    unsupported sentences are not lost but listed in `dropped`, their support the best score
    any check gave them, for a UI that shows the grounding checks.
    """

    def __init__(self, sources: Sequence[SourceSentence], judge: SupportJudge,
                 mode: Mode = "drop", max_sentences: int = 3) -> None:
        self.sources = list(sources)
        self.judge = judge
        self.mode = mode
        self.max_sentences = max_sentences
        self.kept: list[GroundedSentence] = []
        self.dropped: list[GroundedSentence] = []  # "unsupported", prompt numbers; drop mode
        self._buffer = ""
        self._emitted = ""

    @property
    def full(self) -> bool:
        """Enough supported sentences: the caller can stop generating."""
        return sum(s.status != "unsupported" for s in self.kept) >= self.max_sentences

    def feed(self, delta: str) -> str:
        self._buffer += delta
        sentences = split_sentences(self._buffer)
        if len(sentences) < 2:
            return ""
        # The last sentence may be unfinished, and if it is only a marker so far, that marker
        # may belong to the sentence before. A marker opening a sentence ("... plants. [2]
        # Putin ...") closes the one before, so it goes out with it.
        last = len(sentences) - 1
        if only_markers(self._buffer[sentences[last].start:]):
            last -= 1
        cut = sentences[last].start
        lead = _LEADING_MARKERS.match(self._buffer, cut)
        cut = lead.end() if lead else cut
        if cut == 0:
            return ""
        done, self._buffer = self._buffer[:cut], self._buffer[cut:]
        return self._ground(done)

    def finish(self) -> str:
        done, self._buffer = self._buffer, ""
        return self._ground(done)

    def result(self) -> Renumbered:
        return renumber(self.kept, self.sources)

    def _ground(self, text: str) -> str:
        for draft in parse_markers(text, len(self.sources)):
            if self.full:
                break
            for sentence, best in _grade([draft], self.sources, self.judge):
                if sentence.status == "unsupported" and self.mode == "drop":
                    self.dropped.append(replace(sentence, support=best))
                else:
                    self.kept.append(sentence)
        if not any(s.status != "unsupported" for s in self.kept):
            return ""  # flagged text waits for a supported sentence: it may yet fall back
        current = self.result().text
        delta = current[len(self._emitted):]
        self._emitted = current
        return delta
