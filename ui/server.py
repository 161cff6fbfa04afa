"""Starting the UI: environment first (no analytics, uploads inside the data dir), then
the address and authentication checks, then Gradio.

    >>> serve_ui(load_settings())   # doctest: +SKIP
"""

from __future__ import annotations

import ipaddress
import os
from typing import TYPE_CHECKING, Any

from newsrag.errors import ConfigError
from newsrag.settings import Settings, UISettings

if TYPE_CHECKING:
    import gradio as gr

    from rag.services import Services
    from ui.watch_panel import BackgroundWatch


def prepare_gradio(settings: Settings) -> None:
    """Before Gradio is imported: no analytics, its upload cache inside the data dir."""
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
    os.environ["GRADIO_TEMP_DIR"] = str(settings.resolved_data_dir() / "cache" / "gradio")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def auth_users(ui: UISettings) -> list[tuple[str, str]] | None:
    """(user, password) pairs from `ui.users` ("name:password"); refuses an open non-local bind."""
    pairs: list[tuple[str, str]] = []
    for entry in ui.users:
        user, sep, password = entry.partition(":")
        if not (sep and user and password):
            raise ConfigError("ui.users entries must look like \"name:password\"")
        # Gradio strips the name typed at login, and keeps one password per name.
        if user != user.strip():
            raise ConfigError(f"ui.users: the name {user!r} has spaces around it")
        if user in dict(pairs):
            raise ConfigError(f"ui.users: {user!r} is listed twice")
        pairs.append((user, password))
    if not pairs and not is_loopback(ui.host):
        raise ConfigError(
            f"refusing to serve on {ui.host} without authentication: set ui.users (e.g. "
            "NEWSRAG_UI__USERS='[\"alice:long-password\"]') or bind 127.0.0.1")
    return pairs or None


def launch_options(settings: Settings) -> dict[str, Any]:
    """Everything `Blocks.launch` needs, checked."""
    import gradio as gr

    from ui.login import ui_login
    from ui.style import CSS

    ui = settings.ui
    users = auth_users(ui)
    # Plain passwords or scrypt hashes (`newsrag keys hash-password`); failures are slowed.
    auth = ui_login(users, settings.serve.failed_auth_per_minute) if users else None
    return dict(server_name=ui.host, server_port=ui.port, auth=auth, share=False,
                max_file_size=f"{ui.max_upload_mb:g}mb", css=CSS, footer_links=["api"],
                theme=gr.themes.Soft(font=["system-ui", "sans-serif"],
                                     font_mono=["ui-monospace", "monospace"]),
                enable_monitoring=False, ssr_mode=False, mcp_server=False, pwa=False)


def create_app(services: Services) -> gr.Blocks:
    from ui.app import build_app

    demo = build_app(services)
    demo.queue(default_concurrency_limit=services.settings.ui.concurrency)
    return demo


def serve_ui(services: Services, block: bool = True) -> gr.Blocks:
    """Build and launch; `block=False` returns once the server is listening."""
    options = launch_options(services.settings)
    watching = _watching(services) if block else None  # block=False: tests start their own
    demo = create_app(services)
    # quiet: Gradio's banner suggests share links, which newsrag never creates.
    demo.launch(prevent_thread_lock=True, quiet=True, **options)
    print(f"newsrag UI on {demo.local_url} (Ctrl-C stops it)", flush=True)
    if block:
        try:
            demo.block_thread()
        finally:
            if watching is not None:
                watching.close()
    return demo


def _watching(services: Services) -> BackgroundWatch | None:
    """With ui.watch: the feed watcher, started in a thread of this process."""
    if not services.settings.ui.watch:
        return None
    from ui.watch_panel import BackgroundWatch

    return BackgroundWatch(services).start()
