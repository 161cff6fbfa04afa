"""Word-level text features shared by ranking and support scoring."""

from __future__ import annotations

import re

_WORD = re.compile(r"[A-Za-z0-9]+(?:['’][a-z]+)?")
STOPWORDS = frozenset("""
    a an the and or but of to in on at for with by from about as is are was were be been being
    will would shall should can could may might must do does did have has had what which who
    whom whose when where why how this that these those it its they them their he she his her
    we our you your i me my not no so than then there here into over under up down out if also
    just any all some more most such only own same too very s t
""".split())
_SUFFIXES = ("ations", "ation", "ions", "ion", "ings", "ing", "ies", "ed", "es", "s")


def stem(word: str) -> str:
    """A light suffix stripper: 'discussions' and 'discuss' meet at 'discuss'."""
    if word.endswith("ss"):
        return word
    for suffix in _SUFFIXES:
        if word.endswith(suffix) and len(word) - len(suffix) >= 4:
            return word[: -len(suffix)]
    return word


def content_words(text: str) -> set[str]:
    """Lower-cased, stemmed words minus stopwords."""
    words = (w.lower().replace("’", "'").split("'")[0] for w in _WORD.findall(text))
    return {stem(w) for w in words if w not in STOPWORDS}
