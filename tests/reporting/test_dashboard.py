"""The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven by Playwright, against the
service running under uvicorn on a loopback port and seeded rollups. It must show the API's figures and show
suppressed cells as suppressed. A screenshot is saved to tests/artifacts/dashboard.png.

Nothing but loopback is reachable: the page must need nothing from the internet (tests/browser.py)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from service.app.auth import DevIssuer
from service.demo import DEMO_TENANTS, seed_demo
from service.kernel import clock
from service.kernel.database import Database
from service.kernel.principal import Role
from service.platform.grants import grant
from service.reporting.service import refresh_tenant
from tests.browser import ARTIFACTS, CHROMIUM, browser_or_skip, only_loopback
from tests.conftest import CallerFactory, TenantFactory
from tests.reporting.seed import D, Seeder, delete_rollups

MARCH = "2018-03-01"


async def test_dashboard_shows_the_api_figures_and_suppressed_cells(
        db: Database, make_tenant: TenantFactory, admin_conn: asyncpg.Connection, login: CallerFactory,
        issuer: DevIssuer, served: str) -> None:
    browser_or_skip()
    from playwright.async_api import async_playwright

    await delete_rollups(admin_conn, "period_start BETWEEN '2018-01-01' AND '2018-12-31'")
    a = await make_tenant("dash-a")
    b = await make_tenant("dash-b", kind="COHORT", sites=(("DWI", "HMP Drake Hall", "PRISON"),))
    c = await make_tenant("dash-c")
    day = D(2018, 3, 12)
    for tenant, site, n, consents in ((a, "BSI", 12, 6), (a, "BRM-LC", 2, 0), (b, "DWI", 3, 1), (c, "BSI", 20, 12)):
        seeder = Seeder(admin_conn, tenant.schema)
        for i in range(n):
            await seeder.young_adult(site, identified=day, referred=day, consented=day if i < consents else None)
        assert db.pool is not None
        await refresh_tenant(db.pool, tenant, D(2018, 12, 31))

    analyst = await login(Role.NATIONAL_ANALYST, subject="dashboard-analyst")
    api = (await analyst.data("""query { nationalMetric(metric: "referrals", grain: MONTH, periodStart: "2018-03-01")
        { total { value suppressed reason } rows { key value { value suppressed reason } } } }"""))["nationalMetric"]
    by_slug = {r["key"]: r["value"] for r in api["rows"]}
    assert api["total"]["value"] == 37
    assert by_slug[b.slug]["suppressed"]
    assert by_slug[c.slug]["value"] == 20
    await grant(db.engine, subject="dashboard-analyst", role=Role.NATIONAL_ANALYST)
    token = issuer.issue("dashboard-analyst", None)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 1600})
            refused = await only_loopback(page)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{served}/dashboard")
            await page.fill("#token", token)
            await page.click("#sign-in-form button[type=submit]")
            try:
                await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            except Exception:
                pytest.fail(f"the dashboard did not load: {await page.locator('#status').inner_text()!r} {errors}")
            await page.select_option("#metric", "referrals")
            await page.select_option("#period", MARCH)
            # (no wait_for_function: the page's CSP forbids eval, which it uses)
            await page.locator("#status", has_text=f"starting {MARCH}").wait_for(timeout=20_000)
            await page.wait_for_selector(f"[data-testid=tenant-row-{c.slug}]")

            headline = page.locator("[data-testid=headline-referrals] .value")
            assert await headline.get_attribute("data-value") == "37"
            assert await headline.inner_text() == "37"

            async def shown(slug: str) -> dict[str, Any]:
                cell = page.locator(f"[data-testid=tenant-row-{slug}] td.figure")
                value = await cell.get_attribute("data-value")
                return {"value": float(value) if value else None, "text": await cell.inner_text(),
                        "suppressed": await cell.get_attribute("data-suppressed") == "true",
                        "reason": await cell.get_attribute("data-reason") or None}

            for slug in (a.slug, b.slug, c.slug):
                figure = await shown(slug)
                expected = by_slug[slug]
                assert (figure["value"], figure["suppressed"], figure["reason"]) == (
                    expected["value"], expected["suppressed"], expected["reason"])
                if expected["suppressed"]:
                    assert figure["text"].startswith("Suppressed")
                    assert not any(ch.isdigit() for ch in figure["text"])
            assert (await shown(c.slug))["text"] == "20"
            take_up = page.locator("[data-testid=headline-take_up] .value")
            assert await take_up.get_attribute("data-suppressed") in ("true", "false")
            assert await page.locator("#series-chart svg path").count() == 3  # national, regions, cohorts
            assert await page.locator("#tenant-chart svg").is_visible()
            for slug in (a.slug, b.slug, c.slug):  # each tenant's bar: its value, or drawn as suppressed
                bar = page.locator(f"#tenant-chart rect[data-key='{slug}']")
                if by_slug[slug]["suppressed"]:
                    assert await bar.get_attribute("data-suppressed") == "true"
                    assert await bar.get_attribute("data-value") is None
                else:
                    assert float(await bar.get_attribute("data-value") or "nan") == by_slug[slug]["value"]
            assert errors == []
            assert refused == []
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)
        finally:
            await browser.close()


async def test_a_fresh_demo_shows_real_unsuppressed_figures(
        db: Database, admin_conn: asyncpg.Connection, login: CallerFactory, issuer: DevIssuer, served: str) -> None:
    """What a fresh `serve` shows: the demo tenants seeded (and refreshed) through the service functions give the
    dashboard's default view (the latest month) real national figures above the disclosure limits."""
    browser_or_skip()
    from playwright.async_api import async_playwright

    await seed_demo(db)  # as `serve` does; a no-op when an earlier test has seeded the demo already
    demo = [r["id"] for r in await admin_conn.fetch("SELECT id FROM control.tenant WHERE slug = ANY($1::text[])",
                                                    list(DEMO_TENANTS))]
    # Other tests' tenants with figures this year would only add small cells beside the demo's: leave them out.
    await delete_rollups(admin_conn, "period_start >= date_trunc('year', current_date) AND NOT tenant_id = "
                         "ANY($1::uuid[])", demo)
    analyst = await login(Role.NATIONAL_ANALYST, subject="demo-dashboard-analyst")
    latest = (await analyst.data("{ reportingPeriods(grain: MONTH) }"))["reportingPeriods"][-1]
    assert latest == clock.today(db.settings.time_zone).replace(day=1).isoformat()
    expected = {}
    for metric in ("referrals", "take_up", "joint_meeting_before_release", "settled_on_release"):
        total = (await analyst.data(
            "query($m: String!, $p: Date!) { nationalMetric(metric: $m, grain: MONTH, periodStart: $p) "
            "{ total { value suppressed } } }", {"m": metric, "p": latest}))["nationalMetric"]["total"]
        assert total["suppressed"] is False, metric
        assert total["value"] is not None, metric
        assert total["value"] > 0, metric
        expected[metric] = total["value"]
    token = issuer.issue("demo-dashboard-analyst", None)

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 1600})
            refused = await only_loopback(page)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            await page.goto(f"{served}/dashboard")
            await page.fill("#token", token)
            await page.click("#sign-in-form button[type=submit]")
            try:
                await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            except Exception:
                pytest.fail(f"the dashboard did not load: {await page.locator('#status').inner_text()!r} {errors}")
            assert await page.locator("#period").input_value() == latest  # the default view: the latest month
            for metric, value in expected.items():
                shown = page.locator(f"[data-testid=headline-{metric}] .value")
                assert await shown.get_attribute("data-suppressed") == "false", metric
                assert float(await shown.get_attribute("data-value") or "nan") == value, metric
                assert not (await shown.inner_text()).startswith("Suppressed"), metric
            for slug in DEMO_TENANTS:
                await page.wait_for_selector(f"[data-testid=tenant-row-{slug}]")
            assert errors == []
            assert refused == []
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "dashboard-demo.png"), full_page=True)
        finally:
            await browser.close()
