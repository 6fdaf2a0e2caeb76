"""The part of a young adult's record that shows their moves: site transfers, handovers, and a transfer between
tenants (where the person went or came from, and the provenance of what arrived). Served by the root field
``youngAdultMoves`` rather than composed into ``YoungAdult``: moves sit above records in the layers (they change
enrolments and the team through records' own service), so records may not import them."""

from __future__ import annotations

import datetime as dt
import uuid

import asyncpg
import strawberry

from service.api.context import Info
from service.api.enums import ServiceKind
from service.api.relay import to_global_id
from service.moves import loaders
from service.people.api import Practitioner, Site, practitioner, site
from service.rules.catalogue import HandoverItem

strawberry.enum(
    HandoverItem, name="HandoverChecklistItem",
    description="An item of the release handover checklist (which ones are wanted: the handover_checklist rule).")


@strawberry.type(description="A move between two sites of the tenant, effective on a date.")
class SiteTransfer:
    id: strawberry.ID
    effective_on: dt.date = strawberry.field(description="From this day the receiving site governs the rules.")
    reason: str
    from_site_id: strawberry.Private[uuid.UUID]
    to_site_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> SiteTransfer:
        return cls(id=strawberry.ID(to_global_id("SiteTransfer", row["id"])), effective_on=row["effective_on"],
                   reason=row["reason"], from_site_id=row["from_site_id"], to_site_id=row["to_site_id"])

    @strawberry.field
    async def from_site(self, info: Info) -> Site | None:
        return await site(info, self.from_site_id)

    @strawberry.field
    async def to_site(self, info: Info) -> Site | None:
        return await site(info, self.to_site_id)


@strawberry.type(description="A release handover as recorded: from one service to others, the lead changing, and "
                             "the checklist items confirmed.")
class Handover:
    id: strawberry.ID
    handed_over_on: dt.date
    from_service: ServiceKind
    to_services: list[ServiceKind]
    checklist: list[HandoverItem]
    from_lead_id: strawberry.Private[uuid.UUID | None]
    to_lead_id: strawberry.Private[uuid.UUID]

    @classmethod
    def from_row(cls, row: asyncpg.Record) -> Handover:
        return cls(id=strawberry.ID(to_global_id("Handover", row["id"])), handed_over_on=row["handed_over_on"],
                   from_service=ServiceKind(row["from_service"]),
                   to_services=[ServiceKind(s) for s in row["to_services"]],
                   checklist=[HandoverItem(i) for i in row["checklist"]],
                   from_lead_id=row["from_lead_id"], to_lead_id=row["to_lead_id"])

    @strawberry.field(description="The lead before the handover (the previous handover's, else the sending "
                                  "service's team member); null when there was none.")
    async def from_lead(self, info: Info) -> Practitioner | None:
        return await practitioner(info, self.from_lead_id)

    @strawberry.field(description="The lead practitioner from the handover on.")
    async def lead(self, info: Info) -> Practitioner | None:
        return await practitioner(info, self.to_lead_id)


@strawberry.type(description="Where a part of the record came from when it arrived by a transfer between tenants.")
class Provenance:
    item_type: str = strawberry.field(description="YoungAdult, CustodyEpisode, PlanVersion, NetworkMember…")
    item_id: strawberry.ID = strawberry.field(description="The global id of the part.")
    from_tenant: str = strawberry.field(description="The tenant it came from.")
    recorded_at: dt.datetime | None = strawberry.field(description="When it was first recorded there.")
    received_at: dt.datetime


@strawberry.type(description="How a young adult came into or left this tenant by a transfer between tenants.")
class TenantMove:
    tenant: str = strawberry.field(description="The other tenant's name.")
    on: dt.date


@strawberry.type(description="A young adult's moves: what `youngAdultMoves(youngAdultId:)` answers.")
class YoungAdultMoves:
    raw_id: strawberry.Private[uuid.UUID]
    young_adult_id: strawberry.ID

    @strawberry.field(description="Transfers between the tenant's sites, oldest first.")
    async def site_transfers(self, info: Info) -> list[SiteTransfer]:
        return [SiteTransfer.from_row(r) for r in await loaders.site_transfers(info.context).load(self.raw_id)]

    @strawberry.field(description="Release handovers, oldest first.")
    async def handovers(self, info: Info) -> list[Handover]:
        return [Handover.from_row(r) for r in await loaders.handovers(info.context).load(self.raw_id)]

    @strawberry.field(description="Set when the young adult moved to another tenant: this record is then closed and "
                                  "read-only.")
    async def moved_away(self, info: Info) -> TenantMove | None:
        row = await loaders.moves(info.context).load(self.raw_id)
        return None if row is None or row["moved_on"] is None else TenantMove(tenant=row["moved_to"],
                                                                               on=row["moved_on"])

    @strawberry.field(description="Set when the young adult arrived from another tenant.")
    async def arrived_from(self, info: Info) -> TenantMove | None:
        row = await loaders.moves(info.context).load(self.raw_id)
        return None if row is None or row["arrived_on"] is None else TenantMove(tenant=row["arrived_from"],
                                                                                 on=row["arrived_on"])

    @strawberry.field(description="For a record that arrived by a transfer: where each part came from.")
    async def provenance(self, info: Info) -> list[Provenance]:
        return [Provenance(item_type=r["item_type"], item_id=strawberry.ID(to_global_id(r["item_type"], r["item_id"])),
                           from_tenant=r["from_tenant"], recorded_at=r["recorded_at"], received_at=r["received_at"])
                for r in await loaders.provenance(info.context).load(self.raw_id)]
