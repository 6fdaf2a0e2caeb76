"""What a lost or unreachable database looks like to asyncpg, in one place for every layer."""

from __future__ import annotations

import asyncpg

# What a lost or restarting server looks like to asyncpg: refused or reset sockets, a connection closed under a
# statement, the server's own shutdown notices, a server (or our role) with no connection slot free. Requests
# answer 503 on these, and /readyz reports unavailable.
DATABASE_UNAVAILABLE: tuple[type[BaseException], ...] = (
    OSError, TimeoutError, asyncpg.PostgresConnectionError, asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError, asyncpg.CrashShutdownError, asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)
# …and, on a connection already in hand, what asyncpg raises when it breaks under a statement or on release.
CONNECTION_LOST: tuple[type[BaseException], ...] = (*DATABASE_UNAVAILABLE, asyncpg.InterfaceError,
                                                    asyncpg.InternalClientError)
