"""Rate limits per user and per tenant: token buckets held in this process.

Each bucket holds up to a minute's allowance and refills continuously, so a client may burst up to the per-minute
figure and then proceeds at the steady rate. The buckets live in one process: with N replicas behind a load
balancer the effective limit is up to N times the setting. A deployment that needs an exact global limit puts a
shared store (e.g. Redis with a token-bucket script) or the ingress's limiter in front; see README "Operations".
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Bucket:
    tokens: float
    updated: float


class TokenBuckets:
    """Buckets of ``per_minute`` capacity keyed by name; at most ``max_keys`` remembered (least recent dropped)."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic, max_keys: int = 100_000,
                 ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.clock = clock
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, _Bucket] = OrderedDict()

    def take(self, key: str) -> float:
        """Take one token; returns 0 when granted, else the seconds until one is available (nothing taken)."""
        now = self.clock()
        bucket = self._buckets.pop(key, None) or _Bucket(self.capacity, now)
        bucket.tokens = min(self.capacity, bucket.tokens + (now - bucket.updated) * self.rate)
        bucket.updated = now
        self._buckets[key] = bucket
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def give_back(self, key: str) -> None:
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(self.capacity, bucket.tokens + 1)


@dataclass(frozen=True)
class Refusal:
    limit: str  # "user" or "tenant"
    retry_after: int  # whole seconds, at least 1

    @property
    def message(self) -> str:
        who = "your account" if self.limit == "user" else "your organisation"
        return f"Too many requests from {who}; try again in {self.retry_after} s."


class RateLimiter:
    def __init__(self, per_user: int, per_tenant: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.users = TokenBuckets(per_user, clock=clock) if per_user > 0 else None
        self.tenants = TokenBuckets(per_tenant, clock=clock) if per_tenant > 0 else None

    def check(self, subject: str, tenant: str | None) -> Refusal | None:
        """Count one request by ``subject`` (in ``tenant``, if any); a Refusal if either limit is reached."""
        user_key = f"{tenant or '-'}/{subject}"
        if self.users is not None:
            wait = self.users.take(user_key)
            if wait > 0:
                return Refusal("user", max(1, math.ceil(wait)))
        if self.tenants is not None and tenant is not None:
            wait = self.tenants.take(tenant)
            if wait > 0:
                if self.users is not None:
                    self.users.give_back(user_key)  # refused requests do not use up the user's allowance
                return Refusal("tenant", max(1, math.ceil(wait)))
        return None
