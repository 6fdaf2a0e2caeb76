"""The platform-level audit trail: what national analysts and platform administrators read (control plane).

Their requests never reach a tenant schema, so a tenant's ``audit_event`` cannot record them. Instead every read
operation of theirs — each GraphQL query, and each national CSV download — leaves one row in
``control.platform_audit_event``: who, in which role, the operation's name and root fields, and the tenants it named
(by slug). It is written in the request's transaction, before the answer leaves: when it cannot be written, the
caller gets an error and no data. Platform administrators read the trail with ``platformAuditTrail``
(service/audit/api.py; itself recorded).
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    value_from_ast_untyped,
)
from strawberry.extensions import SchemaExtension
from strawberry.types.graphql import OperationType

from service.audit import repository
from service.kernel.principal import Principal, Role
from service.kernel.work import UnitOfWork

PLATFORM_ROLES = (Role.NATIONAL_ANALYST, Role.PLATFORM_ADMIN)
TENANT_ARGUMENTS = ("tenant", "tenants", "slug")  # the arguments that name tenants, by slug


@dataclass(frozen=True, slots=True)
class PlatformRead:
    """One read to record: the root fields it asked for and the tenants it named."""

    action: str  # CONSULT or EXPORT
    operation: str | None
    fields: tuple[str, ...]
    tenants: tuple[str, ...]


def records_reads(principal: Principal) -> bool:
    return principal.role in PLATFORM_ROLES


def read_of(document: DocumentNode, operation_name: str | None, variables: dict[str, Any] | None,
            ) -> PlatformRead | None:
    """What a query document reads at its root (fragments followed), or None for an introspection-only one."""
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)
                  and (operation_name is None or (d.name is not None and d.name.value == operation_name))]
    if not operations:
        return None
    fields: set[str] = set()
    tenants: set[str] = set()

    def walk(selections: SelectionSetNode) -> None:
        for s in selections.selections:
            if isinstance(s, FieldNode) and not s.name.value.startswith("__"):
                fields.add(s.name.value)
                for argument in s.arguments or ():
                    if argument.name.value in TENANT_ARGUMENTS:
                        value = value_from_ast_untyped(argument.value, variables)
                        tenants.update(str(v) for v in (value if isinstance(value, list) else [value])
                                       if v is not None)
            elif isinstance(s, InlineFragmentNode):
                walk(s.selection_set)
            elif isinstance(s, FragmentSpreadNode) and s.name.value in fragments:
                walk(fragments[s.name.value].selection_set)

    walk(operations[0].selection_set)
    if not fields:
        return None
    name = operations[0].name.value if operations[0].name is not None else None
    return PlatformRead("CONSULT", name, tuple(sorted(fields)), tuple(sorted(tenants)))


async def record_download(work: UnitOfWork, path: str, tenants: tuple[str, ...]) -> None:
    """A download outside GraphQL (the national CSV): one EXPORT row, in the request's transaction."""
    await record(work, PlatformRead("EXPORT", None, (path,), tenants))


async def record(work: UnitOfWork, read: PlatformRead) -> None:
    """Append one read to the trail, on the request's control-plane session: it commits with the request, and a
    failure to write it loses the request's transaction, so the answer is withdrawn."""
    principal = work.principal
    await repository.record_platform_read(work.control(), principal.subject, principal.role.value, work.request_id,
                                          read.action, read.operation, read.fields, read.tenants)


class PlatformReadTrail(SchemaExtension):
    """Records each query a national analyst or platform administrator runs, once it has run and before its answer
    leaves, in the request's transaction: a read that cannot be recorded loses the transaction, and the request path
    then answers with the error instead of the data."""

    async def on_operation(self) -> AsyncGenerator[None, None]:
        yield
        ec = self.execution_context
        work = ec.context
        if not isinstance(work, UnitOfWork) or not records_reads(work.principal):
            return
        if ec.graphql_document is None or ec.operation_type is not OperationType.QUERY:
            return
        if ec.result is None or ec.result.data is None:
            return  # nothing was read
        read = read_of(ec.graphql_document, ec.operation_name, ec.variables)
        if read is None:
            return
        await record(work, read)
