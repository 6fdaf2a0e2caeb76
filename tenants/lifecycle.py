"""The tenant lifecycle: PROVISIONING → ACTIVE → SUSPENDED → ARCHIVED, then deletion.

Only ACTIVE tenants serve requests (service.app.auth.load_principal refuses the others with a message naming the
status); no transition touches a tenant's data. An archived tenant can be reactivated until it is deleted.
Deletion needs the tenant ARCHIVED and its slug typed again, drops its schema and both roles in one transaction,
and leaves a ``control.tenant_deletion`` record (slug, who, when; no case data). Every step is written to
``control.tenant_event``. All writes go through the admin engine: the application role only reads the registry.
"""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass

from sqlalchemy import Row, make_url, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.kernel.errors import Conflict, InvalidInput, NotFound
from service.kernel.ids import TenantId
from service.kernel.tenancy import Tenant
from tenants.slugs import quote_ident


class Outcome(enum.StrEnum):
    """What an idempotent step did: repeating a step with the same input answers ALREADY_DONE."""

    CREATED = "CREATED"
    UPDATED = "UPDATED"
    ALREADY_DONE = "ALREADY_DONE"


class Transition(enum.Enum):
    # (statuses it may start from, status it leads to, event recorded)
    ACTIVATE = (("PROVISIONING",), "ACTIVE", "ACTIVATED")
    SUSPEND = (("ACTIVE",), "SUSPENDED", "SUSPENDED")
    REACTIVATE = (("SUSPENDED", "ARCHIVED"), "ACTIVE", "REACTIVATED")
    ARCHIVE = (("ACTIVE", "SUSPENDED"), "ARCHIVED", "ARCHIVED")

    @property
    def sources(self) -> tuple[str, ...]:
        sources: tuple[str, ...] = self.value[0]
        return sources

    @property
    def target(self) -> str:
        return str(self.value[1])

    @property
    def event(self) -> str:
        return str(self.value[2])


@dataclass(frozen=True, slots=True)
class TenantRecord:
    """A tenant as the control plane holds it, including what only platform operations need."""

    id: TenantId
    slug: str
    name: str
    kind: str
    status: str
    schema: str
    runtime_role: str
    owner_role: str
    schema_revision: str | None
    rule_template: str | None

    def as_tenant(self) -> Tenant:
        return Tenant(id=self.id, slug=self.slug, name=self.name, kind=self.kind, status=self.status,
                      schema=self.schema, runtime_role=self.runtime_role)


_COLUMNS = "id, slug, name, kind, status, schema_name, runtime_role, owner_role, schema_revision, rule_template"


def _record(row: Row[tuple[object, ...]]) -> TenantRecord:
    m = row._mapping
    return TenantRecord(id=TenantId(m["id"]), slug=m["slug"], name=m["name"], kind=m["kind"], status=m["status"],
                        schema=m["schema_name"], runtime_role=m["runtime_role"], owner_role=m["owner_role"],
                        schema_revision=m["schema_revision"], rule_template=m["rule_template"])


async def find(conn: AsyncConnection, slug: str, *, for_update: bool = False) -> TenantRecord | None:
    lock = " FOR UPDATE" if for_update else ""
    row = (await conn.execute(text(f"SELECT {_COLUMNS} FROM control.tenant WHERE slug = :s{lock}"),
                              {"s": slug})).first()
    return None if row is None else _record(row)


async def get(engine: AsyncEngine, slug: str) -> TenantRecord:
    async with engine.connect() as conn:
        found = await find(conn, slug)
    if found is None:
        raise NotFound("There is no such tenant.", field="slug")
    return found


async def set_rule_template(engine: AsyncEngine, tenant: TenantRecord, template: str) -> TenantRecord:
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE control.tenant SET rule_template = :t, version = version + 1, "
                                "updated_at = now() WHERE id = :id"), {"t": template, "id": tenant.id})
    return dataclasses.replace(tenant, rule_template=template)


async def has_practice_rules(engine: AsyncEngine, tenant: TenantRecord) -> bool:
    """Whether the tenant has any practice-rule version yet (onboarding copies its template once)."""
    async with engine.connect() as conn:
        return bool((await conn.execute(text("SELECT EXISTS (SELECT 1 FROM control.rule_change WHERE tenant_id = :t)"),
                                        {"t": tenant.id})).scalar())


