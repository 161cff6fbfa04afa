import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import pytest

from ingest.fetch import check_url
from ingest.models import Article, Skip
from ingest.sources import load_articles
from newsrag.errors import IngestError
from newsrag.settings import IngestSettings
from tests.conftest import SAMPLE
from tests.test_formats import HTML, RSS

BODY = "A real sentence about the news of the day, long enough to count. " * 3


def _split(items: list[Article | Skip]) -> tuple[list[Article], list[Skip]]:
    return ([i for i in items if isinstance(i, Article)], [i for i in items if isinstance(i, Skip)])


def test_directory_is_read_recursively_by_extension(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "one.txt").write_text("One\n" + BODY)
    (tmp_path / "a" / "b" / "two.md").write_text("# Two\n" + BODY)
    (tmp_path / "a" / "b" / "three.html").write_text(HTML)
    (tmp_path / "a" / "feed.rss").write_text(RSS)
    (tmp_path / "a" / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "a" / ".hidden.txt").write_text("Hidden\n" + BODY)
    articles, skips = _split(list(load_articles([str(tmp_path)], IngestSettings())))
    assert sorted(a.title for a in articles) == ["First story", "One", "Storm hits coast", "Two"]
    assert [s.reason for s in skips] == ["feed entry has no text"]


def test_bad_files_are_skipped_with_reasons(tmp_path: Path) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)) * 50)
    (tmp_path / "short.txt").write_text("Title\nToo short.")
    (tmp_path / "big.txt").write_text("Big\n" + "word " * 300_000)
    (tmp_path / "scripts.html").write_text("<html><script>alert(1)</script></html>")
    (tmp_path / "bad.json").write_text("{not json")
    (tmp_path / "ok.txt").write_text("Fine\n" + BODY)
    settings = IngestSettings(max_file_mb=1.0)
    items = list(load_articles([str(tmp_path), str(tmp_path / "missing.txt")], settings))
    articles, skips = _split(items)
    assert [a.title for a in articles] == ["Fine"]
    reasons = {Path(s.location.split(" [")[0]).name: s.reason for s in skips}
    assert reasons["empty.txt"] == "empty file"
    assert "binary" in reasons["binary.txt"]
    assert "too short" in reasons["short.txt"]
    assert "max_file_mb" in reasons["big.txt"]
    assert "no main text" in reasons["scripts.html"]
    assert "invalid JSON" in reasons["bad.json"]
    assert reasons["missing.txt"] == "no such file or directory"


def test_missing_title_defaults_to_first_line_of_text() -> None:
    settings = IngestSettings()
    import json
    import tempfile

    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.write(json.dumps({"id": "x", "text": BODY}))
    (article,) = load_articles([handle.name], settings)
    assert isinstance(article, Article)
    assert article.title.startswith("A real sentence") and len(article.title) <= 100


class _Handler(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[str, bytes]]] = {"/story.html": ("text/html", HTML.encode()),
             "/feed": ("application/rss+xml", RSS.encode()),
             "/big": ("text/plain", b"x" * 3_000_000)}

    def do_GET(self) -> None:
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/story.html")
            self.end_headers()
            return
        kind, body = self.pages.get(self.path, ("text/plain", b""))
        self.send_response(200 if body else 404)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


class _QuietServer(http.server.ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the size-cap test hangs up mid-response on purpose


@pytest.fixture
def server() -> Iterator[str]:
    httpd = _QuietServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_urls_are_fetched_from_a_local_server(server: str) -> None:
    settings = IngestSettings(allow_private_urls=True, url_max_mb=1.0, url_timeout_s=5)
    urls = [f"{server}/story.html", f"{server}/feed", f"{server}/redirect",
            f"{server}/missing", f"{server}/big"]
    articles, skips = _split(list(load_articles(urls, settings)))
    assert [a.title for a in articles] == ["Storm hits coast", "First story", "Storm hits coast"]
    reasons = [s.reason for s in skips]
    assert any("HTTP 404" in r for r in reasons)
    assert any("url_max_mb" in r for r in reasons)


def test_private_addresses_and_other_schemes_are_refused(server: str) -> None:
    items = list(load_articles([f"{server}/story.html"], IngestSettings()))
    assert isinstance(items[0], Skip) and "private or local address" in items[0].reason
    for url in ("file:///etc/passwd", "ftp://example.com/x", "http://169.254.169.254/latest"):
        with pytest.raises(IngestError, match="refusing"):
            check_url(url, allow_private=False)


def test_sample_corpus_loads() -> None:
    (article,) = load_articles([str(SAMPLE)], IngestSettings())
    assert isinstance(article, Article) and article.source == "TROIB News"
