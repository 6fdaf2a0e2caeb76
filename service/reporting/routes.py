"""HTTP routes beside GraphQL: the CSV export of a national table and the national dashboard page.

The export goes through the request path's one authentication step, as /graphql does and renders the table
that ``nationalMetric`` returns for the same arguments — the same function, so the same disclosure control. The
dashboard is static: it signs in with a token kept in sessionStorage and reads everything through /graphql.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Awaitable, Callable
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from service.api.spreadsheet import safe_cell
from service.api.trusted import published_operations
from service.audit.platform import record_download
from service.kernel.database import Database
from service.kernel.errors import InvalidInput
from service.kernel.work import UnitOfWork
from service.reporting import service
from service.reporting.disclosure import Count, DisclosurePolicy, Figure

STATIC = Path(__file__).resolve().parent / "dashboard" / "static"
# The dashboard loads only its own files: no inline script, nothing from another origin.
DASHBOARD_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
CSV_HEADER = ["metric", "grain", "period_start", "breakdown", "row", "label", "value", "suppressed", "reason",
              "numerator", "numerator_suppressed", "numerator_reason", "denominator", "denominator_suppressed",
              "denominator_reason"]


def _int_param(request: Request, name: str, default: int | None) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput(f"{name} must be a whole number.", field=name) from None


def _count_cells(c: Count | None) -> list[str]:
    if c is None:
        return ["", "", ""]
    return ["" if c.value is None else str(c.value), str(c.suppressed).lower(), c.reason or ""]


def _figure_cells(f: Figure) -> list[str]:
    value = "" if f.value is None else (str(int(f.value)) if float(f.value).is_integer() else str(f.value))
    return [value, str(f.suppressed).lower(), f.reason or "", *_count_cells(f.numerator),
            *_count_cells(f.denominator)]


def render_csv(t: service.Table, total_key: str) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    head = [t.metric.key, t.grain, t.period_start.isoformat(), t.breakdown]
    writer.writerow([*head, total_key, "Total", *_figure_cells(t.total)])
    for row in t.rows:
        writer.writerow([*head, safe_cell(row.key), safe_cell(row.label), *_figure_cells(row.figure)])
    return out.getvalue()


Protect = Callable[[Callable[[Request, UnitOfWork], Awaitable[Response]]], Callable[[Request], Awaitable[Response]]]


def reporting_routes(db: Database, protect: Protect) -> list[BaseRoute]:
    """``protect`` is the request path's one authentication step (service.app.endpoint.Gate.protect): it verifies
    the token, loads the principal, applies the rate limits, runs the handler in a unit of work and answers every
    error in the one format."""
    # The dashboard's queries are published operations, served to it verbatim (read once), so trusted-documents
    # mode accepts them; they are contract, not data, so no token is needed to read them.
    operations = {name: path.read_text() for name, path in published_operations(db.settings.operations_dir).items()
                  if name.startswith("Dashboard")}

    async def dashboard_operations(request: Request) -> Response:
        return JSONResponse(operations)

    async def export_csv(request: Request, work: UnitOfWork) -> Response:
        q = request.query_params
        try:
            period = dt.date.fromisoformat(q.get("periodStart", ""))
        except ValueError:
            raise InvalidInput("periodStart must be a date (YYYY-MM-DD).", field="periodStart") from None
        policy = DisclosurePolicy(_int_param(request, "minCount", 5) or 0,
                                  _int_param(request, "minDenominator", 10) or 0,
                                  _int_param(request, "roundTo", None))
        breakdown = q.get("breakdown", "TENANT")
        if breakdown not in ("TENANT", "TENANT_KIND", "SITE"):
            raise InvalidInput("breakdown must be TENANT, TENANT_KIND or SITE.", field="breakdown")
        service.require_national(work.principal)
        table = await service.national_table(work.national(), work.settings.national_role, work.principal,
                                             q.get("metric", ""), q.get("grain", "MONTH"), period, breakdown,
                                             q.get("tenant"), policy)
        # Recorded in the platform trail, committing with the request before the file leaves.
        await record_download(work, request.url.path, (q["tenant"],) if q.get("tenant") else ())
        total_key = q.get("tenant", "national") if breakdown == "SITE" else "national"
        filename = f"{table.metric.key}-{table.grain.lower()}-{table.period_start.isoformat()}.csv"
        return Response(render_csv(table, total_key), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{filename}"',
                                 "Cache-Control": "no-store"})

    async def dashboard(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", media_type="text/html", headers=DASHBOARD_HEADERS)

    return [
        Route("/reporting/export.csv", protect(export_csv), methods=["GET"]),
        Route("/dashboard", dashboard, methods=["GET"]),
        Route("/dashboard/operations.json", dashboard_operations),
        Mount("/dashboard/static", app=StaticFiles(directory=STATIC), name="dashboard-static"),
    ]
