"""Safe terminal output: article text must never act on the terminal."""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
import traceback

from newsrag.errors import NewsragError, explain
from newsrag.text_safety import strip_escapes_and_controls


def safe(text: str | None) -> str:
    """Text with terminal escape sequences and control characters removed.

    >>> safe("ok\\x1b[31mred\\x1b]0;title\\x07!")
    'okred!'
    """
    return strip_escapes_and_controls(text) if text else ""


def safe_line(text: str | None) -> str:
    """`safe` text kept on one line: newlines and tabs shown as \\n and \\t, so a file name
    cannot forge extra lines of a report.

    >>> safe_line("evil\\n  skipped fake.txt: ok\\x1b[2J")
    'evil\\\\n  skipped fake.txt: ok'
    """
    return safe(text).replace("\n", "\\n").replace("\t", "\\t")


def counted(n: int, noun: str, plural: str | None = None) -> str:
    """A count with its noun in the right number: "1 chunk", "2 chunks".

    >>> counted(1, "chunk"), counted(3, "sentence"), counted(2, "story", "stories")
    ('1 chunk', '3 sentences', '2 stories')
    """
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


def human_bytes(size: int) -> str:
    """A byte count as people read it.

    >>> human_bytes(5841398), human_bytes(512)
    ('5.6 MB', '512 B')
    """
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TB"


def terminal_width() -> int | None:
    """Columns of the terminal stdout writes to; None when it is a pipe or a file (where
    text is left unwrapped for programs to read)."""
    if not sys.stdout.isatty():
        return None
    return max(20, shutil.get_terminal_size().columns - 1)


def fit(text: str, indent: str = "", width: int | None = None) -> str:
    r"""`text` wrapped at word boundaries to the terminal (or `width`), continuation lines
    indented by `indent`; unchanged when not writing to a terminal.

    >>> fit("the council approved the new tower", indent="  ", width=16)
    'the council\n  approved the\n  new tower'
    """
    width = width or terminal_width()
    if width is None:
        return text
    return "\n".join(textwrap.fill(line, width, subsequent_indent=indent,
                                    break_long_words=False, break_on_hyphens=False) or line
                      for line in text.split("\n"))


def report_error(exc: BaseException) -> None:
    """The one line on stderr for a failure, for the CLI and the chat alike ("newsrag: error:
    ..." for an expected one, "newsrag: internal error: ..." for a bug), with the traceback
    before it when NEWSRAG_DEBUG=1."""
    if os.environ.get("NEWSRAG_DEBUG") == "1":
        traceback.print_exception(exc)
    kind = "error: " if isinstance(exc, NewsragError | OSError) else ""
    print(f"newsrag: {kind}{safe_line(explain(exc))}", file=sys.stderr, flush=True)
