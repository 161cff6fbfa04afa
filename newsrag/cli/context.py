"""The object every command shares: the --config path, and services built on first use."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from newsrag.settings import Settings, load_settings

if TYPE_CHECKING:
    from rag.services import Services


class CliContext:
    """The root command's object (`ctx.find_root().obj`)."""

    def __init__(self, config: str | None) -> None:
        self.config = config
        self._services: Services | None = None

    @property
    def settings(self) -> Settings:
        return self.services.settings

    @property
    def services(self) -> Services:
        if self._services is None:
            settings = load_settings(self.config)
            from rag.services import build_services  # after settings: it switches offline first

            self._services = build_services(settings)
        return self._services


pass_context = click.make_pass_decorator(CliContext)
