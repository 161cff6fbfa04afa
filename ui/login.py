"""The UI's login (`newsrag ui` and `newsrag serve --ui`): `ui.users` entries may hold scrypt hashes
(`newsrag keys hash-password`), and failed logins are slowed down.

Each failed login waits a second before it is answered, without holding the server; a user
name with more than `per_minute` failures in a minute is refused even the right password
until its bucket refills.

    >>> login = ui_login([("alice", "scrypt$16384$8$1$…"), ("bob", "plain")])   # doctest: +SKIP
    >>> gr.mount_gradio_app(app, demo, "/ui", auth=login)                        # doctest: +SKIP
"""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Awaitable, Callable

from newsrag.credentials import RateLimiter, check_secret

FAILED_LOGIN_DELAY_S = 1.0
HASHED = "scrypt$"


def ui_login(users: list[tuple[str, str]], per_minute: int = 5
             ) -> Callable[[str, str], Awaitable[bool]]:
    """An async Gradio auth function over (name, password or scrypt hash) pairs."""
    table = dict(users)
    failures = RateLimiter()

    async def check(username: str, password: str) -> bool:
        bucket = f"user:{username}"
        if failures.take(bucket, per_minute, spend=False) is not None:
            await asyncio.sleep(FAILED_LOGIN_DELAY_S)
            return False
        stored = table.get(username)
        accepted = False
        if stored is not None and stored.startswith(HASHED):
            accepted = await asyncio.to_thread(check_secret, password, stored)
        elif stored is not None:
            accepted = hmac.compare_digest(password.encode(), stored.encode())
        if not accepted:
            failures.take(bucket, per_minute)
            await asyncio.sleep(FAILED_LOGIN_DELAY_S)
        return accepted

    return check
