"""The real API (`newsrag serve`'s app under uvicorn) on 127.0.0.1, on a small real store.

The store holds the bundled sample article, a few made-up articles (facts found nowhere
else, so an answer that quotes them is unmistakable) and, if asked, more records; the real
packaged embedder (onnx) and the extractive reader answer.

    >>> with api_server(tmp_path) as api:                        # doctest: +SKIP
    ...     OpenAI(base_url=api.url + "/v1", api_key=api.read_key)
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from newsrag.settings import load_settings
from tests.conftest import REPO, SAMPLE
from tests.uiserver import free_port

if TYPE_CHECKING:
    from rag.services import Services
    from serve.keys import KeyStore

# Made-up news: each fact appears in one article only.
ARTICLES = [
    {"doc_id": "harbour-bridge", "title": "Korvinth opens its harbour bridge",
     "publish_date": "2025-03-02", "source": "Korvinth Gazette",
     "url": "https://gazette.example/korvinth-bridge",
     "text": "The city of Korvinth opened its new harbour bridge on 1 March 2025. The bridge "
             "is 1,240 metres long and cost 310 million euros. Mayor Ilsabet Varrow cut the "
             "ribbon in front of a crowd of fishermen.\n\nTraffic on the old ferry route fell "
             "by half within a day, the harbour authority said."},
    {"doc_id": "glacier-museum", "title": "A museum of ice in Tessarine",
     "publish_date": "2025-04-11", "source": "Alpine Wire",
     "url": "https://alpine.example/ice-museum",
     "text": "Tessarine unveiled a museum carved inside the Brennholt glacier on 10 April "
             "2025. Its curator, Dr Oswin Maelgard, said the galleries stay at minus four "
             "degrees all year.\n\nThe museum expects 80,000 visitors in its first season."},
    {"doc_id": "orchard-robots", "title": "Robots pick apples in Dunmorrow",
     "publish_date": "2025-05-20", "source": "Farm Ledger",
     "url": "https://ledger.example/orchard-robots",
     "text": "Apple growers in Dunmorrow started using picking robots built by the firm "
             "Quillfeather on 19 May 2025. Each robot picks about 2,000 apples an hour, the "
             "firm said.\n\nSeasonal workers' unions asked for a meeting with the growers."},
]


@dataclass
class Api:
    url: str
    services: Services
    keys: KeyStore
    read_key: str
    admin_key: str

    @property
    def base_url(self) -> str:
        return self.url + "/v1"


def api_settings(tmp: Path, env: Mapping[str, str] | None = None) -> Any:
    values = {"NEWSRAG_DATA_DIR": str(tmp / "data")}
    values.update(env or {})
    return load_settings(REPO / "config.toml", env=values)


@contextmanager
def api_server(tmp: Path, env: Mapping[str, str] | None = None,
               records: Sequence[dict[str, Any]] = (), log_level: str = "warning"
               ) -> Iterator[Api]:
    """Ingest, create a read-only and an admin key, serve; stop the server after."""
    from ingest.pipeline import ingest
    from rag.services import build_services
    from serve.app import create_app
    from serve.keys import KeyStore
    from serve.server import running

    settings = api_settings(tmp, env)
    services = build_services(settings)
    feed = tmp / "articles.jsonl"
    feed.write_text("\n".join(json.dumps(r) for r in [*ARTICLES, *records]), encoding="utf-8")
    report = ingest([str(SAMPLE), str(feed)], settings, services.index)
    assert len(report.added) == 1 + len(ARTICLES) + len(records), report.skipped
    keys = KeyStore.in_data_dir(settings.resolved_data_dir())
    _, read_key = keys.create("reader", "read")
    _, admin_key = keys.create("admin", "admin", rate_per_minute=0)
    app = create_app(services, keys, "127.0.0.1")
    with running(app, "127.0.0.1", free_port(), log_level) as url:
        yield Api(url, services, keys, read_key, admin_key)


def article_text(api: Api, article_id: str) -> str:
    record = api.services.index.catalog.get(article_id)
    assert record is not None, article_id
    return record.article.text
