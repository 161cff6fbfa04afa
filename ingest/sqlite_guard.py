"""SQLite failures as one-line StoreErrors: a full disk, a damaged file, a lock held too long.

    >>> @reporting_failures
    ... class Notes:
    ...     path = "notes.sqlite3"
    ...     def read(self) -> None:
    ...         raise sqlite3.OperationalError("database or disk is full")
    >>> Notes().read()
    Traceback (most recent call last):
    newsrag.errors.StoreError: article catalog notes.sqlite3: disk full (no space left on device)
"""

from __future__ import annotations

import functools
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from newsrag.errors import StoreError, describe_failure

T = TypeVar("T", bound=type)


def reporting_failures(cls: T) -> T:
    """Wrap every public method of a class with a `path` so that SQLite failures become
    StoreErrors naming the file; mistakes in our own SQL (integrity, programming) stay bugs."""
    for name, member in list(vars(cls).items()):
        if callable(member) and not name.startswith("_"):
            setattr(cls, name, _guarded(member))
    return cls


def _guarded(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def guarded(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except (sqlite3.IntegrityError, sqlite3.ProgrammingError):
            raise
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"article catalog {self.path}: "
                             f"{describe_failure(exc, Path(self.path))}") from None

    return guarded
