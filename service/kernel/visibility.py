"""Who sees which young adults: one predicate, used by every query that reads a young adult or any part of one.

    tenant administrator   every young adult of the tenant, restricted records included: they administer access
                           (the team, the restriction) and answer the "who viewed this record" question
    site manager           young adults enrolled at their sites, except restricted records
    practitioner           young adults enrolled at their sites, except restricted records, and every young adult
                           on whose current team they are (restricted or not)
    national analyst,      nothing: refused before any tenant query is made
    platform administrator

A restricted record (``young_adult.access_restricted``) is seen by its named team only (and the tenant's
administrators). Anything a caller may not see answers "not found", exactly like a missing id.

The predicate is SQL, so a page, a DataLoader batch and a mutation's check all filter in the database with the same
rule; the scope travels as two parameters (sites, practitioner) whose positions the caller chooses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from service.kernel.audit import AuditEvent
from service.kernel.audit import write as write_audit
from service.kernel.principal import Principal
from service.kernel.session import TenantSession


@dataclass(frozen=True, slots=True)
class Scope:
    """What part of the tenant a principal sees: ``site_ids`` None means the whole tenant; ``practitioner_id`` is
    the caller's own practitioner record (linked by subject), through which team membership gives access."""

    site_ids: tuple[uuid.UUID, ...] | None
    practitioner_id: uuid.UUID | None = None

    def covers(self, site_id: uuid.UUID) -> bool:
        return self.site_ids is None or site_id in self.site_ids

    @property
    def args(self) -> tuple[list[uuid.UUID] | None, uuid.UUID | None]:
        """The two query parameters :func:`visible` and :func:`visible_young_adult` read."""
        return (None if self.site_ids is None else list(self.site_ids)), self.practitioner_id


def visible(ya: str, first: int) -> str:
    """SQL true when the ``young_adult`` row aliased ``ya`` is visible to the scope passed as parameters
    ``$first`` (site ids, NULL for the whole tenant) and ``$first + 1`` (the caller's practitioner id or NULL)."""
    return visible_to(ya, f"${first}::uuid[]", f"${first + 1}::uuid")


def visible_to(ya: str, sites: str, me: str) -> str:
    """The predicate itself, the scope given as two SQL expressions (parameters, or a compiled statement's scope)."""
    return (f"({sites} IS NULL"
            f" OR (NOT {ya}.access_restricted AND EXISTS (SELECT 1 FROM enrolment v_e"
            f" WHERE v_e.young_adult_id = {ya}.id AND v_e.site_id = ANY({sites})))"
            f" OR EXISTS (SELECT 1 FROM team_member v_t WHERE v_t.young_adult_id = {ya}.id"
            f" AND v_t.practitioner_id = {me} AND v_t.ended_on IS NULL))")


def visible_young_adult(column: str, first: int) -> str:
    """For a part of a record (custody, plan, meeting…): SQL true when the young adult that ``column`` names is
    visible to the scope in parameters ``$first`` and ``$first + 1``."""
    return young_adult_visible_to(column, f"${first}::uuid[]", f"${first + 1}::uuid")


def young_adult_visible_to(column: str, sites: str, me: str) -> str:
    return f"EXISTS (SELECT 1 FROM young_adult v_ya WHERE v_ya.id = {column} AND {visible_to('v_ya', sites, me)})"


@dataclass(frozen=True, slots=True)
class Actor:
    """Who is acting, in which tenant session and request, seeing what: what every service function is given."""

    session: TenantSession
    principal: Principal
    request_id: str
    scope: Scope

    async def audit(self, events: Iterable[AuditEvent]) -> None:
        """Record changes now, inside the mutation's savepoint (a refused change leaves no event)."""
        await write_audit(self.session, self.principal, self.request_id, events)
