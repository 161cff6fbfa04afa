"""Bearer API keys, read-only vs admin, and per-key rate limits.

Keys are required when the server binds beyond loopback, when `serve.require_keys` is set,
or as soon as one active key exists. Without keys (loopback only) every caller is the local
admin "local", with no rate limit. Each key has a token bucket of `rate_per_minute`
requests; wrong keys are counted per client address and slowed down.

    >>> guard = Guard(store, settings.serve, bound_to_loopback=True)   # doctest: +SKIP
    >>> guard.admit("Bearer nrk_...", "127.0.0.1", "admin").name       # doctest: +SKIP
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from newsrag.credentials import RateLimiter
from newsrag.settings import ServeSettings
from serve.errors import ApiError
from serve.keys import ApiKey, KeyStore, Role


@dataclass(frozen=True)
class Caller:
    """Who a request comes from: a key's name and role, or the keyless local user."""

    name: str
    role: Role
    key_id: str | None = None
    rate_per_minute: int | None = None  # the key's own limit, if it has one


LOCAL = Caller("local", "admin")
# Buckets untouched for a minute are full again (rates are per minute): past this many
# buckets, those are dropped.


class Guard:
    """Decides who a request is and whether it may go on."""

    def __init__(self, store: KeyStore, settings: ServeSettings, bound_to_loopback: bool
                 ) -> None:
        self.store = store
        self.settings = settings
        self.always = settings.require_keys or not bound_to_loopback
        self.requests = RateLimiter()
        self.failures = RateLimiter()

    def keys_required(self) -> bool:
        return self.always or self.store.has_active()

    def admit(self, authorization: str | None, client: str, need: Role) -> Caller:
        """The caller, or an ApiError (401, 403 or 429)."""
        if self.keys_required():
            caller = self._authenticate(authorization, client)
            rate = (caller.rate_per_minute if caller.rate_per_minute is not None
                    else self.settings.rate_limit_per_minute)
        else:  # loopback with no keys: the local user, like the UI without users
            caller, rate = LOCAL, 0
        wait = self.requests.take(caller.key_id or caller.name, rate)
        if wait is not None:
            raise ApiError(429, f"rate limit of {rate} requests per minute reached for "
                           f"{caller.name!r}; retry in {math.ceil(wait)} s",
                           "rate_limit_exceeded", headers={"Retry-After": str(math.ceil(wait))})
        if need == "admin" and caller.role != "admin":
            raise ApiError(403, f"the key {caller.name!r} is read-only; this needs an admin key",
                           "insufficient_permissions")
        return caller

    def _authenticate(self, authorization: str | None, client: str) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        budget = self.settings.failed_auth_per_minute
        if scheme.lower() != "bearer" or not token.strip():
            self.failures.take(client, budget)
            raise ApiError(401, "an API key is required: send 'Authorization: Bearer <key>' "
                           "(create one with `newsrag keys create NAME`)", "missing_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
        # A key already verified passes at once; an address that keeps sending wrong keys is
        # turned away before any hash is computed (it can neither guess nor burn CPU).
        record: ApiKey | None = self.store.verify(token.strip(), slow=False)
        if record is None:
            wait = self.failures.take(client, budget, spend=False)
            if wait is not None:
                raise ApiError(429, "too many requests with a wrong API key from this address",
                               "too_many_failed_attempts",
                               headers={"Retry-After": str(math.ceil(wait))})
            record = self.store.verify(token.strip())
        if record is None:
            self.failures.take(client, budget)
            raise ApiError(401, "invalid or revoked API key", "invalid_api_key",
                           headers={"WWW-Authenticate": "Bearer"})
        return Caller(record.name, record.role, record.id, record.rate_per_minute)
