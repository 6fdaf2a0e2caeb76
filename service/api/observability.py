"""One span per GraphQL operation, and the error counter. Attributes name the operation, never its content.

The span carries the operation's name and type, the sha256 of the document (the same id trusted documents use),
the tenant's slug and the error codes returned. Not the query text, not the variables, not error messages (a
validation message can quote a variable's value).
"""

from __future__ import annotations

import hashlib
from collections.abc import Generator

from graphql import GraphQLError, OperationDefinitionNode
from opentelemetry.trace import Status, StatusCode
from strawberry.extensions import SchemaExtension

from service.api.limits import document_error_code
from service.kernel import telemetry


def document_hash(query: str) -> str:
    return hashlib.sha256(query.encode()).hexdigest()


class OperationTelemetry(SchemaExtension):
    def on_operation(self) -> Generator[None, None, None]:
        ec = self.execution_context
        with telemetry.span("graphql.operation") as span:
            if ec.query is not None:
                span.set_attribute("graphql.document.hash", document_hash(ec.query))
            principal = getattr(ec.context, "principal", None)
            tenant = getattr(principal, "tenant", None)
            if tenant is not None:
                span.set_attribute("always_hope.tenant", tenant.slug)
            yield
            operation_type = "unknown"
            name = None
            document = ec.graphql_document
            if document is not None:
                operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
                chosen = [o for o in operations if ec.operation_name is None or
                          (o.name is not None and o.name.value == ec.operation_name)]
                if len(chosen) == 1:
                    operation_type = chosen[0].operation.value
                    name = chosen[0].name.value if chosen[0].name is not None else None
            span.set_attribute("graphql.operation.type", operation_type)
            if name is not None:
                span.set_attribute("graphql.operation.name", name)
                span.update_name(f"graphql {operation_type} {name}")
            else:
                span.update_name(f"graphql {operation_type}")
            errors = (ec.result.errors if ec.result is not None else None) or ec.pre_execution_errors or []
            codes = sorted({_code(e) for e in errors})
            for error in errors:
                code = _code(error)
                telemetry.graphql_errors.add(1, {"error.code": code, "graphql.operation.type": operation_type})
            if codes:
                span.set_attribute("always_hope.error_codes", codes)
                span.set_status(Status(StatusCode.ERROR))


def _code(error: GraphQLError) -> str:
    """An error's code; one met before the operation ran that is not coded yet (pre-execution errors are coded on
    the result, DocumentErrorCodes) is coded as that extension codes it."""
    return str((error.extensions or {}).get("code") or document_error_code(error))
