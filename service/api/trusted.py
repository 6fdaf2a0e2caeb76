"""Trusted documents: in production only the operations published in ``graphql/operations/`` run.

Operations are grouped in one folder per audience (``practitioners/``, ``tenant-admin/``, ``platform-admin/``,
``national/``, ``everyone/``); a document's name is its file's stem, unique across the folders, so the folder is
only an index for people. :func:`published_operations` is the one reader of the directory: the trusted-documents
registry, the compiled documents and the dashboard all list the operations through it.

Each file is one document (an operation and the fragments it uses). Its id is the sha256 of the file's text, in
hex. A client sends either the id — ``{"documentId": "<hex>"}`` (``sha256:<hex>`` is accepted too), or Apollo's
``{"extensions": {"persistedQuery": {"sha256Hash": "<hex>"}}}`` — or the exact text of a published document. The
registry is built once at start-up; every document must be valid against the schema, or the service does not
start.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from graphql import GraphQLSchema, OperationDefinitionNode, parse, validate
from graphql.error import GraphQLSyntaxError

from service.api.errors import RequestRefused

_HEX = re.compile(r"^(?:sha256:)?([0-9a-f]{64})$")


class TrustedDocumentsError(ValueError):
    """The published operations cannot be loaded; the message names the file."""


class UntrustedDocument(RequestRefused):
    """The request names no published operation. The message is safe to return: it quotes nothing sent."""

    code = "PERSISTED_QUERY_NOT_FOUND"


def document_id(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def published_operations(directory: Path) -> dict[str, Path]:
    """Every published operation under ``directory`` (any depth), by name (the file's stem), in name order.
    Two files with one name are refused: a front-end names an operation, not a folder."""
    found: dict[str, Path] = {}
    for path in sorted(directory.rglob("*.graphql")):
        if path.stem in found:
            raise TrustedDocumentsError(f"{path}: an operation named {path.stem} is already published "
                                        f"({found[path.stem]}); names are unique across the audience folders.")
        found[path.stem] = path
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class TrustedDocuments:
    documents: Mapping[str, str]  # id -> document text

    @classmethod
    def load(cls, directory: Path, schema: GraphQLSchema) -> TrustedDocuments:
        if not directory.is_dir():
            raise TrustedDocumentsError(
                f"Trusted documents are on but the operations directory {directory} does not exist "
                "(set ALWAYS_HOPE_OPERATIONS_DIR, or ALWAYS_HOPE_TRUSTED_DOCUMENTS=false).")
        documents: dict[str, str] = {}
        for path in published_operations(directory).values():
            text = path.read_text(encoding="utf-8")
            try:
                ast = parse(text)
            except GraphQLSyntaxError as exc:
                raise TrustedDocumentsError(f"{path}: {exc.message}") from None
            if not any(isinstance(d, OperationDefinitionNode) for d in ast.definitions):
                raise TrustedDocumentsError(f"{path}: no operation in the document")
            errors = validate(schema, ast)
            if errors:
                raise TrustedDocumentsError(f"{path}: not valid against the schema: {errors[0].message}")
            documents[document_id(text)] = text
        if not documents:
            raise TrustedDocumentsError(f"Trusted documents are on but {directory} holds no *.graphql operation.")
        return cls(documents)

    def resolve(self, body: Mapping[str, Any]) -> str:
        """The published text the request body names, or UntrustedDocument."""
        persisted = ((body.get("extensions") or {}).get("persistedQuery") or {}) \
            if isinstance(body.get("extensions"), dict) else {}
        named = body.get("documentId") or body.get("id") or \
            (persisted.get("sha256Hash") if isinstance(persisted, dict) else None)
        if named is not None:
            match = _HEX.match(named) if isinstance(named, str) else None
            text = self.documents.get(match.group(1)) if match else None
            if text is None:
                raise UntrustedDocument("Unknown document id: only published operations are accepted here.")
            query = body.get("query")
            if query is not None and query != text:
                raise UntrustedDocument("The query sent does not match the document id.")
            return text
        query = body.get("query")
        if isinstance(query, str) and document_id(query) in self.documents:
            return query
        raise UntrustedDocument("Only published operations are accepted here: send a documentId (the sha256 of a "
                                "document in graphql/operations) or the exact text of a published document.")
