"""The one grammar of hostile characters, for text coming in (ingest/clean.py) and going out
to a terminal (newsrag/terminal.py): escape sequences and control characters that could act on
a terminal or make text read differently from what it is."""

from __future__ import annotations

import re

# CSI sequences, OSC/DCS/PM/APC strings with their terminator, charset designations (a lone
# ESC is a control character below: without it what follows is plain text). The repeats are
# bounded so a hostile run of parameters cannot make matching quadratic.
ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)[0-?]{0,64}[ -/]{0,8}[@-~]"
    r"|(?:\x1b[\]PX^_]|[\x90\x98\x9d\x9e\x9f])[^\x07\x1b\x9c\n]{0,1024}(?:\x07|\x1b\\|\x9c)"
    r"|\x1b[()*+\-./][ -~]"
)
ESCAPE_STARTS = "\x1b\x9b\x90\x98\x9d\x9e\x9f"
# C0/C1 controls except tab and newline, bidi controls that can disguise text, BOM, U+FFFE/F.
HOSTILE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ufeff\ufffe\uffff]")


def strip_escapes_and_controls(text: str) -> str:
    """`text` without escape sequences or hostile characters (newlines and tabs stay).

    >>> strip_escapes_and_controls("ok\\x1b[31mred\\x1b]0;title\\x07!\\u202e")
    'okred!'
    """
    if any(start in text for start in ESCAPE_STARTS):  # seven scans beat one regex pass
        text = ESCAPE.sub("", text)
    return HOSTILE.sub("", text) if HOSTILE.search(text) else text
