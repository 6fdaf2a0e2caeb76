"""One line a person can act on when the database cannot be used at all: which server (never its password) and
what to check. The CLI prints it and exits with status 2 instead of a traceback."""

from __future__ import annotations

import errno
import socket

import asyncpg
from sqlalchemy import exc as sa_exc
from sqlalchemy import make_url

from service.kernel.embedded import EmbeddedPostgresError


def _server(url: str) -> str:
    try:
        return make_url(url).set(drivername="postgresql").render_as_string(hide_password=True)
    except sa_exc.ArgumentError:
        return "(an unreadable URL)"


def _root_cause(exc: BaseException) -> BaseException:
    """The driver's own error under SQLAlchemy's wrappers."""
    seen = exc
    while True:
        inner = getattr(seen, "orig", None) or seen.__cause__
        if inner is None or inner is seen:
            return seen
        seen = inner


def explain(exc: BaseException, admin_url: str | None, app_url: str | None = None) -> str | None:
    """The line for an unusable database, or None when ``exc`` is something else (a bug keeps its traceback).

    ``admin_url`` is DATABASE_URL's server (None before the embedded one started), ``app_url`` the application
    role's; the error itself says which user failed where the server tells us."""
    if isinstance(exc, EmbeddedPostgresError):
        return f"error: {exc}"
    cause = _root_cause(exc)
    where = _server(admin_url) if admin_url else "the embedded PostgreSQL"
    if app_url and app_url != admin_url:
        where += f" (application role: {_server(app_url)})"
    if isinstance(cause, asyncpg.InvalidPasswordError):
        return (f"error: the database at {where} refused the password: check the password in DATABASE_URL "
                "(and APP_DATABASE_URL, for the application role)")
    if isinstance(cause, asyncpg.InvalidCatalogNameError):
        return (f"error: the database named in {where} does not exist: create it (createdb) or correct the "
                "database name in DATABASE_URL")
    if isinstance(cause, asyncpg.InvalidAuthorizationSpecificationError):
        return (f"error: the database at {where} refused the user: check the user name in DATABASE_URL (and "
                "APP_DATABASE_URL) and that the server's pg_hba.conf lets it connect")
    if isinstance(cause, socket.gaierror):
        return f"error: the database host in {where} is not known: check the host name in DATABASE_URL"
    if isinstance(cause, ConnectionRefusedError | FileNotFoundError) or (
            isinstance(cause, OSError) and cause.errno in (errno.ECONNREFUSED, errno.EHOSTUNREACH, errno.ENETUNREACH)):
        return (f"error: nothing answers at {where}: check that PostgreSQL is running there and the host and port "
                "in DATABASE_URL")
    if isinstance(cause, TimeoutError):
        return (f"error: the database at {where} did not answer in time: check the host, the port and any "
                "firewall between here and there")
    if isinstance(cause, asyncpg.CannotConnectNowError | asyncpg.TooManyConnectionsError):
        return f"error: the database at {where} does not accept connections now ({type(cause).__name__}): try again"
    if isinstance(cause, ValueError | sa_exc.ArgumentError) and "dsn" in str(cause).lower():
        return (f"error: the database URL {where} cannot be read: use postgresql://user:password@host:5432/database")
    return None
