"""Fetching articles over http(s): timeout, size cap, and no requests to private addresses."""

from __future__ import annotations

import ipaddress
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from newsrag.errors import IngestError
from newsrag.settings import IngestSettings


@dataclass(frozen=True)
class Fetched:
    url: str
    content_type: str
    body: bytes


def check_url(url: str, allow_private: bool) -> None:
    """Refuse anything but http(s), and (unless allowed) hosts that resolve to private addresses."""
    parts = urlparse(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise IngestError(f"refusing URL {url!r}: only http(s) URLs can be ingested")
    if allow_private:
        return
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 80, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        raise IngestError(f"cannot resolve {parts.hostname}: {exc.strerror}") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise IngestError(
                f"refusing URL {url!r}: {parts.hostname} is a private or local address "
                "(set ingest.allow_private_urls = true to allow)"
            )


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    def __init__(self, allow_private: bool) -> None:
        self.allow_private = allow_private

    def redirect_request(
        self, req: Any, fp: Any, code: int, msg: str, headers: Any, newurl: str
    ) -> Any:
        check_url(newurl, self.allow_private)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def fetch_url(url: str, settings: IngestSettings) -> Fetched:
    """GET a URL within the configured timeout and size cap.

    >>> fetch_url("file:///etc/passwd", IngestSettings())
    Traceback (most recent call last):
    newsrag.errors.IngestError: refusing URL 'file:///etc/passwd': only http(s) URLs can be ingested
    """
    check_url(url, settings.allow_private_urls)
    opener = urllib.request.build_opener(_CheckedRedirects(settings.allow_private_urls))
    request = urllib.request.Request(url, headers={"User-Agent": settings.user_agent})
    cap = int(settings.url_max_mb * 1024 * 1024)
    try:
        with opener.open(request, timeout=settings.url_timeout_s) as response:
            body = response.read(cap + 1)
            final_url = response.geturl()
            content_type = response.headers.get("Content-Type", "")
    except urllib.error.HTTPError as exc:
        raise IngestError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise IngestError(f"{url}: cannot fetch ({reason})") from None
    if len(body) > cap:
        raise IngestError(f"{url}: larger than ingest.url_max_mb ({settings.url_max_mb} MB)")
    return Fetched(final_url, content_type.split(";")[0].strip().lower(), body)
