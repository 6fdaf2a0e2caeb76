"""Answering a request with a compiled document: one tenant transaction, one statement for the whole response."""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema

from service.api.limits import CostMemo
from service.api.model import Models
from service.api.text import refusal as text_refusal
from service.api.trusted import published_operations
from service.app.compiled.compiler import (
    CompiledOperation,
    NotCompilable,
    compile_document,
    document_hash,
)
from service.app.compiled.roots import ROOTS
from service.kernel import telemetry
from service.kernel.work import UnitOfWork
from tenants.slugs import quote_ident

logger = logging.getLogger(__name__)



OWN_STATEMENT_TENANTS = 16  # tenants per process whose compiled statements are their own (OwnStatements)


@dataclass(slots=True)
class OwnStatements:
    """Which tenants' compiled statements each connection prepares as the tenant's own: the same SQL, marked with
    the tenant's schema in a trailing comment.

    PostgreSQL keeps a prepared statement's plan for the search path it was planned under and plans it again
    whenever it runs under another, and a request's search path is its tenant's schema: one statement shared by
    every tenant was planned again for each request in another tenant than the connection's last one (the record:
    3.06 ms of server CPU a read for one tenant's reads, 9.50 ms alternating between two; bench/pool_tenants.py,
    deploy/SCALE-OUT.md). A statement of its own keeps its tenant's plan. But a plan of the record holds a couple of
    MiB in the server process, and asyncpg keeps up to 100 statements a connection: so only the first ``budget``
    tenants this process serves get statements of their own, bounding what they hold; the others share one, planned
    again as before. The schema goes into the text only as a name the control plane derives (tenants.slugs.quote_ident
    accepts it); anything else shares the one statement."""

    budget: int = OWN_STATEMENT_TENANTS
    tenants: set[str] = field(default_factory=set)

    def sql(self, statement: str, schema: str) -> str:
        if schema not in self.tenants:
            if len(self.tenants) >= self.budget or not _derived(schema):
                return statement
            self.tenants.add(schema)
        return f"{statement}\n/* {schema} */"


def _derived(schema: str) -> bool:
    try:
        quote_ident(schema)
    except ValueError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class CompiledDocuments:
    by_hash: dict[str, CompiledOperation]
    own: OwnStatements = field(default_factory=OwnStatements)

    @classmethod
    def load(cls, operations_dir: Path, schema: GraphQLSchema, models: Models) -> CompiledDocuments:
        compiled = {}
        for path in published_operations(operations_dir).values():
            try:
                operation = compile_document(path.read_text(), schema, ROOTS, models)
            except NotCompilable as why:
                logger.debug("not compiled: %s (%s)", path.name, why)
                continue
            compiled[operation.document_hash] = operation
            logger.info("compiled %s into one statement", path.name)
        return cls(compiled)

    def find(self, query: str) -> CompiledOperation | None:
        return self.by_hash.get(document_hash(query)) if self.by_hash else None


async def execute(operation: CompiledOperation, work: UnitOfWork, schema: GraphQLSchema,
                  variables: dict[str, Any], own: OwnStatements) -> bytes | None:
    """The response body, or None when the ordinary executor should answer (roles without case data, arguments
    the resolver would refuse, an operation over the cost limit): it then answers exactly as it would have. The
    statement runs in the request's unit of work, which the request path ends (and whose errors it maps) exactly
    as for the ordinary executor; as the tenant's own statement, when ``own`` says so (OwnStatements)."""
    principal = work.principal
    if principal.tenant is None or not principal.reads_case_data:
        return None
    root = schema.query_type.fields[operation.root.name] if schema.query_type else None
    arguments = operation.argument_values(variables)
    if root is None or text_refusal(root, arguments) is not None:
        return None
    settings = work.settings
    cost = _cost_memo(operation, schema, settings.default_list_size).cost(variables)
    if cost > settings.max_query_cost:
        return None
    extensions = json.dumps({"cost": {"requested": cost, "limit": settings.max_query_cost}})
    name = operation.operation.name.value if operation.operation.name else None
    with telemetry.span(f"graphql query {name}" if name else "graphql query") as span:
        # The same attributes the ordinary executor's operation span carries (service/api/observability.py).
        span.set_attribute("graphql.document.hash", operation.document_hash)
        span.set_attribute("always_hope.tenant", principal.tenant.slug)
        span.set_attribute("graphql.operation.type", "query")
        span.set_attribute("always_hope.compiled", True)
        if name:
            span.set_attribute("graphql.operation.name", name)
        for read in operation.reads:
            # Before the transaction begins, where a control-plane read costs one round trip; the rule book was read
            # with the grant already (endpoint.Gate.admit), and is remembered.
            await read(work)
        if operation.root.generic_plan:
            # For the whole transaction, sent with BEGIN (RootField.generic_plan says why). Should the resolvers
            # answer after all (no page), their statements keep it: it changes plans, never answers.
            await work.connection.set_local("plan_cache_mode", "force_generic_plan")
        session = work.tenant()
        page = await operation.root.page(session, principal, arguments)
        if page is None:
            return None
        statement = own.sql(operation.statement(page), principal.tenant.schema)
        body: str = await session.fetchval(statement,
                                           *page.params, principal.subject, principal.role.value, work.request_id,
                                           name, extensions, work.today, *page.scope_params)
        if operation.computed:
            body = await _computed(body, operation, work)
        return body.encode()


# The estimates of each compiled document (CostMemo), by schema and list size: a bounded set, the published documents.
_COSTS: dict[tuple[str, GraphQLSchema, int], CostMemo] = {}


def _cost_memo(operation: CompiledOperation, schema: GraphQLSchema, default_list_size: int) -> CostMemo:
    key = (operation.document_hash, schema, default_list_size)
    memo = _COSTS.get(key)
    if memo is None:
        memo = _COSTS[key] = CostMemo(schema, operation.operation, operation.fragments, default_list_size)
    return memo


# Where the statement's JSON holds a computed field's stand-in (compiler.COMPUTED_MARK), as PostgreSQL writes it.
_STAND_IN = re.compile(r'\{"\\u0001" : (\d+), "inputs" : ')
_DECODER = json.JSONDecoder()


async def _computed(body: str, operation: CompiledOperation, work: UnitOfWork) -> str:
    """The body with each computed field's stand-in replaced by its value, computed from the inputs the stand-in
    holds; the rest of the text is left as PostgreSQL wrote it (never parsed, nor written again)."""
    parts, done = [], 0
    for found in _STAND_IN.finditer(body):
        inputs, end = _DECODER.raw_decode(body, found.end())
        assert body[end] == "}", "a stand-in holds its index and its inputs, nothing else"
        value = await operation.computed[int(found.group(1))].compute(work, inputs)
        parts += [body[done:found.start()], json.dumps(value, ensure_ascii=False, separators=(",", ":"))]
        done = end + 1
    parts.append(body[done:])
    return "".join(parts)
