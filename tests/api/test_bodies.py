"""Every request body, however malformed, gets a coded 4xx from the one body parser — with or without trusted
documents, before or after authentication — and nothing a client chose writes a stack trace (issue 14)."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from service.app.endpoint import json_body
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


async def test_a_lone_surrogate_echoed_in_an_error_is_answered_as_json(
        login: CallerFactory, caplog: pytest.LogCaptureFixture) -> None:
    """graphql-core quotes a variable's invalid value in its error, and JSON carries a lone surrogate only escaped:
    the answer is the error as valid JSON (service.app.endpoint.json_body), never a failed response (it was a
    UnicodeEncodeError and a 500)."""
    analyst = await login(Role.NATIONAL_ANALYST)
    caplog.set_level(logging.INFO)
    body = (b'{"query": "query($g: PeriodGrain!) { reportingPeriods(grain: $g) }", '
            b'"variables": {"g": "\\ud800"}}')
    response = await analyst.client.post("/graphql", content=body, headers={
        "Content-Type": "application/json", "Authorization": f"Bearer {analyst.token}"})
    assert response.status_code == 200, response.text[:200]
    error = response.json()["errors"][0]
    assert "does not exist in 'PeriodGrain' enum" in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "\\ud800" in response.text  # escaped, as JSON carries it
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], [r.getMessage() for r in caplog.records]


def test_an_answer_is_the_same_json_however_it_is_written() -> None:
    answer = {"data": {"label": "Région \"Nord\" ü \u2028 \U0001f600", "n": [0, -1, 2**53, 1.5, 1e16, None, True]},
              "errors": [{"message": "lone \udfff", "path": ["a", 0]}]}
    for value in (answer, {"data": {"big": 2**70}}, {"data": {"fine": answer["data"]}}):
        assert json.loads(json_body(value)) == value


PERIODS = "query($g: PeriodGrain!) { reportingPeriods(grain: $g) }"


@pytest.mark.parametrize(("query", "variables", "code"), [
    ("{ me { subject ", {}, "GRAPHQL_PARSE_FAILED"),
    ("{ me { nope } }", {}, "GRAPHQL_VALIDATION_FAILED"),
    ("query { reportingPeriods(grain: WEEK) }", {}, "GRAPHQL_VALIDATION_FAILED"),
    (PERIODS, {"g": "WEEK"}, "BAD_USER_INPUT"),
    (PERIODS, {}, "BAD_USER_INPUT"),
    (PERIODS, {"g": ["MONTH", {"a": 1}]}, "BAD_USER_INPUT"),
    # a value the caller sent, quoted in the message, never chooses the code: not the limiters' words either
    (PERIODS, {"g": "introspection"}, "BAD_USER_INPUT"),
    (PERIODS, {"g": "Document contains more than 9 tokens, nested too deeply"}, "BAD_USER_INPUT"),
])
async def test_a_document_or_variables_that_do_not_fit_the_schema_get_a_code(
        login: CallerFactory, query: str, variables: dict[str, object], code: str) -> None:
    """Errors met before the operation runs carry a code as every other error does (service.api.limits)."""
    analyst = await login(Role.NATIONAL_ANALYST)
    body = await analyst(query, variables)
    assert body["data"] is None
    assert [e["extensions"]["code"] for e in body["errors"]] == [code] * len(body["errors"])
