"""Numbers in canonical form, so '1,000', '1000' and 'one thousand'-style counts meet.

    >>> sorted(numbers_in("1.2 million people, 3,000 troops and twenty-one tanks"))
    ['1200000', '21', '3000']
"""

from __future__ import annotations

import re

_NUMBER = re.compile(
    r"(?<![\w.])(\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?)(?:\s*(million|billion|trillion|thousand|bn|m)"
    r"\b)?", re.IGNORECASE)
_SCALES = {"thousand": 1e3, "million": 1e6, "m": 1e6, "billion": 1e9, "bn": 1e9,
           "trillion": 1e12}
_UNITS = "one two three four five six seven eight nine ten eleven twelve thirteen fourteen " \
    "fifteen sixteen seventeen eighteen nineteen".split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
_SPELLED = {w: i + 1 for i, w in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_SPELLED_NUMBER = re.compile(
    rf"\b({'|'.join(_TENS)})[- ]({'|'.join(_UNITS[:9])})\b|\b({'|'.join(_SPELLED)})\b",
    re.IGNORECASE)


def numbers_in(text: str, *, lenient: bool = False) -> set[str]:
    """Numbers in canonical form: '1,000' and '1000' meet, '1.2 million' is 1200000.

    `lenient` (for evidence) also keeps each number without its scale word and reads "one",
    which in a claim is more often a pronoun than a count.
    """
    found: set[str] = set()
    for digits, scale in _NUMBER.findall(text):
        value = float(digits.replace(",", ""))
        found.add(_canonical(value * _SCALES.get(scale.lower(), 1.0)))
        if lenient:
            found.add(_canonical(value))
    for tens, unit, single in _SPELLED_NUMBER.findall(text):
        if single.lower() == "one" and not lenient:
            continue
        value = _SPELLED[tens.lower()] + _SPELLED[unit.lower()] if tens else _SPELLED[
            single.lower()]
        found.add(_canonical(value))
    return found


def _canonical(value: float) -> str:
    return str(int(value)) if value == int(value) else f"{value:g}"
