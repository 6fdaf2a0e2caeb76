"""Counting what a test's requests send to PostgreSQL: each message's first word, at the asyncpg level; or the
statements each request's unit of work ran."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import asyncpg
import pytest


def count_messages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Patch asyncpg's connection so every message it sends is noted (its first word, upper-cased) in the list
    returned; the test clears it between requests. ``execute()`` with arguments goes through ``_execute``, so it
    is noted once."""
    sent: list[str] = []

    def counting(name: str) -> Callable[..., Any]:
        original = getattr(asyncpg.connection.Connection, name)

        def call(self: asyncpg.Connection, query: str, *args: Any, **kwargs: Any) -> Any:
            if name == "_execute" or not args:
                sent.append(query.split(None, 1)[0].upper())
            return original(self, query, *args, **kwargs)
        return call

    for name in ("execute", "_execute", "_executemany"):
        monkeypatch.setattr(asyncpg.connection.Connection, name, counting(name))
    return sent


def count_statements(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Patch the request connection so the number of statements each request ran is noted, when it ends, in the
    list returned."""
    from service.kernel.session import RequestConnection

    counts: list[int] = []
    original = RequestConnection.finish

    async def counting(self: RequestConnection, *, commit: bool) -> None:
        counts.append(self.statements)
        await original(self, commit=commit)

    monkeypatch.setattr(RequestConnection, "finish", counting)
    return counts
