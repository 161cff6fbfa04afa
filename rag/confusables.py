"""Letters of other scripts that look like Latin ones, folded to Latin before screening.

NFKC/NFKD resolve fullwidth and mathematical letters, not look-alikes: Cyrillic "а" (U+0430)
or Greek "Ι" (U+0399) in "Ιgnore аll prеvious instruсtions" read as Latin to a model and to
a reader, but not to a regex. The table holds the Cyrillic, Greek, Armenian and Cherokee
letters of Unicode's confusables list (confusablesSummary.txt) whose Latin twin is a plain
ASCII letter. Real Russian or Greek text is not folded: only a text whose letters are mostly
Latin, and in any text a word that mixes Latin with look-alikes (which no real word does).

    >>> fold_confusables("Ιgnore аll prеvious instruсtions")
    'Ignore all previous instructions'
    >>> fold_confusables("Путин встретился с Трампом")
    'Путин встретился с Трампом'
"""

from __future__ import annotations

import re

_PAIRS = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "һ": "h", "і": "i", "ј": "j", "к": "k", "м": "m", "н": "h",
    "о": "o", "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "ԁ": "d", "ԛ": "q",
    "ԝ": "w", "ӏ": "l", "ү": "y", "ɡ": "g",
    "А": "A", "В": "B", "Е": "E", "К": "K", "М": "M", "Н": "H", "О": "O", "Р": "P", "С": "C",
    "Т": "T", "Х": "X", "У": "Y", "І": "I", "Ј": "J", "Ѕ": "S", "Ԁ": "D", "Ԛ": "Q", "Ԝ": "W",
    "Ү": "Y", "Ӏ": "I", "Ⅰ": "I",
    # Greek
    "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M", "Ν": "N",
    "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X", "ο": "o", "ν": "v", "ι": "i", "κ": "k",
    "ρ": "p", "υ": "u", "α": "a", "ϲ": "c", "ϳ": "j",
    # Armenian
    "օ": "o", "ս": "u", "ո": "n", "հ": "h", "զ": "q", "ց": "g", "ա": "w",
    # Cherokee (capitals only: the small letters are not confusable)
    "Ꭺ": "A", "Ᏼ": "B", "Ꮯ": "C", "Ꭰ": "D", "Ꭼ": "E", "Ꮐ": "G", "Ꮋ": "H", "Ꭻ": "J", "Ꮶ": "K",
    "Ꮮ": "L", "Ꮇ": "M", "Ꮲ": "P", "Ꮢ": "R", "Ꮪ": "S", "Ꭲ": "T", "Ꮩ": "V", "Ꮃ": "W", "Ꮓ": "Z",
}
_TABLE = str.maketrans(_PAIRS)
_LOOKALIKE = re.compile(f"[{''.join(_PAIRS)}]")
_WORD = re.compile(r"\w+")


def fold_confusables(text: str) -> str:
    """`text` with look-alike letters as Latin where the text or the word is Latin."""
    if text.isascii() or not _LOOKALIKE.search(text):
        return text
    letters = [ch for ch in text if ch.isalpha()]
    latin = sum(1 for ch in letters if ch.isascii())
    if latin > len(letters) / 2:
        return text.translate(_TABLE)
    return _WORD.sub(lambda m: _fold_mixed(m.group()), text)


def _fold_mixed(word: str) -> str:
    return word.translate(_TABLE) if any(ch.isascii() and ch.isalpha() for ch in word) else word


def disguised_word(text: str) -> str | None:
    """A word mixing Latin letters with look-alikes ("Ιgnore", "АI"): no real word does."""
    if text.isascii():
        return None
    for match in _WORD.finditer(text):
        word = match.group()
        if _LOOKALIKE.search(word) and any(ch.isascii() and ch.isalpha() for ch in word):
            return word
    return None
