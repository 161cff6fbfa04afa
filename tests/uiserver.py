"""Run the real Gradio UI in the test process, and a headless Chromium that never goes online.

    >>> with ui_server(tmp_path) as (url, services):     # doctest: +SKIP
    ...     with chromium(tmp_path / "profile") as context:
    ...         context.new_page().goto(url, wait_until="load")
"""

from __future__ import annotations

import socket
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsrag.settings import Settings, load_settings
from tests.conftest import REPO

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, ViewportSize

    from rag.services import Services

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
VIEWPORT: ViewportSize = {"width": 1400, "height": 1000}


def free_port() -> int:
    """A TCP port nobody listens on right now (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ui_settings(tmp: Path, env: Mapping[str, str] | None = None) -> Settings:
    """The repo's config.toml on `tmp`/data, on a free loopback port, with the real embedder."""
    values = {"NEWSRAG_DATA_DIR": str(tmp / "data"), "NEWSRAG_UI__HOST": "127.0.0.1",
              "NEWSRAG_UI__PORT": str(free_port())}
    values.update(env or {})
    return load_settings(REPO / "config.toml", env=values)


@contextmanager
def ui_server(tmp: Path, env: Mapping[str, str] | None = None) -> Iterator[tuple[str, Services]]:
    """The UI listening on 127.0.0.1; yields (its url, its services) and closes it after."""
    settings = ui_settings(tmp, env)

    from ui.server import prepare_gradio

    prepare_gradio(settings)  # before gradio is imported

    from rag.services import build_services
    from ui.server import serve_ui

    services = build_services(settings)
    demo = serve_ui(services, block=False)
    try:
        yield f"http://127.0.0.1:{settings.ui.port}/", services
    finally:
        demo.close()


@contextmanager
def chromium(profile: Path, **options: Any) -> Iterator[BrowserContext]:
    """Debian's headless Chromium on a fresh empty profile (no downloads, no background calls)."""
    from playwright.sync_api import sync_playwright

    profile.mkdir(parents=True, exist_ok=True)
    assert not any(profile.iterdir()), f"{profile} is not an empty profile directory"
    with sync_playwright() as p:
        context = p.chromium.launch_persistent_context(
            user_data_dir=str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS,
            headless=True, viewport=VIEWPORT, **options)
        try:
            yield context
        finally:
            context.close()
