"""The console in a real browser with no internet: headless Chromium (Debian's `chromium`) driven by Playwright,
every request to anything but loopback refused. It must load from the service alone, offer the published
operations, and run one with a token, showing what the API answers. A screenshot goes to tests/artifacts/."""

from __future__ import annotations

import json
from urllib.parse import urlsplit

from service.api.trusted import published_operations
from service.kernel.principal import Role
from service.kernel.settings import PUBLISHED_OPERATIONS
from tests.browser import ARTIFACTS, CHROMIUM, browser_or_skip, only_loopback
from tests.conftest import CallerFactory, TenantFactory


async def test_the_console_loads_offline_and_runs_a_published_operation_with_a_token(
        make_tenant: TenantFactory, login: CallerFactory, served: str) -> None:
    browser_or_skip()
    from playwright.async_api import async_playwright

    tenant = await make_tenant("console")
    admin = await login(Role.TENANT_ADMIN, tenant)
    sites_text = published_operations(PUBLISHED_OPERATIONS)["Sites"].read_text(encoding="utf-8")
    expected = await admin.data(sites_text)
    assert {s["code"] for s in expected["sites"]} == {"BSI", "BRM-LC"}

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=[
            "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--no-first-run"])
        try:
            page = await browser.new_page(viewport={"width": 1200, "height": 1200})
            refused = await only_loopback(page)
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
            await page.goto(f"{served}/graphql")  # a browser asking for the API lands on the console
            assert urlsplit(page.url).path == "/console"
            await page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            offered = await page.locator("#operation option").all_inner_texts()
            assert "Sites" in offered
            assert "CaseloadPage" in offered
            audiences = await page.locator("#operation optgroup").evaluate_all("gs => gs.map(g => g.label)")
            assert "practitioners" in audiences

            # Without a token the API's refusal is shown, not a blank page.
            await page.select_option("#operation", "Sites")
            assert await page.input_value("#query") == sites_text
            await page.click("#run")
            await page.locator("#status", has_text="HTTP 401").wait_for(timeout=20_000)
            assert "UNAUTHENTICATED" in await page.locator("#answer").inner_text()
            errors.clear()  # the browser reports the 401 itself

            await page.fill("#token", admin.token)
            await page.click("#run")
            await page.locator("#status", has_text="HTTP 200").wait_for(timeout=20_000)
            assert json.loads(await page.locator("#answer").inner_text())["data"] == expected

            # An operation with variables gets a skeleton of them to fill in.
            await page.select_option("#operation", "PracticeRuleHistory")
            skeleton = json.loads(await page.input_value("#variables"))
            assert skeleton
            assert set(skeleton.values()) == {None}
            await page.fill("#variables", "{not json")
            await page.click("#run")
            assert "not valid JSON" in await page.locator("#answer").inner_text()

            assert refused == []
            assert errors == []
            ARTIFACTS.mkdir(exist_ok=True)
            await page.screenshot(path=str(ARTIFACTS / "console.png"), full_page=True)
        finally:
            await browser.close()

