"""Built-once services shared by the CLI, the UI and the eval suite.

    >>> from newsrag.settings import load_settings
    >>> services = build_services(load_settings(env={}))   # cheap: models load on first use
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest.index import Index, open_index
from newsrag.offline import prepare_offline
from newsrag.settings import Settings
from rag.generators import check_backend_tables


@dataclass
class Services:
    settings: Settings
    index: Index


def build_services(settings: Settings, index: Index | None = None) -> Services:
    """Check the backends' own option tables, switch every library offline, then open the
    index for these settings."""
    check_backend_tables(settings)
    prepare_offline(settings.resolved_data_dir() / "cache")
    return Services(settings, index or open_index(settings))
