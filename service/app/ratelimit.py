"""Rate limits per user and per tenant: token buckets shared by every replica, held in PostgreSQL.

Each bucket holds up to a minute's allowance and refills continuously, so a client may burst up to the per-minute
figure and then proceeds at the steady rate. The buckets are rows of ``control.rate_bucket`` (an UNLOGGED table)
and one call of ``control.take_tokens`` (alembic/control/c0008) refills and takes from both of a request's buckets
atomically, on the database's clock, so N replicas together allow exactly the setting, not N times it. The call
rides on the connection the request already holds for its grant lookup: one more statement, no extra connection.
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

    async def check(self, conn: Connection, subject: str, tenant: str | None, *, at: dt.datetime | None = None
                    ) -> Refusal | None:
        """Count one request by ``subject`` (in ``tenant``, if any); a Refusal if either limit is reached.
        ``at`` replaces the database's clock (tests)."""
        if not self.enabled:
            return None
        user_key = f"u/{tenant or '-'}/{subject}" if self.per_user > 0 else None
        tenant_key = f"t/{tenant}" if self.per_tenant > 0 and tenant is not None else None
        row = await conn.fetchrow("SELECT refused, wait FROM control.take_tokens($1, $2, $3, $4, $5)",
                                  user_key, float(self.per_user), tenant_key, float(self.per_tenant), at)
        assert row is not None
        if row["refused"] is None:
            return None
        return Refusal(row["refused"], max(1, math.ceil(row["wait"])))
