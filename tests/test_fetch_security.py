"""URL ingestion against hostile servers and addresses: SSRF, slow and endless responses, proxies."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from typing import ClassVar

import pytest

from ingest import fetch
from ingest.fetch import check_url, fetch_url, is_public
from ingest.models import Skip
from ingest.sources import load_articles
from newsrag.errors import IngestError
from newsrag.settings import IngestSettings
from tests.reliability import record

STORY = (b"<html><head><title>Harbour reopens</title></head><body><article><p>The harbour "
         b"reopened on Monday after the storm, officials said. Ferries resumed at noon.</p>"
         b"</article></body></html>")
LOCAL = IngestSettings(allow_private_urls=True, url_timeout_s=1.0, url_max_mb=0.1)

REFUSED_URLS = [
    "file:///etc/passwd", "ftp://example.com/x", "gopher://127.0.0.1:25/", "dict://127.0.0.1/",
    "http://127.0.0.1/", "http://localhost:8000/", "http://[::1]/", "http://2130706433/",
    "http://0x7f.0.0.1/", "http://0/", "http://0.0.0.0/", "http://169.254.169.254/latest/meta-data",
    "http://10.1.2.3/", "http://192.168.0.1/", "http://172.16.0.1/", "http://100.64.0.1/",
    "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "http://[fd00::1]/", "http://[64:ff9b::a00:1]/",
    "http://[2002:7f00:1::]/", "http:///nohost", "javascript:alert(1)",
]


class _Hostile(http.server.BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.hits.append(self.path)
        if self.path == "/story.html":
            self._send(STORY, "text/html")
        elif self.path == "/trickle":  # one byte every 0.2 s, forever
            self._head("text/html", length=None)
            while True:
                self.wfile.write(b"<")
                self.wfile.flush()
                time.sleep(0.2)
        elif self.path == "/silent":
            time.sleep(5)
        elif self.path == "/endless":  # no Content-Length: the cap must stop the read
            self._head("text/plain", length=None)
            while True:
                self.wfile.write(b"news " * 4096)
        elif self.path == "/declared-huge":
            self._head("text/plain", length=10**12)
        elif self.path == "/to-file":
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()

    def _send(self, body: bytes, kind: str) -> None:
        self._head(kind, length=len(body))
        self.wfile.write(body)

    def _head(self, kind: str, length: int | None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        if length is not None:
            self.send_header("Content-Length", str(length))
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the client hangs up on the endless responses on purpose


@pytest.fixture
def server() -> Iterator[str]:
    _Hostile.hits.clear()
    httpd = _Server(("127.0.0.1", 0), _Hostile)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.parametrize("url", REFUSED_URLS)
def test_other_schemes_and_private_addresses_are_refused(url: str) -> None:
    with pytest.raises(IngestError, match=r"refusing URL|cannot resolve"):
        check_url(url, allow_private=False)


def test_public_addresses_pass_the_address_rule() -> None:
    assert all(is_public(a) for a in ("93.184.216.34", "2606:2800:220:1::1", "1.1.1.1"))
    assert not any(is_public(a) for a in ("127.0.0.1", "::1", "10.0.0.1", "169.254.1.1",
                                          "::ffff:192.168.1.1", "224.0.0.1", "ff02::1"))


def test_the_connected_peer_is_checked_too(server: str, monkeypatch: pytest.MonkeyPatch) -> None:
    # DNS rebinding: the name looks public when checked, then connects to loopback.
    monkeypatch.setattr(fetch, "resolve", lambda host, port: ["93.184.216.34"])
    with pytest.raises(IngestError, match="private or local address"):
        fetch_url(f"{server}/story.html", IngestSettings(url_timeout_s=2))
    assert _Hostile.hits == [], "the request reached the private server"


def test_private_urls_are_skipped_with_the_setting_named(server: str) -> None:
    (item,) = load_articles([f"{server}/story.html"], IngestSettings())
    assert isinstance(item, Skip) and "ingest.allow_private_urls" in item.reason
    assert _Hostile.hits == []


def test_allowed_private_fetch_works_and_ignores_proxies(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:9")  # a dead proxy would fail the fetch
    fetched = fetch_url(f"{server}/story.html", LOCAL)
    assert fetched.body == STORY and fetched.content_type == "text/html"


def test_redirect_to_another_scheme_is_refused(server: str) -> None:
    with pytest.raises(IngestError, match=r"only http|Redirection to url .file:.* is not allowed"):
        fetch_url(f"{server}/to-file", LOCAL)


@pytest.mark.parametrize("path", ["/trickle", "/silent"])
def test_slow_servers_hit_the_timeout(server: str, path: str) -> None:
    started = time.monotonic()
    with pytest.raises(IngestError, match="timed out"):
        fetch_url(f"{server}{path}", LOCAL)
    assert time.monotonic() - started < LOCAL.url_timeout_s + 1.5


@pytest.mark.parametrize("path", ["/endless", "/declared-huge"])
def test_size_cap_stops_the_read(server: str, path: str) -> None:
    with pytest.raises(IngestError, match="url_max_mb"):
        fetch_url(f"{server}{path}", LOCAL)


def test_unresolvable_host_is_one_clear_error() -> None:
    with pytest.raises(IngestError, match="cannot resolve"):
        check_url("http://no-such-host.invalid/", allow_private=False)


def test_record_figures() -> None:
    # Every refused URL above has its own test; this only reports the count for docs/benchmarks.md.
    refused = 0
    for url in REFUSED_URLS:
        try:
            check_url(url, allow_private=False)
        except IngestError:
            refused += 1
    assert refused == len(REFUSED_URLS)
    record("url ingestion (SSRF)", urls_tried=len(REFUSED_URLS), refused=refused,
           hostile_servers=5, reached_private=0)

