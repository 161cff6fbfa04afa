"""Names in a text (people, organisations, places, works, numbers), for carrying what a
conversation is about over to its follow-up questions.

Two finders, merged in text order: runs of capitalised words (cheap, and right about names in
mid-sentence) and spaCy's entities (right about a name that starts a sentence: "Afghanistan
was rocked by ..." - a capital there says nothing by itself).

    >>> names_in("Police arrested 31 men of Patriot Front. Where was the event?")
    ['31', 'Patriot Front']
"""

from __future__ import annotations

import re

from newsrag.errors import ModelError
from rag.text import STOPWORDS

WORD = re.compile(r"(?:[A-Z]\.){2,}|[A-Za-z][\w'’-]*|\d[\d,.]*")  # "U.S." is one word
_SENTENCE_START = re.compile(r"(?:^|[.!?:\"“”]\s+)$")
# Entity kinds that name something a follow-up can refer to ("it", "they", "there", "he").
_KINDS = frozenset({"PERSON", "ORG", "GPE", "LOC", "NORP", "FAC", "PRODUCT", "EVENT",
                    "WORK_OF_ART", "LAW"})


def names_in(text: str) -> list[str]:
    """The names of `text` in order, each once; a name inside a longer one is dropped."""
    spans = sorted(capitalised(text) + entities(text), key=lambda s: (s[0], -len(s[1])))
    names: list[str] = []
    for _, name in spans:
        if not any(name in kept for kept in names):
            names = [kept for kept in names if kept not in name] + [name]
    return names


def entities(text: str) -> list[tuple[int, str]]:
    """(start, text) of spaCy's named entities of the kinds above; none without the model."""
    from rag.nlp import parse

    try:
        doc = parse(text)
    except ModelError:
        return []
    found = []
    for entity in doc.ents:
        name, start = entity.text, entity.start_char
        if entity.label_ not in _KINDS or not any(c.isupper() or c.isdigit() for c in name):
            continue
        if name.lower().startswith("the "):
            name, start = name[4:], start + 4
        found.append((start, _trimmed(name)))
    return found


def capitalised(text: str) -> list[tuple[int, str]]:
    """(start, text) of runs of capitalised words and of numbers: "Patriot Front", "31".

    A capitalised word that starts a sentence only counts when the next word is capitalised
    too ("Gustavo Petro will ..."), since "Police arrested ..." starts with a plain word.

    >>> capitalised("Police arrested 31 men of Patriot Front. Where was the event?")
    [(16, '31'), (26, 'Patriot Front')]
    """
    names: list[tuple[int, str]] = []
    run: list[str] = []
    run_start = last_end = 0
    for match in WORD.finditer(text):
        token, joined = match.group(0), text[last_end:match.start()] == " "
        last_end = match.end()
        capital = token[0].isupper() and token.lower() not in STOPWORDS
        if capital and run and joined:  # "Riyadh, Saudi Arabia" is two names
            run.append(token)
            continue
        if run:
            names.append((run_start, _trimmed(" ".join(run))))
        run, run_start = [], match.start()
        if token[0].isdigit():
            names.append((match.start(), token.rstrip(".,")))
        elif capital:
            starts = bool(_SENTENCE_START.search(text[:match.start()]))
            run = [token] if not starts or _next_is_capital(text, match.end()) else []
    if run:
        names.append((run_start, _trimmed(" ".join(run))))
    return names


def _next_is_capital(text: str, end: int) -> bool:
    following = WORD.match(text, end + 1) if text[end:end + 1] == " " else None
    return bool(following and following.group(0)[0].isupper())


def _trimmed(name: str) -> str:
    """Without a possessive ending: "Colombia's" names Colombia."""
    return name.removesuffix("'s").removesuffix("’s").strip()
