"""Trusted documents: with the mode on, only published operations run — by id, by Apollo hash, or by exact text."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import httpx
import pytest

from service.api.trusted import TrustedDocuments, TrustedDocumentsError
from service.app.schema import schema
from service.kernel.principal import Role
from tests.conftest import CallerFactory, ClientFactory, TenantFactory

SITES = "query Sites {\n  sites { id code }\n}\n"


@pytest.fixture
def operations(tmp_path: Path) -> Path:
    (tmp_path / "sites.graphql").write_text(SITES)
    return tmp_path


async def post(client: httpx.AsyncClient, token: str, body: dict[str, Any]) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"Authorization": f"Bearer {token}"})


async def test_only_published_documents_run(client_with: ClientFactory, operations: Path,
                                            make_tenant: TenantFactory, login: CallerFactory) -> None:
    client = await client_with(trusted_documents=True, operations_dir=operations)
    token = (await login(Role.TENANT_ADMIN, await make_tenant())).token
    digest = hashlib.sha256(SITES.encode()).hexdigest()

    for body in ({"documentId": digest}, {"documentId": f"sha256:{digest}"}, {"query": SITES},
                 {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
                 {"documentId": digest, "query": SITES}):
        response = await post(client, token, body)
        assert response.status_code == 200, (body, response.text)
        assert {s["code"] for s in response.json()["data"]["sites"]} == {"BSI", "BRM-LC"}

    for body in ({"query": "{ sites { id code } }"},  # the same selection, but not the published text
                 {"query": SITES + " "},
                 {"documentId": "0" * 64},
                 {"documentId": digest, "query": "{ sites { name } }"},
                 {"documentId": "../../etc/passwd"},
                 {}):
        response = await post(client, token, body)
        assert response.status_code == 400, body
        error = response.json()["errors"][0]
        assert error["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
        assert "published" in error["message"] or "does not match" in error["message"]

    batch = await client.post("/graphql", json=[{"documentId": digest}], headers={"Authorization": f"Bearer {token}"})
    assert batch.status_code == 400


async def test_the_mode_is_off_in_development_by_default(client: httpx.AsyncClient, make_tenant: TenantFactory,
                                                         login: CallerFactory) -> None:
    caller = await login(Role.TENANT_ADMIN, await make_tenant())
    assert "errors" not in await caller("{ sites { code } }")


def test_registry_refuses_to_start_on_a_bad_or_empty_directory(tmp_path: Path) -> None:
    with pytest.raises(TrustedDocumentsError, match="does not exist"):
        TrustedDocuments.load(tmp_path / "missing", schema._schema)
    with pytest.raises(TrustedDocumentsError, match="holds no"):
        TrustedDocuments.load(tmp_path, schema._schema)
    (tmp_path / "broken.graphql").write_text("query { sites { ")
    with pytest.raises(TrustedDocumentsError, match=r"broken\.graphql"):
        TrustedDocuments.load(tmp_path, schema._schema)
    (tmp_path / "broken.graphql").write_text("query { sitez { code } }")
    with pytest.raises(TrustedDocumentsError, match="not valid against the schema"):
        TrustedDocuments.load(tmp_path, schema._schema)


def test_published_operations_in_the_repository_are_valid_when_present() -> None:
    published = Path(__file__).resolve().parents[2] / "graphql" / "operations"
    if not any(published.rglob("*.graphql")):
        pytest.skip("no operations are published in graphql/operations yet")
    assert TrustedDocuments.load(published, schema._schema).documents