async def record_event(conn: AsyncConnection, tenant: TenantRecord, action: str, actor: str,
                       from_status: str | None = None, to_status: str | None = None) -> None:
    await conn.execute(text("INSERT INTO control.tenant_event (tenant_id, slug, action, from_status, to_status, actor) "
                            "VALUES (:id, :slug, :action, :from_status, :to_status, :actor)"),
                       {"id": tenant.id, "slug": tenant.slug, "action": action, "from_status": from_status,
                        "to_status": to_status, "actor": actor})


async def transition(engine: AsyncEngine, slug: str, step: Transition, actor: str) -> tuple[TenantRecord, Outcome]:
    """Move a tenant to ``step.target``. Already there: ALREADY_DONE. From a status the step does not start
    from: Conflict, saying which statuses it may start from."""
    async with engine.begin() as conn:
        return await transition_in(conn, slug, step, actor)


async def transition_in(conn: AsyncConnection, slug: str, step: Transition, actor: str,
                        ) -> tuple[TenantRecord, Outcome]:
    """:func:`transition` in the caller's transaction (onboarding activates a tenant in the one that created it)."""
    tenant = await find(conn, slug, for_update=True)
    if tenant is None:
        raise NotFound("There is no such tenant.", field="slug")
    if tenant.status == step.target:
        return tenant, Outcome.ALREADY_DONE
    if tenant.status not in step.sources:
        allowed = " or ".join(s.lower() for s in step.sources)
        article = "an" if allowed[0] in "aeiou" else "a"
        raise Conflict(f"This tenant is {tenant.status.lower()}; only {article} {allowed} tenant can be "
                       f"{step.event.lower()}.", field="slug")
    await conn.execute(text("UPDATE control.tenant SET status = :to, version = version + 1, updated_at = now() "
                            "WHERE id = :id"), {"to": step.target, "id": tenant.id})
    await record_event(conn, tenant, step.event, actor, tenant.status, step.target)
    return dataclasses.replace(tenant, status=step.target), Outcome.UPDATED


@dataclass(frozen=True, slots=True)
class Deletion:
    tenant_id: TenantId
    slug: str
    deleted_by: str
    outcome: Outcome


async def delete(engine: AsyncEngine, slug: str, *, confirm_slug: str, actor: str) -> Deletion:
    """Drop an archived tenant's schema and roles and remove it from the registry, in one transaction."""
    if confirm_slug != slug:
        raise InvalidInput("To delete a tenant, type its slug again exactly as confirmation.", field="confirm_slug")
    async with engine.begin() as conn:
        # The same lock provisioning takes: a slug is never being created and deleted at once.
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('always-hope:provision'))"))
        tenant = await find(conn, slug, for_update=True)
        if tenant is None:
            done = (await conn.execute(text(
                "SELECT tenant_id, deleted_by FROM control.tenant_deletion WHERE slug = :s "
                "ORDER BY deleted_at DESC LIMIT 1"), {"s": slug})).first()
            if done is None:
                raise NotFound("There is no such tenant.", field="slug")
            return Deletion(TenantId(done.tenant_id), slug, done.deleted_by, Outcome.ALREADY_DONE)
        if tenant.status != "ARCHIVED":
            raise Conflict(f"This tenant is {tenant.status.lower()}; archive it before deleting it.", field="slug")
        schema, owner, runtime = (quote_ident(n) for n in (tenant.schema, tenant.owner_role, tenant.runtime_role))
        await conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        # Default privileges and any grant still held in this database go with DROP OWNED; then the roles.
        await conn.execute(text(f"DROP OWNED BY {owner}, {runtime}"))
        await conn.execute(text(f"DROP ROLE {runtime}"))
        await conn.execute(text(f"DROP ROLE {owner}"))
        await conn.execute(text(
            "INSERT INTO control.tenant_deletion (tenant_id, slug, name, kind, schema_revision, deleted_by) "
            "VALUES (:id, :slug, :name, :kind, :rev, :actor)"),
            {"id": tenant.id, "slug": tenant.slug, "name": tenant.name, "kind": tenant.kind,
             "rev": tenant.schema_revision, "actor": actor})
        await record_event(conn, tenant, "DELETED", actor, tenant.status, None)
        # Grants and migration history cascade with the registry row.
        await conn.execute(text("DELETE FROM control.tenant WHERE id = :id"), {"id": tenant.id})
    return Deletion(tenant.id, slug, actor, Outcome.UPDATED)


def asyncpg_dsn(url: str) -> str:
    """A SQLAlchemy-style admin URL as a plain libpq URL, for asyncpg connections of our own."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
