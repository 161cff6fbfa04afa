"""`AnswerStream`: what `Assistant.stream` returns — the answer's text as it is written, then
the whole Answer.

    >>> with assistant.stream("What will Trump and Putin discuss?") as stream:  # doctest: +SKIP
    ...     for delta in stream:
    ...         print(delta, end="")
    ...     answer = stream.answer
"""

from __future__ import annotations

from collections.abc import Iterator
from types import TracebackType

from rag.models import Answer


class AnswerStream:
    """Iterate for text deltas; `.answer` is the Answer (read to the end first if need be).
    Closing it (or leaving its `with` block) stops a model that is still writing and frees
    a local model's lock at once, not when the stream is garbage-collected."""

    def __init__(self, items: Iterator[str | Answer]) -> None:
        self._items = items
        self._answer: Answer | None = None

    def __iter__(self) -> Iterator[str]:
        for item in self._items:
            if isinstance(item, Answer):
                self._answer = item
                return
            yield item

    @property
    def answer(self) -> Answer:
        if self._answer is None:
            for _ in self:  # the deltas not read yet
                pass
        if self._answer is None:
            raise AssertionError("the answer stream ended without an Answer")
        return self._answer

    def close(self) -> None:
        close = getattr(self._items, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> AnswerStream:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 trace: TracebackType | None) -> None:
        self.close()
