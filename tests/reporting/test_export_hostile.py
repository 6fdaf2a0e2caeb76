"""The national CSV export under hostile query strings: every value a client can put in the URL gets a coded 4xx
(or the file), never a 5xx, and nothing of it reaches the log as an unexpected error."""

from __future__ import annotations

import logging
from urllib.parse import quote

import pytest

from service.kernel.principal import Role
from tests.conftest import CallerFactory

GOOD = {"metric": "referrals", "grain": "MONTH", "periodStart": "2019-01-01", "breakdown": "TENANT"}
HOSTILE = ["\x00", "a\x00b", "%FF", "\ud800", "9" * 5000, "-1", "99999999999999999999", "1e9", " ", "é" * 3000,
           "' OR 1=1 --", "../../etc/passwd", "\n\r", "SITE\x00"]
PARAMS = ["metric", "grain", "periodStart", "breakdown", "tenant", "minCount", "minDenominator", "roundTo"]


def url(params: dict[str, str]) -> str:
    # quote() with errors="surrogatepass" so a lone surrogate travels as its (invalid) UTF-8 bytes; "%FF" is sent raw.
    parts = []
    for name, value in params.items():
        encoded = value if value == "%FF" else quote(value.encode("utf-8", "surrogatepass"), safe="")
        parts.append(f"{name}={encoded}")
    return "/reporting/export.csv?" + "&".join(parts)


@pytest.mark.parametrize("name", PARAMS)
async def test_hostile_query_values_get_a_coded_refusal(name: str, login: CallerFactory,
                                                        caplog: pytest.LogCaptureFixture) -> None:
    analyst = await login(Role.NATIONAL_ANALYST)
    headers = {"Authorization": f"Bearer {analyst.token}"}
    for value in HOSTILE:
        params = dict(GOOD, **{name: value})
        if name in ("tenant",):
            params["breakdown"] = "SITE"
        with caplog.at_level(logging.ERROR):
            response = await analyst.client.get(url(params), headers=headers)
        assert response.status_code < 500, (name, repr(value)[:40], response.status_code)
        if response.status_code != 200:
            assert response.json()["errors"][0]["extensions"]["code"], response.text
            # the refusal names the problem without echoing the hostile value back
            assert "\x00" not in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text
