"""Chat history kept in the data dir: one JSON file per conversation, one folder per owner.

An owner is a logged-in user ("user:alice", when `ui.users` is set) or a browser (a random id
kept in that browser's localStorage). Folder names are hashes of the owner, so no name typed by
anyone becomes a path; conversation ids are checked to be plain hex.

    >>> store = ChatStore(data_dir / "chats")                       # doctest: +SKIP
    >>> chat = store.save("browser:ab12...", Chat.new(turns))       # doctest: +SKIP
    >>> [c.title for c in store.list("browser:ab12...")]            # doctest: +SKIP
    ['What will Trump and Putin discuss?']
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from newsrag.errors import NotFoundError
from rag.answer_layout import DECLINED, day, lay_out, without_markers
from rag.models import Answer
from ui.render import ChatTurn

_ID = re.compile(r"^[0-9a-f]{32}$")
TITLE_CHARS = 80


def new_id() -> str:
    return uuid.uuid4().hex


def is_id(value: object) -> bool:
    return isinstance(value, str) and bool(_ID.match(value))


@dataclass(frozen=True)
class Chat:
    """One conversation: its turns, a title (the first question unless renamed)."""

    id: str
    title: str
    turns: tuple[ChatTurn, ...] = ()
    updated: float = field(default_factory=time.time)

    @classmethod
    def new(cls, turns: Sequence[ChatTurn] = ()) -> Chat:
        title = turns[0].question if turns else "New chat"
        return cls(new_id(), short_title(title), tuple(turns))


def short_title(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= TITLE_CHARS else text[:TITLE_CHARS - 1].rstrip() + "…"


def turn_to_json(turn: ChatTurn) -> dict[str, Any]:
    return {"question": turn.question, "text": turn.text, "error": turn.error,
            "answer": turn.answer.model_dump(mode="json") if turn.answer else None}


def turn_from_json(data: dict[str, Any]) -> ChatTurn:
    answer = Answer.model_validate(data["answer"]) if data.get("answer") else None
    error = str(data.get("error") or "")
    if answer is None and not error:
        error = "stopped before the answer was finished"
    text = str(data.get("text", ""))
    return ChatTurn(str(data["question"]), text, answer, error)


class ChatStore:
    """Conversations under `root`/<owner hash>/<chat id>.json, written atomically."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _folder(self, owner: str) -> Path:
        return self.root / hashlib.sha256(owner.encode("utf-8")).hexdigest()[:32]

    def _path(self, owner: str, chat_id: str) -> Path:
        if not is_id(chat_id):
            raise NotFoundError("no such conversation")
        return self._folder(owner) / f"{chat_id}.json"

    def list(self, owner: str) -> list[Chat]:
        """The owner's conversations, most recently updated first (turns not loaded)."""
        folder = self._folder(owner)
        chats = []
        for path in folder.glob("*.json") if folder.is_dir() else ():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                chats.append(Chat(path.stem, str(data["title"]), (), float(data["updated"])))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a damaged file is left alone, not shown
        return sorted(chats, key=lambda c: -c.updated)

    def load(self, owner: str, chat_id: str) -> Chat:
        path = self._path(owner, chat_id)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            turns = tuple(turn_from_json(t) for t in data["turns"])
            return Chat(chat_id, str(data["title"]), turns, float(data["updated"]))
        except FileNotFoundError:
            raise NotFoundError("that conversation was deleted") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise NotFoundError(f"that conversation cannot be read ({exc})") from None

    def save(self, owner: str, chat: Chat) -> Chat:
        chat = replace(chat, updated=time.time())
        path = self._path(owner, chat.id)
        path.parent.mkdir(parents=True, exist_ok=True)
        data = {"title": chat.title, "updated": chat.updated,
                "turns": [turn_to_json(t) for t in chat.turns]}
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".chat-", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(data, out, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return chat

    def rename(self, owner: str, chat_id: str, title: str) -> Chat:
        title = short_title(title)
        if not title:
            raise NotFoundError("type a name for the conversation")
        return self.save(owner, replace(self.load(owner, chat_id), title=title))

    def delete(self, owner: str, chat_id: str) -> None:
        self._path(owner, chat_id).unlink(missing_ok=True)


def export_json(chat: Chat) -> str:
    """The conversation with every answer in full (citations with their article spans)."""
    return json.dumps({"title": chat.title, "turns": [turn_to_json(t) for t in chat.turns]},
                      ensure_ascii=False, indent=2)


def export_markdown(chat: Chat) -> str:
    """The conversation as Markdown: each question, its answer, then its cited sentences."""
    lines = [f"# {chat.title}", ""]
    for turn in chat.turns:
        lines += [f"**You:** {turn.question}", ""]
        if turn.answer is None:
            lines += [f"*{turn.error or 'no answer'}*", ""]
            continue
        lines += _answer_markdown(turn.answer)
    return "\n".join(lines).rstrip() + "\n"


def _answer_markdown(answer: Answer) -> list[str]:
    layout = lay_out(answer)
    searched = answer.standalone_question.strip()
    lines = []
    if searched and searched.casefold() != answer.question.strip().casefold():
        lines += [f"*searched for: {searched}*", ""]
    if layout.declined:
        return [*lines, f"**newsrag:** {DECLINED}", ""]
    text = []
    if layout.short is not None:
        text.append(f"**{layout.short.text}** [{layout.short.citation}]")
    text += [without_markers(s.text) + "".join(f" [{n}]" for n in s.citations)
             for s in layout.prose]
    lines += ["**newsrag:** " + " ".join(text), ""]
    for c in sorted(answer.citations, key=lambda c: c.n):
        origin = ", ".join(p for p in (c.source, day(c.published)) if p)
        lines.append(f"- [{c.n}] “{c.text}” — *{c.title or 'Untitled'}*"
                     f"{' (' + origin + ')' if origin else ''}"
                     f"{' ' + c.url if c.url.startswith(('http://', 'https://')) else ''}")
    return [*lines, ""]
