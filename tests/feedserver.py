"""A real HTTP server on 127.0.0.1 serving feeds and pages that a test (or bench) changes
while a watcher polls them: ETag/Last-Modified with 304 answers, errors, redirects,
trickling bodies."""

from __future__ import annotations

import email.utils
import hashlib
import http.server
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html import escape


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml"
    location: str = ""  # for a redirect
    trickle_s: float = 0.0  # seconds between 16-byte pieces
    validators: bool = True  # send ETag and Last-Modified, answer 304 when they match
    modified: float = field(default_factory=time.time)

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha1(self.body).hexdigest()[:16] + '"'


@dataclass
class Hit:
    path: str
    user_agent: str
    conditional: bool
    status: int
    at: float


class FeedServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.hits: list[Hit] = []

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def put(self, path: str, body: bytes | str, **options: object) -> str:
        raw = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(raw, **options)  # type: ignore[arg-type]
        return self.base + path

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # clients hang up on trickling bodies on purpose


class _Handler(http.server.BaseHTTPRequestHandler):
    server: FeedServer

    def do_GET(self) -> None:
        self._answer(self.server.routes.get(self.path))

    def send_response(self, code: int, message: str | None = None) -> None:
        # Logged before the answer leaves: a client that got it finds its hit listed.
        conditional = bool(self.headers.get("If-None-Match")
                           or self.headers.get("If-Modified-Since"))
        self.server.hits.append(Hit(self.path, self.headers.get("User-Agent", ""),
                                    conditional, code, time.time()))
        super().send_response(code, message)

    def _answer(self, route: Route | None) -> int:
        if route is None:
            self.send_error(404)
            return 404
        if route.location:
            self.send_response(route.status)
            self.send_header("Location", route.location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return route.status
        if route.validators and route.status == 200 and self._unchanged(route):
            self.send_response(304)
            self.end_headers()
            return 304
        self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        if route.validators:
            self.send_header("ETag", route.etag)
            self.send_header("Last-Modified", email.utils.formatdate(route.modified,
                                                                     usegmt=True))
        if not route.trickle_s:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        self._write(route)
        return route.status

    def _unchanged(self, route: Route) -> bool:
        if etag := self.headers.get("If-None-Match"):
            return bool(etag == route.etag)
        since = self.headers.get("If-Modified-Since")
        if not since:
            return False
        try:
            return email.utils.parsedate_to_datetime(since).timestamp() >= int(route.modified)
        except (TypeError, ValueError):
            return False

    def _write(self, route: Route) -> None:
        if not route.trickle_s:
            self.wfile.write(route.body)
            return
        for start in range(0, len(route.body), 16):
            self.wfile.write(route.body[start:start + 16])
            self.wfile.flush()
            time.sleep(route.trickle_s)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def rss(items: list[dict[str, str]], title: str = "Test Wire") -> str:
    """An RSS 2.0 feed; each item has guid, title, text and optionally link, date."""
    parts = [f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel>"
             f"<title>{escape(title)}</title><link>http://example.org/</link>"]
    for item in items:
        link = f"<link>{escape(item['link'])}</link>" if item.get("link") else ""
        date = f"<pubDate>{item['date']}</pubDate>" if item.get("date") else ""
        parts.append(f"<item><guid isPermaLink='false'>{escape(item['guid'])}</guid>"
                     f"<title>{escape(item['title'])}</title>{link}{date}"
                     f"<description>{escape(item['text'])}</description></item>")
    return "".join(parts) + "</channel></rss>"


def page(title: str, paragraphs: list[str]) -> str:
    """An article page trafilatura can extract."""
    body = "".join(f"<p>{escape(p)}</p>" for p in paragraphs)
    return (f"<!doctype html><html><head><title>{escape(title)}</title></head><body>"
            f"<nav><a href='/'>Home</a></nav><article><h1>{escape(title)}</h1>{body}"
            f"</article><footer>Copyright</footer></body></html>")
