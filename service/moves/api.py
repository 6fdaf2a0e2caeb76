"""GraphQL for moves: the mutations for site transfers and handovers inside a tenant, and transfers between
tenants (request, withdraw, accept, decline) with the list either side sees. The record's part is in record.py."""

from __future__ import annotations

import datetime as dt
import enum
import uuid

import asyncpg
import strawberry

from service.api.common import UserError, attempt
from service.api.context import Info
from service.api.enums import ServiceKind
from service.api.relay import expect_id, to_global_id
from service.kernel.work import UnitOfWork
from service.moves import loaders, transfers
from service.moves import service as moves
from service.moves.record import Handover, SiteTransfer, YoungAdultMoves
from service.people.loaders import actor
from service.records.api import TeamRole
from service.rules.catalogue import HandoverItem


@strawberry.enum(description="REQUESTED → ACCEPTED / DECLINED / WITHDRAWN; ACCEPTED → COMPLETED when the hand-off "
                             "has copied the package and closed the sending record.")
class TenantTransferState(enum.Enum):
    REQUESTED = "REQUESTED"
    ACCEPTED = "ACCEPTED"
    DECLINED = "DECLINED"
    WITHDRAWN = "WITHDRAWN"
    COMPLETED = "COMPLETED"


@strawberry.enum
class TransferDirection(enum.Enum):
    OUTGOING = "OUTGOING"
    INCOMING = "INCOMING"


@strawberry.type(description="A transfer between tenants as either side sees it.")
class TenantTransfer:
    id: strawberry.ID
    state: TenantTransferState
    from_tenant: str = strawberry.field(description="The sending tenant's slug.")
    to_tenant: str = strawberry.field(description="The receiving tenant's slug.")
    consented_on: dt.date = strawberry.field(description="When the young adult consented to the move.")
    note: str | None
    requested_at: dt.datetime
    decided_at: dt.datetime | None
    decline_reason: str | None
    site_code: str | None = strawberry.field(description="The receiving site, once accepted.")
    completed_at: dt.datetime | None
    version: int
    young_adult_id: strawberry.ID | None = strawberry.field(
        description="The young adult's record on your side: the sending record for the sending tenant, the received "
                    "one (once completed) for the receiving tenant.")

    @classmethod
    def from_row(cls, row: asyncpg.Record, ctx: UnitOfWork) -> TenantTransfer:
        tenant = ctx.principal.tenant
        mine = row["young_adult_id"] if tenant is not None and row["from_tenant_id"] == tenant.id else \
            row["received_young_adult_id"]
        return cls(id=strawberry.ID(to_global_id("TenantTransfer", row["id"])), state=TenantTransferState(row["state"]),
                   from_tenant=row["from_slug"], to_tenant=row["to_slug"], consented_on=row["consented_on"],
                   note=row["note"], requested_at=row["requested_at"], decided_at=row["decided_at"],
                   decline_reason=row["decline_reason"], site_code=row["to_site_code"],
                   completed_at=row["completed_at"], version=row["version"],
                   young_adult_id=None if mine is None else strawberry.ID(to_global_id("YoungAdult", mine)))


@strawberry.input(description="A practitioner joining the young adult's team with a site transfer.")
class TeamJoinInput:
    practitioner_id: strawberry.ID
    role: TeamRole


@strawberry.input(description="Move a young adult between two of the tenant's sites on a date.")
class TransferSiteInput:
    young_adult_id: strawberry.ID
    from_site_id: strawberry.ID
    to_site_id: strawberry.ID
    effective_on: dt.date
    reason: str
    team_joins: list[TeamJoinInput] = strawberry.field(default_factory=list)
    team_leaves: list[TeamRole] = strawberry.field(default_factory=list,
                                                   description="Team roles whose current members leave the team.")


@strawberry.input(description="Record a release handover as it happened.")
class RecordHandoverInput:
    young_adult_id: strawberry.ID
    handed_over_on: dt.date
    lead_practitioner_id: strawberry.ID = strawberry.field(description="The new lead (on the team, from a "
                                                                       "receiving service).")
    checklist: list[HandoverItem]
    from_service: ServiceKind = ServiceKind.PRISON
    to_services: list[ServiceKind] = strawberry.field(
        default_factory=lambda: [ServiceKind.PROBATION, ServiceKind.LEAVING_CARE])


@strawberry.input(description="Ask another tenant to take the young adult on (the young adult has consented).")
class RequestTenantTransferInput:
    young_adult_id: strawberry.ID
    to_tenant: str = strawberry.field(description="The receiving tenant's slug.")
    consented_on: dt.date
    note: str | None = None


@strawberry.input
class WithdrawTenantTransferInput:
    id: strawberry.ID
    version: int


@strawberry.input(description="Accept a transfer, choosing the site that takes the young adult on.")
class AcceptTenantTransferInput:
    id: strawberry.ID
    version: int
    site_code: str


@strawberry.input
class DeclineTenantTransferInput:
    id: strawberry.ID
    version: int
    reason: str


@strawberry.type
class SiteTransferPayload:
    site_transfer: SiteTransfer | None
    errors: list[UserError]


@strawberry.type
class HandoverPayload:
    handover: Handover | None
    outstanding: list[HandoverItem] = strawberry.field(
        description="Checklist items the practice rules want that this handover did not confirm.")
    errors: list[UserError]


@strawberry.type
class TenantTransferPayload:
    tenant_transfer: TenantTransfer | None
    errors: list[UserError]


