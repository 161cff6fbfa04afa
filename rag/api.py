"""The plain Python API: `answer` and `stream_answer`.

Services (the index, the embedder, chat models) are built once per distinct settings and
reused, so repeated calls pay model loading once.

    >>> from rag.api import answer
    >>> result = answer("What will Trump and Putin discuss?")        # doctest: +SKIP
    >>> print(result.answer)                                         # doctest: +SKIP
    Trump, who is seeking Putin's backing for a 30-day ceasefire ... [1]
    >>> history = [(result.question, result.answer)]                    # doctest: +SKIP
    >>> follow_up = answer("When is it?", history=history)           # doctest: +SKIP
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from newsrag.settings import Settings, load_settings
from rag.answer_stream import AnswerStream
from rag.answering import AskOptions, Assistant
from rag.models import Answer

_assistants: dict[str, Assistant] = {}
_lock = threading.Lock()


def get_assistant(settings: Settings | None = None) -> Assistant:
    """The shared Assistant for these settings (default: config.toml and NEWSRAG_* env)."""
    settings = settings or load_settings()
    key = settings.model_dump_json() + str(settings.config_path)
    with _lock:
        if key not in _assistants:
            from rag.services import build_services

            _assistants[key] = Assistant(build_services(settings))
        return _assistants[key]


def answer(question: str, history: Iterable[Any] | None = None,
           settings: Settings | None = None, **options: Any) -> Answer:
    """Answer a question, citing exact source sentences.

    history: earlier turns as (question, answer) pairs, role/content dicts or LangChain
    messages. options: k, filters, generator, mmr (see AskOptions).
    """
    return get_assistant(settings).answer(question, history, AskOptions(**options))


def stream_answer(question: str, history: Iterable[Any] | None = None,
                  settings: Settings | None = None, **options: Any) -> AnswerStream:
    """The answer's text deltas as it is written; `.answer` when done (see AnswerStream)."""
    return get_assistant(settings).stream(question, history, AskOptions(**options))
