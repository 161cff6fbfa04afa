"""Words for BM25: lower-cased, stemmed (Snowball English, in C), stop words dropped.

    >>> tokenize("Putin's talks with Trump, June 12, 2022")
    ['putin', 'talk', 'trump', 'june', '12', '2022']
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

# Lucene's English stop words plus the question words users type ("which", "who", ...): common
# words carry little in BM25 anyway, but left in they add noise to short chunks.
STOPWORDS = frozenset("""
a an and are as at be but by for if in into is it no not of on or such that the their then
there these they this to was will with what which who whom whose when where why how did does
do done has have had been being were its it's s t than so from about after over up out also
would could should can may might i you he she we our your his her them us me my
""".split())
_WORD = re.compile(r"[^\W_]+")


@lru_cache(maxsize=1)
def _stemmer() -> Any:
    import Stemmer  # PyStemmer: the Snowball English stemmer, in C

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=200_000)
def _stem(word: str) -> str:
    return str(_stemmer().stemWord(word))


def tokenize(text: str) -> list[str]:
    """Lower-cased, stemmed word tokens without stop words; numbers are kept whole."""
    words = (w for w in _WORD.findall(text.casefold()) if w not in STOPWORDS)
    return [w if w.isdigit() else _stem(w) for w in words if len(w) > 1 or w.isdigit()]
