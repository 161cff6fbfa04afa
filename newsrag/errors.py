"""The error hierarchy: every expected failure is a NewsragError with a one-line message."""

from __future__ import annotations

from pathlib import Path

RESTORE_HINT = ("restore the data dir from a backup, or move it away and ingest the articles "
                "again")


class NewsragError(Exception):
    """Base of every error newsrag reports to the user as one clear line."""


class ConfigError(NewsragError):
    """The configuration file or an environment override is invalid."""


class IngestError(NewsragError):
    """A source could not be read or parsed."""


class StoreError(NewsragError):
    """The vector store or the article catalog is missing, busy or inconsistent."""


class StoreBusyError(StoreError):
    """Another process holds the store's write lock."""


class ModelError(NewsragError):
    """A model (embedder, tokenizer, LLM) could not be loaded."""


class NotFoundError(NewsragError):
    """A requested article or chunk does not exist."""


class InputError(NewsragError):
    """A value a user typed (a date, a count) cannot be read."""


class EvalError(NewsragError):
    """An eval dataset, answers file or labelled judge set is malformed."""


def is_disk_full(exc: BaseException) -> bool:
    """True for an error that says the disk is full, whoever raised it (OS, SQLite, Chroma)."""
    import errno

    if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(exc).lower()
    return "disk is full" in text or "no space left" in text or "disk full" in text


def one_line(exc: BaseException) -> str:
    """An exception as one line: its message with whitespace collapsed, else its type."""
    return " ".join(str(exc).split()) or type(exc).__name__


def describe_failure(exc: BaseException, path: Path | None = None) -> str:
    """One line for a failed read or write, saying "disk full" when that is the cause, or
    when the disk holding `path` is nearly full and the error does not say why."""
    if not is_disk_full(exc):
        return one_line(exc) + (low_space_hint(path) if path is not None else "")
    where = f" writing {exc.filename}" if isinstance(exc, OSError) and exc.filename else ""
    return f"disk full (no space left on device{where})"


def low_space_hint(path: Path) -> str:
    """" (disk nearly full: N MB left)" when the disk holding `path` is, else "": some
    libraries fail on a full disk without saying why (Chroma cannot even open then)."""
    import shutil

    try:
        free = shutil.disk_usage(path if path.exists() else path.parent).free
    except OSError:
        return ""
    if free >= 64 * 2**20:
        return ""
    return f" (disk {'full' if free < 2**21 else 'nearly full'}: {free / 2**20:.1f} MB left)"


DEBUG_HINT = "set NEWSRAG_DEBUG=1 for the traceback"


def explain(exc: BaseException, debug_hint: str = DEBUG_HINT) -> str:
    """The one line every entry point (CLI, chat, UI, HTTP) shows for a failure: an expected
    error's message, an OS error (the machine's: a full disk) described, else a bug named as
    one, with how to see its traceback.

    >>> explain(NotFoundError("no article with id 'x'"))
    "no article with id 'x'"
    >>> explain(ValueError("bad"))
    'internal error: ValueError: bad (set NEWSRAG_DEBUG=1 for the traceback)'
    """
    if isinstance(exc, NewsragError):
        return one_line(exc)
    if isinstance(exc, OSError):
        return describe_failure(exc)
    return f"internal error: {type(exc).__name__}: {one_line(exc)} ({debug_hint})"
