"""Rate limits per user and per tenant: token buckets shared by every replica, held in PostgreSQL.

Each bucket holds up to a minute's allowance and refills continuously, so a client may burst up to the per-minute
figure and then proceeds at the steady rate. The buckets are rows of ``control.rate_bucket`` (an UNLOGGED table)
and one call of ``control.take_tokens`` (alembic/control/c0008) refills and takes from both of a request's buckets
atomically, on the database's clock, so N replicas together allow exactly the setting, not N times it. The call
rides in the request's grant lookup (service.app.auth.load_principal): no statement or round trip of its own, and,
like that statement, outside the request's transaction, so a bucket's row is locked for one statement only.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

from service.kernel.tenancy import Connection


@dataclass(frozen=True)
class Refusal:
    limit: str  # "user" or "tenant"
    retry_after: int  # whole seconds, at least 1

    @property
    def message(self) -> str:
        who = "your account" if self.limit == "user" else "your organisation"
        return f"Too many requests from {who}; try again in {self.retry_after} s."


class RateLimiter:
    def __init__(self, per_user: int, per_tenant: int) -> None:
        self.per_user = per_user
        self.per_tenant = per_tenant

    @property
    def enabled(self) -> bool:
        return self.per_user > 0 or self.per_tenant > 0

    def arguments(self, subject: str, tenant: str | None, at: dt.datetime | None = None) -> list[object]:
        """The arguments of :data:`TAKE` for one request by ``subject`` (in ``tenant``, if any): each bucket's key
        and capacity, then the clock (None: the database's)."""
        user_key = f"u/{tenant or '-'}/{subject}" if self.per_user > 0 else None
        tenant_key = f"t/{tenant}" if self.per_tenant > 0 and tenant is not None else None
        return [user_key, float(self.per_user), tenant_key, float(self.per_tenant), at]

    async def check(self, conn: Connection, subject: str, tenant: str | None, *, at: dt.datetime | None = None
                    ) -> Refusal | None:
        """Count one request by ``subject`` (in ``tenant``, if any); a Refusal if either limit is reached.
        ``at`` replaces the database's clock (tests). The request path takes it in its grant lookup instead
        (service.app.auth.load_principal), with the same arguments."""
        if not self.enabled:
            return None
        row = await conn.fetchrow(f"SELECT refused, wait FROM {take(1)}", *self.arguments(subject, tenant, at))
        assert row is not None
        return refusal(row["refused"], row["wait"])


TAKE_ARGUMENTS = 5  # how many parameters take() uses: RateLimiter.arguments' length


def take(first: int) -> str:
    """The call that refills and takes from a request's buckets, its arguments (:meth:`RateLimiter.arguments`) at
    ``$first`` to ``$first + 4``; a row (refused, wait)."""
    return (f"control.take_tokens(${first}, ${first + 1}, ${first + 2}, ${first + 3}, "
            f"${first + 4}::timestamptz)")


def refusal(refused: str | None, wait: float | None) -> Refusal | None:
    """What :func:`take` answered, as a refusal (None: the request may go on)."""
    if refused is None:
        return None
    assert wait is not None
    return Refusal(refused, max(1, math.ceil(wait)))
