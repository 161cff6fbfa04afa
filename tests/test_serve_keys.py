"""API keys and the request guard without a server: hashing, revocation seen by another
process's store, token buckets (on a controlled clock), roles and the bind rule."""

from __future__ import annotations

from pathlib import Path

import pytest

from newsrag import credentials
from newsrag.credentials import RateLimiter, check_secret, hash_secret
from newsrag.errors import ConfigError, NotFoundError
from newsrag.settings import ServeSettings
from serve.auth import Guard
from serve.errors import ApiError
from serve.keys import KeyStore
from serve.server import check_bind


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr(credentials.time, "monotonic", fake)
    return fake


def test_hashes_are_salted_scrypt_and_check_only_the_secret() -> None:
    first, second = hash_secret("hunter22"), hash_secret("hunter22")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert check_secret("hunter22", first) and check_secret("hunter22", second)
    assert not check_secret("hunter23", first)
    assert not check_secret("hunter22", "plain-text")
    assert not check_secret("hunter22", "scrypt$1$2$3$!!$??")


def test_keys_verify_until_revoked_even_by_another_store(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "api_keys.json")
    record, key = store.create("laptop", "read")
    assert key.startswith(f"nrk_{record.id}_")
    assert store.verify(key) == record
    assert store.verify(key, slow=False) == record  # remembered
    assert store.verify(key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert store.verify("nrk_" + record.id) is None
    assert store.verify("Bearer " + key) is None
    other_process = KeyStore(tmp_path / "api_keys.json")
    other_process.revoke("laptop")
    assert store.verify(key) is None
    assert not store.has_active()
    with pytest.raises(NotFoundError):
        store.revoke("laptop")


def test_a_new_key_is_not_verified_without_scrypt(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "api_keys.json")
    _, key = store.create("ci", "admin", rate_per_minute=10)
    assert store.verify(key, slow=False) is None
    assert store.verify(key) is not None


@pytest.mark.parametrize("name", ["", "has space", "x" * 65, "../etc", "-dash-first"])
def test_key_names_are_plain(tmp_path: Path, name: str) -> None:
    with pytest.raises(ConfigError):
        KeyStore(tmp_path / "api_keys.json").create(name)


def test_a_bucket_allows_bursts_then_refills_at_its_rate(clock: Clock) -> None:
    limiter = RateLimiter()
    assert [limiter.take("k", 3) for _ in range(3)] == [None, None, None]
    wait = limiter.take("k", 3)
    assert wait == pytest.approx(20.0)
    clock.now += 10
    assert limiter.take("k", 3) == pytest.approx(10.0)
    clock.now += 10
    assert limiter.take("k", 3) is None
    assert limiter.take("other", 3) is None
    assert all(limiter.take("free", 0) is None for _ in range(100))


def test_the_guard_applies_keys_roles_and_limits(tmp_path: Path, clock: Clock) -> None:
    store = KeyStore(tmp_path / "api_keys.json")
    guard = Guard(store, ServeSettings(rate_limit_per_minute=2), bound_to_loopback=True)
    assert guard.admit(None, "127.0.0.1", "admin").name == "local"  # no keys yet
    _, reader = store.create("reader", "read")
    with pytest.raises(ApiError) as missing:
        guard.admit(None, "127.0.0.1", "read")
    assert missing.value.status == 401
    assert guard.admit(f"Bearer {reader}", "127.0.0.1", "read").name == "reader"
    with pytest.raises(ApiError) as forbidden:
        guard.admit(f"bearer {reader}", "127.0.0.1", "admin")
    assert forbidden.value.status == 403
    with pytest.raises(ApiError) as limited:
        guard.admit(f"Bearer {reader}", "127.0.0.1", "read")
    assert limited.value.status == 429 and limited.value.headers["Retry-After"] == "30"


def test_open_binds_beyond_loopback_are_refused(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "api_keys.json")
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, store)
    for host in ("0.0.0.0", "::", "192.168.1.10", "example.com"):
        with pytest.raises(ConfigError, match="without authentication"):
            check_bind(host, store)
    store.create("laptop")
    check_bind("0.0.0.0", store)
    assert Guard(store, ServeSettings(), bound_to_loopback=False).keys_required()


def test_full_buckets_are_forgotten_when_there_are_too_many(clock: Clock,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setattr(credentials, "MAX_BUCKETS", 10)
    limiter = RateLimiter()
    for n in range(10):
        limiter.take(f"client-{n}", 5)
    clock.now += 61
    limiter.take("recent", 1)
    limiter.take("new", 5)
    assert set(limiter._buckets) == {"recent", "new"}
    assert limiter.take("recent", 1) is not None  # a bucket in use is kept, still empty
