"""Domain errors. They know nothing of HTTP or GraphQL.

    DomainError                 expected failure, reported to the caller as data (code, message, field)
    ├── NotFound                missing, or outside what the caller may see: the two are indistinguishable
    ├── StaleVersion            optimistic-concurrency check failed; the caller re-reads and retries
    ├── InvalidInput            the caller's input breaks a rule; ``field`` names which input
    ├── Conflict                the request clashes with stored state (duplicate slug, code already used)
    ├── MissingPrerequisite     something must be done first (consent, vetting, a meeting…); ``code`` says which
    └── Refusals                every refusal of one request together, each keeping its own code and field
    AccessDenied                the principal's role may never do this (raised, not returned as data)

Messages must never contain personal data: they are shown to callers and may be logged.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager


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


class MissingPrerequisite(DomainError):
    """A step that must come first has not been done. ``code`` names the prerequisite (``CONSENT_REQUIRED``,
    ``VETTING_REQUIRED``…), so a front-end can offer that step; the codes are listed in ``PREREQUISITES``."""
    code = "PREREQUISITE_MISSING"


# The codes of the prerequisites that a refusal names (the GraphQL ErrorCode enum carries each of them).
PREREQUISITES = {
    "ORDER_REQUIRED": "an earlier status or stage must come first",
    "CONSENT_REQUIRED": "the person's consent to be contacted must be recorded first",
    "CONSENT_WITHDRAWN": "the person has withdrawn consent to be contacted",
    "VETTING_REQUIRED": "a required service has not signed off vetting",
    "VETTING_NOT_CLEARED": "vetting was not cleared",
    "AGREEMENT_REQUIRED": "the network member must have agreed to take part",
    "COMMITMENT_REQUIRED": "a commitment must be recorded first",
    "MEETING_REQUIRED": "a meeting must be recorded first",
    "GOALS_REQUIRED": "the plan must have at least one goal",
    "OPEN_CASE_REQUIRED": "an open Lifelong Links case is needed",
    "PLAN_AGREEMENT_REQUIRED": "the plan version must have been agreed (signed off by every required service)",
    "RELEASE_REQUIRED": "the release must be recorded first",
}


def prerequisite(code: str, message: str, field: str | None = None) -> MissingPrerequisite:
    assert code in PREREQUISITES, code
    return MissingPrerequisite(message, field=field, code=code)


class Refusals(DomainError):
    """Every reason one request is refused, reported together so the caller learns them all in one answer (a member
    moved to CONTACTED with neither consent nor vetting hears of both). Raised by :class:`Checks`; each error keeps
    its own code and field, and the API returns one ``UserError`` per error."""

    def __init__(self, errors: Sequence[DomainError]) -> None:
        flat = [e for error in errors for e in (error.errors if isinstance(error, Refusals) else (error,))]
        super().__init__(" ".join(e.message for e in flat), field=flat[0].field, code=flat[0].code)
        self.errors: tuple[DomainError, ...] = tuple(flat)


class Checks:
    """Collects refusals instead of stopping at the first. Run each independent check inside ``with
    checks.check():`` (or ``add`` an error), then ``done()`` raises them all, or nothing. A check that later ones
    depend on (the record must exist) stays an ordinary ``raise`` before the collection starts."""

    def __init__(self) -> None:
        self.errors: list[DomainError] = []

    def add(self, error: DomainError) -> None:
        self.errors.append(error)

    @contextmanager
    def check(self) -> Iterator[None]:
        try:
            yield
        except DomainError as exc:
            self.add(exc)

    def done(self) -> None:
        if len(self.errors) == 1 and not isinstance(self.errors[0], Refusals):
            raise self.errors[0]
        if self.errors:
            raise Refusals(self.errors)


class AccessDenied(Exception):
    """The principal's role can never perform this operation. Surfaces as a GraphQL error, not payload data."""
