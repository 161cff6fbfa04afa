"""Secrets at rest and brute force: salted scrypt hashes for API keys and UI passwords, and
token-bucket rate limits (the HTTP API's keys and addresses, the UI's failed logins)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import threading
import time

# scrypt cost: ~16 MiB and a few tens of milliseconds per check on this class of CPU.
_N, _R, _P = 2**14, 8, 1
MAX_BUCKETS = 10_000


def hash_secret(secret: str) -> str:
    """A salted scrypt hash, "scrypt$n$r$p$salt$digest" (also usable for passwords)."""
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return "$".join(["scrypt", str(_N), str(_R), str(_P), _b64(salt), _b64(digest)])


def check_secret(secret: str, hashed: str) -> bool:
    """Whether `secret` matches a `hash_secret` value (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = hashed.split("$")
        if kind != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest + "==")
        got = hashlib.scrypt(secret.encode(), salt=base64.urlsafe_b64decode(salt + "=="),
                             n=int(n), r=int(r), p=int(p), dklen=len(expected))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class RateLimiter:
    """Token buckets: `rate` requests per minute, bursts up to `rate`."""

    def __init__(self) -> None:
        self._buckets: dict[str, tuple[float, float]] = {}  # name -> (tokens, last time)
        self._lock = threading.Lock()

    def take(self, name: str, rate: int, spend: bool = True) -> float | None:
        """None if a request may go now (spending a token unless `spend` is False), else
        the seconds until one may."""
        if rate <= 0:
            return None
        now = time.monotonic()
        with self._lock:
            if len(self._buckets) > MAX_BUCKETS:  # many client addresses: forget full buckets
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 60}
            tokens, last = self._buckets.get(name, (float(rate), now))
            tokens = min(float(rate), tokens + (now - last) * rate / 60.0)
            if tokens >= 1.0:
                self._buckets[name] = (tokens - spend, now)
                return None
            self._buckets[name] = (tokens, now)
            return (1.0 - tokens) * 60.0 / rate
