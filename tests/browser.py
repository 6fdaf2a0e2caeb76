"""What the browser tests share: Debian's Chromium through Playwright, the real app under uvicorn on a loopback port,
and a network with nothing but loopback in it (no CDN, no internet).

In CI (CI=true) a missing browser fails a test; elsewhere it skips."""

from __future__ import annotations

import dataclasses
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import pytest
import uvicorn

from service.app.asgi import create_app
from service.kernel.database import Database
from service.kernel.settings import Settings

if TYPE_CHECKING:
    from playwright.async_api import Page, Route

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"


def browser_or_skip() -> None:
    missing = []
    try:
        import playwright  # noqa: F401
    except ImportError:
        missing.append("the Python package `playwright` (pip install -e '.[dev]')")
    if shutil.which(CHROMIUM) is None:
        missing.append(f"Debian's `chromium` at {CHROMIUM} (apt-get install -y chromium)")
    if missing:
        message = "the browser tests need " + " and ".join(missing)
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture
def served(settings: Settings) -> Iterator[str]:
    """The real app under uvicorn in a thread (its own event loop, pool and engine), on a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    own = Database.connect(dataclasses.replace(settings, reporting_refresh_seconds=0))
    server = uvicorn.Server(uvicorn.Config(create_app(own), host="127.0.0.1", port=port, log_level="warning",
                                           lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)


LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


async def only_loopback(page: Page) -> list[str]:
    """Refuse every request the page makes to anything but loopback; the list fills with what was refused."""
    refused: list[str] = []

    async def handle(route: Route) -> None:
        if urlsplit(route.request.url).hostname in LOOPBACK:
            await route.continue_()
        else:
            refused.append(route.request.url)
            await route.abort()

    await page.route("**/*", handle)
    return refused
