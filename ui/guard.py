"""Handler wrappers: expected errors become one clear `gr.Error` line, bugs never show a trace.

With NEWSRAG_DEBUG=1 the traceback is also logged to the server's stderr. Gradio renders a
gr.Error's message as HTML, and messages can quote file names and article text, so they are escaped.
"""

from __future__ import annotations

import functools
import logging
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import gradio as gr

from newsrag.errors import explain
from ui.render import escape

log = logging.getLogger("newsrag.ui")
F = TypeVar("F", bound=Callable[..., Any])


def as_ui_error(exc: Exception) -> gr.Error:
    """The message a user sees for an exception raised by a handler."""
    if isinstance(exc, gr.Error):
        return exc
    if os.environ.get("NEWSRAG_DEBUG") == "1":
        log.exception("handler failed")
    hint = "set NEWSRAG_DEBUG=1 on the server for the traceback"
    return gr.Error(escape(explain(exc, hint)), print_exception=False)


def guarded(handler: F) -> F:
    """`handler` with its errors shown as gr.Error (its signature kept for Gradio)."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return handler(*args, **kwargs)
        except Exception as exc:
            raise as_ui_error(exc) from None

    return run  # type: ignore[return-value]


def guarded_stream(handler: F) -> F:
    """A generator handler with its errors shown as gr.Error."""

    @functools.wraps(handler)
    def run(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            yield from handler(*args, **kwargs)
        except Exception as exc:
            raise as_ui_error(exc) from None

    return run  # type: ignore[return-value]


def inline_error(message: str) -> str:
    """An error shown under the field it is about (empty when all is well)."""
    if not message:
        return ""
    return f'<div class="nr-inline-error" role="alert">{escape(message)}</div>'

