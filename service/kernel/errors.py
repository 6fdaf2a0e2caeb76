"""Domain errors. They know nothing of HTTP or GraphQL.

    DomainError                 expected failure, reported to the caller as data (code, message, field)
    ├── NotFound                missing, or outside what the caller may see: the two are indistinguishable
    ├── StaleVersion            optimistic-concurrency check failed; the caller re-reads and retries
    ├── InvalidInput            the caller's input breaks a rule; ``field`` names which input
    └── Conflict                the request clashes with stored state (duplicate slug, code already used)
    AccessDenied                the principal's role may never do this (raised, not returned as data)

Messages must never contain personal data: they are shown to callers and may be logged.
"""

from __future__ import annotations


class DomainError(Exception):
    code: str = "INVALID"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code is not None:
            self.code = code


class NotFound(DomainError):
    code = "NOT_FOUND"


class StaleVersion(DomainError):
    code = "STALE_VERSION"


class InvalidInput(DomainError):
    code = "INVALID"


class Conflict(DomainError):
    code = "CONFLICT"


class AccessDenied(Exception):
    """The principal's role can never perform this operation. Surfaces as a GraphQL error, not payload data."""