def _transfer(info: Info, row: asyncpg.Record | None, errors: list[UserError]) -> TenantTransferPayload:
    return TenantTransferPayload(tenant_transfer=None if row is None else TenantTransfer.from_row(row, info.context),
                                 errors=errors)


@strawberry.type
class MovesQuery:
    @strawberry.field(description="A young adult's site transfers, handovers and moves between tenants; null when "
                                  "the young adult does not exist or is not yours to see.")
    async def young_adult_moves(self, info: Info, young_adult_id: strawberry.ID) -> YoungAdultMoves | None:
        await actor(info.context)  # tenant users with case access only
        raw = expect_id(young_adult_id, "YoungAdult", "youngAdultId")
        row = None if raw is None else await loaders.moves(info.context).load(raw)
        if row is None:
            return None
        return YoungAdultMoves(raw_id=row["id"], young_adult_id=young_adult_id)

    @strawberry.field(description="Transfers between tenants your tenant requested (OUTGOING: those of young adults "
                                  "you may see) or received (INCOMING: for tenant administrators and site managers), "
                                  "newest first.")
    async def tenant_transfers(self, info: Info, direction: TransferDirection) -> list[TenantTransfer]:
        a = await actor(info.context)  # tenant users with case access only
        rows = await transfers.of_tenant(a, info.context.control(), direction is TransferDirection.INCOMING)
        return [TenantTransfer.from_row(r, info.context) for r in rows]


@strawberry.type
class MovesMutation:
    @strawberry.mutation(description="Transfer a young adult between two sites on an effective date.")
    async def transfer_site(self, info: Info, input: TransferSiteInput) -> SiteTransferPayload:
        a = await actor(info.context)
        ya = expect_id(input.young_adult_id, "YoungAdult", "youngAdultId")
        from_site, to_site = (expect_id(input.from_site_id, "Site", "fromSiteId"),
                              expect_id(input.to_site_id, "Site", "toSiteId"))
        team = moves.TeamChange(
            join=tuple((expect_id(j.practitioner_id, "Practitioner", "teamJoins"), j.role.value)
                       for j in input.team_joins),
            leave=tuple(r.value for r in input.team_leaves))
        today = info.context.today
        row, errors = await attempt(info.context, lambda: moves.transfer_site(
            a, ya, from_site, to_site, input.effective_on, input.reason, team, today))
        return SiteTransferPayload(site_transfer=None if row is None else SiteTransfer.from_row(row), errors=errors)

    @strawberry.mutation(description="Record a release handover with its checklist and the new lead.")
    async def record_handover(self, info: Info, input: RecordHandoverInput) -> HandoverPayload:
        a = await actor(info.context)
        ya = expect_id(input.young_adult_id, "YoungAdult", "youngAdultId")
        lead = expect_id(input.lead_practitioner_id, "Practitioner", "leadPractitionerId")
        today = info.context.today
        result, errors = await attempt(info.context, lambda: moves.record_handover(
            a, ya, input.handed_over_on, input.from_service.value, [s.value for s in input.to_services], lead,
            [i.value for i in input.checklist], today))
        if result is None:
            return HandoverPayload(handover=None, outstanding=[], errors=errors)
        row, outstanding = result
        return HandoverPayload(handover=Handover.from_row(row),
                               outstanding=[HandoverItem(i) for i in outstanding], errors=errors)

    @strawberry.mutation(description="Ask another tenant to take a young adult on. Nothing moves until it accepts.")
    async def request_tenant_transfer(self, info: Info, input: RequestTenantTransferInput) -> TenantTransferPayload:
        a = await actor(info.context)
        ya = expect_id(input.young_adult_id, "YoungAdult", "youngAdultId")
        today = info.context.today
        row, errors = await attempt(info.context, lambda: transfers.request(
            a, info.context.control(), ya, input.to_tenant, input.consented_on, input.note, today))
        return _transfer(info, row, errors)

    @strawberry.mutation(description="Take a transfer request back before it is accepted.")
    async def withdraw_tenant_transfer(self, info: Info, input: WithdrawTenantTransferInput,
                                       ) -> TenantTransferPayload:
        a, raw = await actor(info.context), _transfer_id(input.id)
        row, errors = await attempt(info.context, lambda: transfers.withdraw(
            a, info.context.control(), raw, input.version))
        return _transfer(info, row, errors)

    @strawberry.mutation(description="Accept a transfer into your tenant, at the site you choose.")
    async def accept_tenant_transfer(self, info: Info, input: AcceptTenantTransferInput) -> TenantTransferPayload:
        a, raw = await actor(info.context), _transfer_id(input.id)
        row, errors = await attempt(info.context, lambda: transfers.decide(
            a, info.context.control(), raw, input.version, True, input.site_code, None))
        return _transfer(info, row, errors)

    @strawberry.mutation(description="Decline a transfer into your tenant, with the reason.")
    async def decline_tenant_transfer(self, info: Info, input: DeclineTenantTransferInput,
                                      ) -> TenantTransferPayload:
        a, raw = await actor(info.context), _transfer_id(input.id)
        row, errors = await attempt(info.context, lambda: transfers.decide(
            a, info.context.control(), raw, input.version, False, None, input.reason))
        return _transfer(info, row, errors)


def _transfer_id(raw: strawberry.ID) -> uuid.UUID | None:
    return expect_id(raw, "TenantTransfer", "id")
