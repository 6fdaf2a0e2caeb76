"""Routes of the console (development only): the page, its static files and the published operations it offers.

Everything it loads comes from this package; no script is inline and nothing comes from another origin, so it
works on a machine with no internet and under the strict CSP below."""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from service.api.trusted import published_operations

STATIC = Path(__file__).resolve().parent / "static"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


def console_routes(operations_dir: Path) -> list[BaseRoute]:
    # The published operations, read once, by name with their audience (the folder): contract, not data, so they
    # need no token.
    operations = {name: {"audience": path.parent.name if path.parent != operations_dir else "",
                         "document": path.read_text(encoding="utf-8")}
                  for name, path in published_operations(operations_dir).items()}

    async def page(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=PAGE_HEADERS)

    async def published(request: Request) -> Response:
        return JSONResponse(operations)

    return [
        Route("/console", page, methods=["GET"]),
        Route("/console/operations.json", published, methods=["GET"]),
        Mount("/console/static", app=StaticFiles(directory=STATIC), name="console-static"),
    ]
