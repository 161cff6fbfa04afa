"""Relative dates in a question ("this week", "last Tuesday") as a publication-date window.

News questions are asked at a moment: "What did the Fed announce this week?" means the week
before the question was asked. The reference date is the question's own date when one is
given (an eval dataset's question_date, `--as-of`), else today. The window is widened by a
few days of slack (`retrieval.date_slack_days`): a story is often published the day after
the event, or reported the day before a "this week" window starts.

    >>> from datetime import date
    >>> window = resolve_dates("Who won the vote last Tuesday?", date(2022, 6, 16))
    >>> window.since, window.until, window.phrase
    (datetime.date(2022, 6, 14), datetime.date(2022, 6, 14), 'last tuesday')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from newsrag.errors import InputError

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
            "a": 1, "few": 3, "several": 5}
_COUNT = r"(\d+|one|two|three|four|five|six|seven|a|few|several)"
_DAY = "|".join(WEEKDAYS)
PATTERN = re.compile(
    rf"\b(today|tonight|yesterday|(?:this|last|past|previous) (?:week|month|year|weekend)"
    rf"|this past (?:week|weekend|month)|(?:last|past|previous) {_COUNT} (?:days?|weeks?|months?)"
    rf"|(?:last|this|on|since) (?:{_DAY})|{_DAY})\b(?!\.\w)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class DateWindow:
    """Publication dates a question's relative date refers to, both ends inclusive."""

    since: date
    until: date
    phrase: str

    def widened(self, slack_days: int, reference: date) -> DateWindow:
        """The window with `slack_days` more on each side, never past the reference date."""
        slack = timedelta(days=slack_days)
        return DateWindow(self.since - slack, min(self.until + slack, reference), self.phrase)


def resolve_dates(question: str, reference: date) -> DateWindow | None:
    """The window of the question's first relative date expression, or None."""
    match = PATTERN.search(question)
    if not match:
        return None
    phrase = " ".join(match.group(0).lower().split())
    window = _window(phrase, reference)
    return DateWindow(window[0], window[1], phrase) if window else None


def _window(phrase: str, ref: date) -> tuple[date, date] | None:
    words = phrase.split()
    if phrase in ("today", "tonight"):
        return ref, ref
    if phrase == "yesterday":
        return ref - timedelta(days=1), ref - timedelta(days=1)
    if words[-1].rstrip("s") in ("day", "week", "month") and words[-2] not in ("this", "past",
                                                                               "last", "previous"):
        return _last_n(words, ref)
    if words[-1] in WEEKDAYS:
        return _weekday(words, ref)
    unit = words[-1]
    if words[0] == "this" and words[1] != "past":  # the period so far
        return _period_start(unit, ref), ref
    return _previous_period(unit, ref)


def _last_n(words: list[str], ref: date) -> tuple[date, date]:
    count = int(words[-2]) if words[-2].isdigit() else _NUMBERS[words[-2]]
    days = {"day": 1, "week": 7, "month": 30}[words[-1].rstrip("s")] * min(count, 366)
    return ref - timedelta(days=days), ref


def _weekday(words: list[str], ref: date) -> tuple[date, date]:
    """The most recent such weekday before the reference date ("since Monday": up to now).

    Asked on that weekday, a bare "Thursday" ("flooding early Thursday") may be today as
    well as a week ago: both days and the week between count."""
    back = (ref.weekday() - WEEKDAYS.index(words[-1])) % 7 or 7
    day = ref - timedelta(days=back)
    if words[0] == "this" and back == 7:
        day = ref
    if (words[0] == "on" or words[0] in WEEKDAYS) and back == 7:
        return day, ref
    return (day, ref) if words[0] == "since" else (day, day)


def _period_start(unit: str, ref: date) -> date:
    if unit == "week":
        return ref - timedelta(days=6)
    if unit == "weekend":
        return ref - timedelta(days=(ref.weekday() - 5) % 7)
    if unit == "month":
        return ref.replace(day=1)
    return ref.replace(month=1, day=1)


def _previous_period(unit: str, ref: date) -> tuple[date, date]:
    """"last week" / "past week" / "this past week": the seven days before the reference;
    "last weekend": the most recent Saturday and Sunday."""
    if unit == "weekend":
        saturday = ref - timedelta(days=(ref.weekday() - 5) % 7 or 7)
        return saturday, min(saturday + timedelta(days=1), ref)
    if unit == "week":
        return ref - timedelta(days=7), ref
    if unit == "month":
        return ref - timedelta(days=31), ref
    return ref - timedelta(days=366), ref


def parse_day(text: str, reference: date, end: bool = False) -> date:
    """A date given by a user: ISO ("2022-08-12", "2022/08/12") or a relative phrase
    ("monday", "last week", "3 days") read against the reference day: its first day, or
    its last with `end`.

    >>> parse_day("last week", date(2022, 8, 12)), parse_day("2022/08/01", date(2022, 8, 12))
    (datetime.date(2022, 8, 5), datetime.date(2022, 8, 1))
    """
    cleaned = text.strip()
    try:
        return date.fromisoformat(cleaned.replace("/", "-")[:10])
    except ValueError:
        pass
    phrase = cleaned.lower()
    window = resolve_dates(phrase if " " in phrase or phrase in WEEKDAYS or phrase in (
        "today", "yesterday") else f"last {phrase}", reference)
    if window is None:
        raise InputError(f"cannot read the date {text!r}: use YYYY-MM-DD or a phrase like "
                         "'monday', 'last week' or '3 days'")
    return window.until if end else window.since
