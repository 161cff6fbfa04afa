"""Starting the API: the bind check (no open API beyond loopback), then uvicorn.

    >>> serve(services, host="127.0.0.1", port=8800)                 # doctest: +SKIP
    >>> with running(app, "127.0.0.1", port) as url: ...             # doctest: +SKIP
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from newsrag.errors import ConfigError
from serve.keys import KeyStore
from ui.server import is_loopback

if TYPE_CHECKING:
    from fastapi import FastAPI

    from rag.services import Services

UI_PATH = "/ui"


def check_bind(host: str, keys: KeyStore) -> None:
    """Refuse to serve beyond loopback without an active API key (the UI's rule)."""
    if not is_loopback(host) and not keys.has_active():
        raise ConfigError(
            f"refusing to serve the API on {host} without authentication: create a key with "
            "`newsrag keys create NAME` (clients send it as 'Authorization: Bearer <key>') or "
            "bind 127.0.0.1")


def build(services: Services, host: str, with_ui: bool = False) -> FastAPI:
    """The checked app, with the Gradio UI mounted under /ui if asked."""
    from serve.app import create_app

    keys = KeyStore.in_data_dir(services.settings.resolved_data_dir())
    check_bind(host, keys)
    app = create_app(services, keys, host)
    if with_ui:
        mount_ui(app, services, host)
    return app


def mount_ui(app: FastAPI, services: Services, host: str) -> None:
    """The chat UI on the same server under /ui, with its own login (`ui.users`, whose
    passwords may be scrypt hashes; failed logins are slowed down)."""
    settings = services.settings
    from ui.server import auth_users, prepare_gradio

    # ui.users is required beyond loopback, as for `newsrag ui`.
    users = auth_users(settings.ui.model_copy(update={"host": host}))
    prepare_gradio(settings)
    import gradio as gr

    from ui.login import ui_login
    from ui.server import create_app as create_ui
    from ui.style import CSS

    login = ui_login(users, settings.serve.failed_auth_per_minute) if users else None
    gr.mount_gradio_app(app, create_ui(services), path=UI_PATH, auth=login,
                        max_file_size=f"{settings.ui.max_upload_mb:g}mb", css=CSS,
                        footer_links=["api"], ssr_mode=False, mcp_server=False, pwa=False,
                        enable_monitoring=False)


def uvicorn_server(app: Any, host: str, port: int, log_level: str = "info") -> Any:
    import uvicorn

    # No Server header; the access log shows method, path and status (never headers, so
    # never a key).
    config = uvicorn.Config(app, host=host, port=port, log_level=log_level,
                            server_header=False, date_header=False, timeout_keep_alive=30)
    return uvicorn.Server(config)


def serve(services: Services, host: str, port: int, with_ui: bool = False) -> None:
    """Build and run until Ctrl-C."""
    app = build(services, host, with_ui)
    server = uvicorn_server(app, host, port)
    shown = f"[{host}]" if ":" in host else host
    print(f"newsrag API on http://{shown}:{port}/v1 (schema at /openapi.json"
          f"{', UI at ' + UI_PATH if with_ui else ''}; Ctrl-C stops it)", flush=True)
    server.run()


@contextmanager
def running(app: Any, host: str, port: int, log_level: str = "warning") -> Iterator[str]:
    """The app served by uvicorn in a thread of this process; yields its base URL."""
    server = uvicorn_server(app, host, port, log_level)
    thread = threading.Thread(target=server.run, daemon=True, name="newsrag-api")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the API server did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
