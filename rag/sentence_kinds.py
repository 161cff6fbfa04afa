"""Sentences that are not statements of news: headings, labels, bylines, questions.

Articles carry their headline again in the body, section labels ("TODAY'S WEATHER",
"QUIZ TIME"), bylines and datelines ("Washington CNN —"), and newsletters copy quiz questions.
None of them is ever a short answer, and they rank low as evidence.

    >>> is_heading("Bridge Repair Costs Soar After Storm", "")
    True
    >>> is_heading("The repair cost $42 million, officials said.", "")
    False
    >>> strip_dateline("WASHINGTON (CNN) — The Senate voted on Tuesday.")
    'The Senate voted on Tuesday.'
"""

from __future__ import annotations

import re

from rag.text import STOPWORDS, content_words

_END = re.compile(r"[.!?…:;][\"'”’)\]]*\s*$")
_BYLINE = re.compile(r"^\s*(?:by|written by|reporting by|photo(?:graph)?s? by|updated|"
                     r"published|posted)\b", re.IGNORECASE)
# Where a sentence's news starts: a headline line before a blank line, then a dateline or
# wire credit: "WASHINGTON (CNN) —", "Washington CNN —", "LONDON, June 3 (Reuters) -",
# "Hong Kong/Beijing/Taipei (CNN)", "GARDINER, Mont. –" (AP style), "WASHINGTON –".
_WIRES = r"(?:CNN Business|CNN Español|CNN|Reuters|AP|AFP|UPI|Bloomberg|BBC|dpa)"
_CREDIT = rf"(?:\({_WIRES}\)\s*(?:[—–-]{{1,2}}\s*)?|{_WIRES}\s*[—–-]{{1,2}}\s*)"
_DATELINE = re.compile(
    r"^\s*(?:[^\n]{0,90}\n\s*\n\s*)?"
    rf"(?:(?:[A-Z][\w.'’ ,/-]{{0,60}}?\s*)?{_CREDIT}"
    r"|[A-Z][A-Z.'’ -]{1,30},\s*[A-Z][\w.'’ ]{1,25}?\s*[—–-]{1,2}\s*"
    r"|[A-Z][A-Z.'’ ,-]{2,40}\s*[—–-]{1,2}\s*)?")
# A picture's caption with its credit glued on: "Gemunu Amarasinghe/AP Protesters gather …",
# "NASA/ESA/CSA/STScI Webb's view …": the photographer's or agency's name, a slash, a credit.
_PHOTO_CREDIT = re.compile(r"^(?:[A-Z][\w'’.-]*\s+){0,3}[A-Z][\w'’.-]*/[A-Z][\w/'’.-]*\s+[A-Z]")
_MONTHS = ("January|February|March|April|May|June|July|August|September|October|November|"
           "December")
# Agency picture captions as pages carry them: "SCHWEDT, GERMANY - MAY 03: In this aerial
# view …" (the place may be cut as a dateline), "… tees off … on February 05, 2022 in Al
# Murooj, Saudi Arabia." (no comma after the year, as prose would have), and gallery
# captions "Hide Caption 46 of 49 Photos: …".
_AGENCY_CAPTION = re.compile(
    rf"^(?:[A-Z][A-Z.'’ ,-]{{2,40}}\s[—–-]\s)?(?:{_MONTHS.upper()}) \d{{1,2}}:\s"
    rf"|\bon (?:{_MONTHS}) \d{{1,2}}, \d{{4}} in [A-Z][^,.]*(?:, [A-Z][^,.]*)*\.?\s*$"
    r"|\bHide Caption\b")
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def is_heading(text: str, title: str = "") -> bool:
    """A headline, section label or caption line: the article's title again, all capitals,
    or a short line with no closing punctuation whose words are mostly capitalised."""
    flat = " ".join(text.split())
    if not flat:
        return True
    if title and _same(flat, title):
        return True
    words = _WORD.findall(flat)
    letters = [c for c in flat if c.isalpha()]
    if letters and sum(c.isupper() for c in letters) / len(letters) > 0.8 and len(words) <= 12:
        return True
    if _BYLINE.match(flat) and len(words) <= 12:
        return True
    if _END.search(flat) or len(words) > 16:
        return False
    significant = [w for w in words if w.lower() not in STOPWORDS]
    capitalised = sum(w[0].isupper() for w in significant)
    return len(words) <= 4 or (bool(significant) and capitalised / len(significant) >= 0.6)


def is_question(text: str) -> bool:
    """Asks rather than tells (a quiz question, a rhetorical headline), or trails off (a
    teaser cut with "...")."""
    return text.rstrip(" \"'”’)").endswith(("?", "...", "…"))


def restates(text: str, question_terms: frozenset[str]) -> bool:
    """Says little beyond the question's own words: no answer can be in it."""
    words = content_words(text)
    if not question_terms or not words:
        return False
    shared = len(words & question_terms) / len(question_terms)
    return shared >= 0.7 and len(words - question_terms) <= 2


def dateline_end(text: str) -> int:
    """Where the news of a sentence starts: after its dateline or wire credit (0 if none).

    >>> text = "GARDINER, Mont. – Park officials assessed the damage on Tuesday."
    >>> text[dateline_end(text):]
    'Park officials assessed the damage on Tuesday.'
    """
    match = _DATELINE.match(text)
    return match.end() if match and match.end() < len(text) else 0


def strip_dateline(text: str) -> str:
    """The sentence without a leading dateline or wire credit."""
    return text[dateline_end(text):]


def is_photo_caption(text: str) -> bool:
    """A picture's caption: led by its credit ("Jane Roe/AP Protesters gather …") or in an
    agency's caption form ("MAY 03: In this aerial view …", "… on May 14, 2022 in Austin,
    Texas.").

    >>> is_photo_caption("NASA/ESA/CSA/STScI Webb's view shows a star-forming region.")
    True
    >>> is_photo_caption("Former President Donald Trump speaks on May 28, 2022 in Casper, Wyoming.")
    True
    >>> is_photo_caption("MAY 03: In this aerial view, huge tanks for crude oil stand.")
    True
    >>> is_photo_caption("The AC/DC tour was cancelled on Monday.")
    False
    >>> is_photo_caption("The law was signed on May 28, 2022, in Casper, Wyoming.")
    False
    """
    return bool(_PHOTO_CREDIT.match(text) or _AGENCY_CAPTION.search(text))


def _same(text: str, title: str) -> bool:
    a, b = content_words(text), content_words(title)
    return bool(a) and bool(b) and len(a & b) / max(len(a), len(b)) >= 0.8
