"""API keys: created once, shown once, stored only as scrypt hashes in the data dir.

A key reads `nrk_<id>_<secret>`: the id finds its record without trying every hash, the
secret is checked against the record's scrypt hash. A key verified once is remembered in
memory (as a SHA-256 of the whole key) until the key file changes, so a request costs one
`stat`, not one scrypt; revoking a key in another process takes effect on the next request.

    >>> store = KeyStore(tmp_path / "api_keys.json")                 # doctest: +SKIP
    >>> record, key = store.create("laptop", role="read")           # doctest: +SKIP
    >>> store.verify(key).name                                       # doctest: +SKIP
    'laptop'
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from newsrag.credentials import check_secret, hash_secret
from newsrag.errors import ConfigError, NotFoundError

Role = Literal["read", "admin"]
KEY_PREFIX = "nrk_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")


@dataclass(frozen=True)
class ApiKey:
    """One key's record (never its secret)."""

    id: str
    name: str
    role: Role
    created: str
    hash: str
    rate_per_minute: int | None = None  # None: serve.rate_limit_per_minute
    revoked: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked is None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class KeyStore:
    """The key file (JSON, mode 0600) and the in-memory memory of verified keys."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._seen: tuple[int, int] | None = None
        self._records: dict[str, ApiKey] = {}
        self._verified: dict[str, bytes] = {}  # key id -> sha256 of the whole key

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> KeyStore:
        return cls(data_dir / "api_keys.json")

    def create(self, name: str, role: Role = "read", rate_per_minute: int | None = None
               ) -> tuple[ApiKey, str]:
        """A new key: its record, and the key itself (shown once, never stored)."""
        if not _NAME.match(name):
            raise ConfigError("a key name is 1-64 letters, digits, '.', '_', '@' or '-'")
        if rate_per_minute is not None and rate_per_minute < 0:
            raise ConfigError("a key's rate limit cannot be negative")
        with self._editing() as records:
            if any(r.name == name and r.active for r in records.values()):
                raise ConfigError(f"an active key named {name!r} exists (revoke it first)")
            key_id = secrets.token_hex(4)
            while key_id in records:
                key_id = secrets.token_hex(4)
            secret = secrets.token_urlsafe(32)
            record = ApiKey(key_id, name, role, _now(), hash_secret(secret), rate_per_minute)
            records[key_id] = record
        return record, f"{KEY_PREFIX}{key_id}_{secret}"

    def revoke(self, name_or_id: str) -> ApiKey:
        """Revoke the active key with this name or id."""
        with self._editing() as records:
            found = [r for r in records.values()
                     if r.active and name_or_id in (r.id, r.name)]
            if not found:
                raise NotFoundError(f"no active key named {name_or_id!r} (see `newsrag keys "
                                    "list`)")
            revoked = replace(found[0], revoked=_now())
            records[revoked.id] = revoked
        return revoked

    def list(self) -> list[ApiKey]:
        return sorted(self._load().values(), key=lambda r: r.created)

    def has_active(self) -> bool:
        return any(r.active for r in self._load().values())

    def verify(self, key: str, slow: bool = True) -> ApiKey | None:
        """The active key's record, or None for a malformed, unknown or revoked key; with
        `slow=False`, None also for a key not verified since the file last changed (no
        scrypt is computed)."""
        prefix, _, rest = key.partition(KEY_PREFIX)
        key_id, sep, secret = rest.partition("_")
        if prefix or not sep or not secret or len(key) > 200:
            return None
        record = self._load().get(key_id)
        if record is None or not record.active:
            return None
        fingerprint = hashlib.sha256(key.encode()).digest()
        with self._lock:
            known = self._verified.get(key_id)
        if known is not None:
            return record if hmac.compare_digest(known, fingerprint) else None
        if not slow or not check_secret(secret, record.hash):
            return None
        with self._lock:
            self._verified[key_id] = fingerprint
        return record

    def _load(self) -> dict[str, ApiKey]:
        """The records, re-read when the file changed (a stat per call)."""
        try:
            stat = self.path.stat()
            seen: tuple[int, int] | None = (stat.st_mtime_ns, stat.st_size)
        except FileNotFoundError:
            seen = None
        with self._lock:
            if seen != self._seen or seen is None:
                self._records = self._read() if seen else {}
                self._verified.clear()
                self._seen = seen
            return self._records

    def _read(self) -> dict[str, ApiKey]:
        try:
            rows = json.loads(self.path.read_text(encoding="utf-8"))["keys"]
            return {row["id"]: ApiKey(**row) for row in rows}
        except FileNotFoundError:
            return {}
        except (ValueError, KeyError, TypeError) as exc:
            raise ConfigError(f"{self.path} is not a newsrag key file ({exc})") from None

    @contextmanager
    def _editing(self) -> Iterator[dict[str, ApiKey]]:
        """Read, change and atomically rewrite the file under an exclusive lock."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            records = self._read()
            yield records
            temp = self.path.with_suffix(".tmp")
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"keys": [asdict(r) for r in records.values()]}, out, indent=2)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temp, self.path)
