"""Who owns a conversation, and what the history sidebar shows after each change.

Owner: the logged-in user when `ui.users` is set, otherwise the browser (a random id in its
localStorage, encrypted with a secret kept in the data dir so it survives server restarts).

    >>> conversations = Conversations(settings)                       # doctest: +SKIP
    >>> owner = conversations.owner(browser_id, request)               # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from newsrag.settings import Settings
from ui.history import Chat, ChatStore, export_json, export_markdown, is_id, new_id
from ui.render import ChatTurn

_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _export_folder(chat_id: str) -> Path:
    """Inside Gradio's upload cache (under the data dir), which it may serve files from."""
    root = Path(os.environ.get("GRADIO_TEMP_DIR") or tempfile.gettempdir())
    return root / "newsrag-exports" / chat_id


class Conversations:
    """The chat store of one data dir, and the sidebar updates the app returns."""

    def __init__(self, settings: Settings) -> None:
        self.data_dir = settings.resolved_data_dir()
        self.store = ChatStore(self.data_dir / "chats")

    def browser_secret(self) -> str:
        """The key that encrypts the browser id in localStorage (made once, kept private)."""
        path = self.data_dir / "ui-browser-secret"
        try:
            return path.read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            pass
        path.parent.mkdir(parents=True, exist_ok=True)
        secret = secrets.token_hex(16)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another server on this data dir made it just now
            return path.read_text(encoding="utf-8").strip()
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(secret)
        return secret

    @staticmethod
    def browser(value: object) -> str:
        """The browser's id as stored, or a new one for a browser seen for the first time."""
        return value if isinstance(value, str) and is_id(value) else new_id()

    @staticmethod
    def owner(browser: str, request: gr.Request | None) -> str:
        user = getattr(request, "username", None) if request is not None else None
        if user:
            return f"user:{user}"
        if not is_id(browser):
            raise gr.Error("this browser has no history id yet: reload the page")
        return f"browser:{browser}"

    def history_update(self, owner: str, selected: str | None = None) -> Any:
        chats = self.store.list(owner)
        return gr.update(choices=[(c.title, c.id) for c in chats],
                         value=selected if selected in {c.id for c in chats} else None)

    def saved(self, owner: str, current: str, turns: Sequence[ChatTurn]) -> tuple[Any, ...]:
        """After an answer: the conversation written, the sidebar and exports updated."""
        if not turns:
            return self.cleared(self.history_update(owner))
        if is_id(current):
            try:
                title = self.store.load(owner, current).title
            except Exception:  # deleted meanwhile: saved again under its first question
                title = Chat.new(turns).title
            chat = Chat(current, title, tuple(turns))
        else:
            chat = Chat.new(turns)
        return self.exported(owner, self.store.save(owner, chat))

    def delete(self, owner: str, chat_id: str) -> None:
        """The conversation and its export files."""
        self.store.delete(owner, chat_id)
        if is_id(chat_id):
            shutil.rmtree(_export_folder(chat_id), ignore_errors=True)

    def exported(self, owner: str, chat: Chat) -> tuple[Any, ...]:
        """(chat id, sidebar, name box, Markdown download, JSON download) for `chat`."""
        folder = _export_folder(chat.id)
        shutil.rmtree(folder, ignore_errors=True)  # a renamed chat's old files go
        folder.mkdir(parents=True, exist_ok=True)
        stem = _FILE_NAME.sub("-", chat.title).strip("-.")[:60] or "conversation"
        markdown, data = folder / f"{stem}.md", folder / f"{stem}.json"
        markdown.write_text(export_markdown(chat), encoding="utf-8")
        data.write_text(export_json(chat), encoding="utf-8")
        return (chat.id, self.history_update(owner, chat.id), chat.title,
                gr.update(value=str(markdown), interactive=True),
                gr.update(value=str(data), interactive=True))

    @staticmethod
    def cleared(history: Any) -> tuple[Any, ...]:
        """A new, empty conversation: nothing to export yet."""
        return ("", history, "", gr.update(value=None, interactive=False),
                gr.update(value=None, interactive=False))
