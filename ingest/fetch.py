"""Fetching articles over http(s): timeout, size cap, and no requests to private addresses.

The address rule is checked twice: on the resolved host before connecting, and on the socket's
actual peer after connecting, so a name that resolves differently the second time (DNS rebinding)
still cannot reach a private address. Proxies from the environment are ignored for the same reason:
through a proxy the peer would be the proxy, not the host the URL names.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import time
import urllib.error
import urllib.request
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from newsrag.errors import IngestError
from newsrag.settings import IngestSettings

READ_BLOCK = 64 * 1024
# IPv6 prefixes that carry an IPv4 address inside them (NAT64); Python 3.11 calls them global.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    body: bytes
    # Validators for the next conditional GET; `not_modified` is a 304 answer (empty body).
    etag: str = ""
    last_modified: str = ""
    not_modified: bool = False


def is_public(address: str) -> bool:
    """Whether an IP address is globally routable, looking through IPv4-in-IPv6 forms.

    >>> [is_public(a) for a in ("93.184.216.34", "127.0.0.1", "::ffff:10.0.0.1", "64:ff9b::7f00:1")]
    [True, False, False, False]
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        inner = ip.ipv4_mapped or ip.sixtofour or (ip.teredo[1] if ip.teredo else None)
        if inner is None and ip in NAT64:
            inner = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if inner is not None and not inner.is_global:
            return False
    return ip.is_global and not ip.is_multicast


def resolve(host: str, port: int) -> list[str]:
    """The IP addresses a host name resolves to."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise IngestError(f"cannot resolve {host}: {getattr(exc, 'strerror', exc)}") from None
    return [str(info[4][0]) for info in infos]


def check_url(url: str, allow_private: bool) -> None:
    """Refuse anything but http(s), and (unless allowed) hosts that resolve to private addresses."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(f"refusing URL {url!r}: only http(s) URLs can be ingested")
    if allow_private:
        return
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise IngestError(f"refusing URL {url!r}: bad port") from None
    if not all(is_public(address) for address in resolve(parts.hostname, port)):
        raise _private(url, parts.hostname)


def _private(url: str, host: str) -> IngestError:
    return IngestError(f"refusing URL {url!r}: {host} is a private or local address "
                       "(set ingest.allow_private_urls = true to allow)")


def _check_peer(connection: http.client.HTTPConnection) -> None:
    if connection.sock is None:
        return
    peer = connection.sock.getpeername()[0]
    if not is_public(peer):
        connection.close()
        raise _private(f"{connection.host}:{connection.port}", peer)


class _PublicHTTPConnection(http.client.HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _check_peer(self)


class _PublicHTTPSConnection(http.client.HTTPSConnection):
    def connect(self) -> None:
        # Check the peer on the plain socket, before the TLS handshake sends anything.
        http.client.HTTPConnection.connect(self)
        _check_peer(self)
        assert self.sock is not None
        self.sock = self._context.wrap_socket(  # type: ignore[attr-defined]
            self.sock, server_hostname=self.host)


class _PublicHTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(_PublicHTTPConnection, req)


class _PublicHTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        return self.do_open(_PublicHTTPSConnection, req)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    max_redirections = 5

    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        check_url(newurl, self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _opener(allow_private: bool) -> urllib.request.OpenerDirector:
    handlers: list[Any] = [urllib.request.ProxyHandler({}), _CheckedRedirects(allow_private)]
    if not allow_private:
        handlers += [_PublicHTTPHandler(), _PublicHTTPSHandler()]
    return urllib.request.build_opener(*handlers)


def fetch_url(url: str, settings: IngestSettings, etag: str = "",
              last_modified: str = "") -> Fetched:
    """GET a URL within the configured timeout (for the whole response) and size cap; with
    `etag` or `last_modified` from an earlier response, a conditional GET (a 304 answer is
    `Fetched(..., not_modified=True)`).

    >>> fetch_url("file:///etc/passwd", IngestSettings())
    Traceback (most recent call last):
    newsrag.errors.IngestError: refusing URL 'file:///etc/passwd': only http(s) URLs can be ingested
    """
    check_url(url, settings.allow_private_urls)
    request = urllib.request.Request(url, headers=_headers(settings, etag, last_modified))
    cap = int(settings.url_max_mb * 1024 * 1024)
    deadline = time.monotonic() + settings.url_timeout_s
    try:
        with _opener(settings.allow_private_urls).open(
                request, timeout=settings.url_timeout_s) as response:
            declared = response.headers.get("Content-Length", "")
            if declared.isdigit() and int(declared) > cap:
                raise _too_big(url, settings)
            body = _read_capped(response, cap, deadline, url, settings)
            body = _decoded(body, response.headers.get("Content-Encoding", ""), cap, url,
                            settings)
            final_url = response.geturl()
            headers = response.headers
    except urllib.error.HTTPError as exc:
        if exc.code == 304 and (etag or last_modified):
            return Fetched(url, "", b"", etag, last_modified, not_modified=True)
        if "infinite loop" in str(exc.reason):  # urllib's message spans three lines
            raise IngestError(f"{url}: redirect loop (HTTP {exc.code})") from None
        raise IngestError(f"{url}: HTTP {exc.code} {' '.join(str(exc.reason).split())}") from None
    except (urllib.error.URLError, http.client.HTTPException, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        if isinstance(reason, IngestError):  # the peer check, raised inside urllib's connect
            raise reason from None
        raise IngestError(f"{url}: cannot fetch ({reason or type(exc).__name__})") from None
    content_type = headers.get("Content-Type", "").split(";")[0].strip().lower()
    return Fetched(final_url, content_type, body, headers.get("ETag", ""),
                   headers.get("Last-Modified", ""))


def _headers(settings: IngestSettings, etag: str, last_modified: str) -> dict[str, str]:
    headers = {"User-Agent": settings.user_agent, "Accept-Encoding": "gzip, deflate"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    return headers


def _read_capped(response: Any, cap: int, deadline: float, url: str,
                 settings: IngestSettings) -> bytes:
    # The socket timeout bounds each read; the deadline bounds a server that trickles bytes.
    blocks: list[bytes] = []
    size = 0
    while block := response.read1(READ_BLOCK):
        blocks.append(block)
        size += len(block)
        if size > cap:
            raise _too_big(url, settings)
        if time.monotonic() > deadline:
            raise IngestError(f"{url}: timed out after ingest.url_timeout_s "
                              f"({settings.url_timeout_s:g} s)")
    return b"".join(blocks)


def _decoded(body: bytes, encoding: str, cap: int, url: str, settings: IngestSettings
             ) -> bytes:
    """The body without its gzip or deflate transfer encoding (also when a server sends
    gzip unannounced), inflated to at most the size cap: a small bomb cannot fill memory."""
    encoding = encoding.strip().lower()
    if encoding not in ("gzip", "x-gzip", "deflate") and not body.startswith(b"\x1f\x8b"):
        return body
    # gzip or zlib by the header; then raw deflate, which some servers send as "deflate".
    for bits in (zlib.MAX_WBITS | 32, -zlib.MAX_WBITS)[:2 if encoding == "deflate" else 1]:
        inflater = zlib.decompressobj(bits)
        try:
            inflated = inflater.decompress(body, cap + 1)
        except zlib.error:
            continue
        if len(inflated) > cap or inflater.unconsumed_tail:
            raise _too_big(url, settings)
        return inflated
    raise IngestError(f"{url}: corrupt {encoding or 'gzip'} content")


def _too_big(url: str, settings: IngestSettings) -> IngestError:
    return IngestError(f"{url}: larger than ingest.url_max_mb ({settings.url_max_mb:g} MB)")
