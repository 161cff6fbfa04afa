"""Safe terminal output: article text must never act on the terminal."""

from __future__ import annotations

import re

# ESC sequences (CSI, OSC ... BEL/ST), then any remaining C0/C1 control except \n and \t,
# and bidi overrides that can make text read differently from what it is.
_ESCAPES = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?")
_CONTROLS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def safe(text: str | None) -> str:
    """Text with terminal escape sequences and control characters removed.

    >>> safe("ok\\x1b[31mred\\x1b]0;title\\x07!")
    'okred!'
    """
    if not text:
        return ""
    return _CONTROLS.sub("", _ESCAPES.sub("", text))


def safe_line(text: str | None) -> str:
    """`safe` text kept on one line: newlines and tabs shown as \\n and \\t, so a file name
    cannot forge extra lines of a report.

    >>> safe_line("evil\\n  skipped fake.txt: ok\\x1b[2J")
    'evil\\\\n  skipped fake.txt: ok'
    """
    return safe(text).replace("\n", "\\n").replace("\t", "\\t")
