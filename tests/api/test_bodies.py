"""Every request body, however malformed, gets a coded 4xx from the one body parser — with or without trusted
documents, before or after authentication — and nothing a client chose writes a stack trace (issue 14)."""

from __future__ import annotations

import logging

import httpx
import pytest

from service.kernel.principal import Role
from tests.conftest import CallerFactory, ClientFactory

BODIES = [b"null", b"42", b'"x"', b"[]", b"true", b"\xff\xfe\x00{", b"[" * 50_000, b"{" * 50_000,
          b'{"query": 7}', b'{"query": "{ me { subject } }", "variables": [1]}',
          b'{"query": "{ me { subject } }", "operationName": {"a": 1}}', b"", b"{", b'{"documentId": ["x"]}']


@pytest.mark.parametrize("trusted", [False, True])
@pytest.mark.parametrize("with_token", [False, True])
async def test_malformed_bodies_get_a_coded_400_and_no_stack_trace(
        client_with: ClientFactory, login: CallerFactory, caplog: pytest.LogCaptureFixture, trusted: bool,
        with_token: bool) -> None:
    client: httpx.AsyncClient = await client_with(trusted_documents=trusted)
    caller = await login(Role.PLATFORM_ADMIN)
    headers = {"Content-Type": "application/json"}
    if with_token:
        headers["Authorization"] = f"Bearer {caller.token}"
    caplog.set_level(logging.INFO)
    for body in BODIES:
        response = await client.post("/graphql", content=body, headers=headers)
        assert response.status_code == 400, (body[:20], response.status_code, response.text[:200])
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] in ("BAD_REQUEST", "PERSISTED_QUERY_NOT_FOUND"), body[:20]
        assert "Traceback" not in response.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]
