"""Provisioning: a tenant's roles, schema, tables, grants and registry row, created in one transaction.

Everything here is DDL over names derived from a validated slug (tenants.slugs); no caller text reaches SQL
except as a bound parameter. Roles are cluster-wide, so their names carry the deployment's role prefix.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

import asyncpg
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from service.kernel.errors import Conflict, InvalidInput
from service.kernel.ids import TenantId
from service.kernel.tenancy import Tenant
from tenants import lifecycle, migrations
from tenants.lifecycle import TenantRecord
from tenants.slugs import TenantNames, quote_ident, validate_slug

TENANT_KINDS = ("REGION", "COHORT")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class NewTenant:
    slug: str
    name: str
    kind: str
    # The practice-rule template the tenant starts from (tenants.templates); stored, applied by the rules feature.
    rule_template: str | None = None

    def validated(self) -> NewTenant:
        validate_slug(self.slug)
        name = self.name.strip()
        if not 1 <= len(name) <= 200:
            raise InvalidInput("A tenant name must be 1 to 200 characters long.", field="name")
        if self.kind not in TENANT_KINDS:
            raise InvalidInput(f"A tenant kind must be one of {', '.join(TENANT_KINDS)}.", field="kind")
        return NewTenant(self.slug, name, self.kind, self.rule_template)


def ensure_app_role(conn: Connection, app_role: str, password: str | None = None) -> None:
    """The login role request traffic uses: NOINHERIT, owns nothing, reads the control plane's registry only.
    ``password`` (from APP_DATABASE_URL) is set when given, so password-only servers need no manual step."""
    role = quote_ident(app_role)
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": app_role}).first()
    if exists is None:
        conn.execute(text(f"CREATE ROLE {role} LOGIN NOINHERIT"))
    conn.execute(text(f"ALTER ROLE {role} NOINHERIT"))
    if password:
        # ALTER ROLE takes no bind parameters; format(%L) quotes the value inside the server instead.
        conn.execute(text("SELECT set_config('always_hope.app_password', :p, true)"), {"p": password})
        conn.execute(text(f"DO $$ BEGIN EXECUTE format('ALTER ROLE {role} PASSWORD %L', "
                          "current_setting('always_hope.app_password')); END $$"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA control TO {role}"))
    conn.execute(text(f"GRANT SELECT ON control.tenant, control.app_user, control.alembic_version TO {role}"))
    # Rate limits are shared by every replica through the database (service/app/ratelimit.py).
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON control.rate_bucket TO {role}"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON control.reporting_schedule TO {role}"))
    # Practice rules are read at request time by the app role.
    conn.execute(text(f"GRANT SELECT ON control.rule_change, control.rule_template TO {role}"))
    # A request's rule batch commits with the request (service.rules.service.save_batch): new versions only, never
    # an UPDATE or DELETE of one, so the history stays append-only for request code.
    conn.execute(text(f"GRANT INSERT ON control.rule_change TO {role}"))
    # A tenant administrator's grants commit with the request too (service.tenant_admin.service.ensure_grant), and
    # the database itself keeps request code to tenant grants: row-level security lets the app role write a grant
    # only in a tenant and only for a tenant role, never a platform role (the table's owner, the admin, is exempt).
    conn.execute(text(f"GRANT INSERT, UPDATE ON control.app_user TO {role}"))
    conn.execute(text("ALTER TABLE control.app_user ENABLE ROW LEVEL SECURITY"))
    tenant_grant = "tenant_id IS NOT NULL AND role IN ('PRACTITIONER', 'SITE_MANAGER', 'TENANT_ADMIN')"
    for name, command, condition in (
            (f"{app_role}_reads", "SELECT", "USING (true)"),
            (f"{app_role}_adds_tenant_grants", "INSERT", f"WITH CHECK ({tenant_grant})"),
            (f"{app_role}_changes_tenant_grants", "UPDATE", f"USING ({tenant_grant}) WITH CHECK ({tenant_grant})")):
        if conn.execute(text("SELECT 1 FROM pg_policies WHERE schemaname = 'control' AND tablename = 'app_user' "
                             "AND policyname = :n"), {"n": name}).first() is None:
            conn.execute(text(f"CREATE POLICY {quote_ident(name)} ON control.app_user FOR {command} TO {role} "
                              f"{condition}"))
    # The platform-level audit trail (service/audit/platform.py): appended to and read, never changed.
    conn.execute(text(f"GRANT SELECT, INSERT ON control.platform_audit_event TO {role}"))
    # Transfers between tenants: requested, decided and handed off through this table (service/moves/).
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON control.tenant_transfer TO {role}"))


def national_role(app_role: str) -> str:
    """The national analysts' role of the deployment whose login role is ``app_role``: both carry the deployment's
    role prefix (``<prefix>_app``, ``<prefix>_national``; Settings.national_role)."""
    assert app_role.endswith("_app"), app_role
    return app_role.removesuffix("_app") + "_national"


def ensure_reporting_roles(conn: Connection, app_role: str, national_role: str) -> None:
    """The national analysts' role: NOLOGIN, reads the metric rollups, the published figures and their publication
    counters and the tenant directory's version (a national table's stamp:
    service.reporting.service.published_tenant_table) and the tenant directory view, nothing else.

    The app login role may become it (``set_config('role', …, true)`` inside a transaction, as for tenants). The
    app role itself writes the rollups: a refresh computes a tenant's aggregates inside that tenant's transaction,
    as the tenant's runtime role (which cannot write the control plane), then stores them in a second, short
    control-plane transaction as the app role. It is granted exactly the statements that write needs (replace a
    tenant's rows; upsert its refresh stamp) and still reads no tenant table by itself.
    """
    app, national = quote_ident(app_role), quote_ident(national_role)
    exists = conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": national_role}).first()
    if exists is None:
        conn.execute(text(f"CREATE ROLE {national} NOLOGIN NOINHERIT"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA control TO {national}"))
    conn.execute(text(f"GRANT SELECT ON control.metric_rollup, control.metric_site, control.metric_refresh, "
                      f"control.reporting_tenant, control.national_figure, control.metric_publication, "
                      f"control.tenant_directory TO {national}"))
    conn.execute(text(f"GRANT {national} TO {app}"))
    conn.execute(text(f"GRANT SELECT, INSERT, DELETE ON control.metric_rollup, control.metric_site, "
                      f"control.national_figure TO {app}"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON control.metric_refresh, control.metric_publication TO {app}"))
    conn.execute(text(f"GRANT SELECT ON control.reporting_tenant TO {app}"))


def tenant_roles_and_schema_sql(names: TenantNames, app_role: str) -> str:
    """The tenant's two roles and its empty schema, as one SQL text: the owner (which we must be able to act as, to
    migrate) and the runtime role (which only the app login role may become). The runtime role's privileges on what
    the owner creates come with the schema's contents (migrations.tenant_script_sql)."""
    owner, runtime, schema = (quote_ident(n) for n in (names.owner_role, names.runtime_role, names.schema))
    return (f"CREATE ROLE {owner} NOLOGIN;\n"
            f"CREATE ROLE {runtime} NOLOGIN;\n"
            f"GRANT {owner} TO CURRENT_USER;\n"
            f"GRANT {runtime} TO {quote_ident(app_role)};\n"
            f"CREATE SCHEMA {schema} AUTHORIZATION {owner};\n"
            f"GRANT USAGE ON SCHEMA {schema} TO {runtime};\n")


async def _provision(conn: AsyncConnection, new: NewTenant, role_prefix: str, app_role: str, status: str,
                     script: migrations.TenantScript) -> TenantRecord:
    """Three round trips inside the caller's transaction: the clash check; the roles, the schema and everything in
    it (one text: the tenant stream rendered at head); the registry row."""
    names = TenantNames.for_slug(new.slug, role_prefix)
    clash = (await conn.execute(text(
        "SELECT EXISTS (SELECT 1 FROM control.tenant WHERE slug = :s) AS slug, "
        "EXISTS (SELECT 1 FROM pg_roles WHERE rolname IN (:owner, :runtime)) AS role"),
        {"s": new.slug, "owner": names.owner_role, "runtime": names.runtime_role})).one()
    if clash.slug:
        raise Conflict(f"A tenant with the slug {new.slug!r} already exists.", field="slug")
    if clash.role:
        raise Conflict(f"The database role for slug {new.slug!r} already exists outside the registry; "
                       "an operator must remove it before this slug can be used.", field="slug")
    # Many statements in one text: the driver's simple-query protocol, on the transaction this connection holds.
    driver = (await conn.get_raw_connection()).driver_connection
    assert driver is not None
    await driver.execute(tenant_roles_and_schema_sql(names, app_role)
                         + migrations.tenant_script_sql(script, names.schema, names.owner_role, names.runtime_role))
    row = (await conn.execute(
        text("INSERT INTO control.tenant (slug, name, kind, status, schema_name, runtime_role, owner_role, "
             "rule_template, schema_revision) VALUES (:slug, :name, :kind, :status, :schema, :runtime, :owner, "
             ":template, :revision) RETURNING id"),
        {"slug": new.slug, "name": new.name, "kind": new.kind, "schema": names.schema, "status": status,
         "runtime": names.runtime_role, "owner": names.owner_role, "template": new.rule_template,
         "revision": script.revision},
    )).one()
    return TenantRecord(id=TenantId(row.id), slug=new.slug, name=new.name, kind=new.kind, status=status,
                        schema=names.schema, runtime_role=names.runtime_role, owner_role=names.owner_role,
                        schema_revision=script.revision, rule_template=new.rule_template)


async def provision(engine: AsyncEngine, new: NewTenant, *, role_prefix: str, app_role: str,
                    status: str = "ACTIVE", actor: str | None = None) -> TenantRecord:
    """Create a tenant completely or not at all — with its PROVISIONED event by ``actor``, when given. Raises
    InvalidInput or Conflict for expected refusals."""
    return await provision_with(engine, new, role_prefix=role_prefix, app_role=app_role, status=status,
                                actor=actor, then=_as_created)


async def _as_created(conn: AsyncConnection, record: TenantRecord) -> TenantRecord:
    return record


async def provision_with(engine: AsyncEngine, new: NewTenant, *, role_prefix: str, app_role: str,
                         status: str, actor: str | None,
                         then: Callable[[AsyncConnection, TenantRecord], Awaitable[T]]) -> T:
    """:func:`provision`, then ``then(conn, record)`` in the same transaction, as the admin user: what it writes
    commits with the tenant or not at all (onboarding's first steps). Only the creation's own clashes become
    Conflict; whatever ``then`` raises rolls everything back and is raised as it is."""
    new = new.validated()
    async with migrations.ALEMBIC_LOCK:  # rendering uses alembic's global proxies; rendered once per process
        script = migrations.tenant_script()
    async with engine.connect() as conn:
        async with conn.begin():
            # Serialise provisioning: two creations of one slug must not race past the duplicate check.
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('always-hope:provision'))"))
            try:
                record = await _provision(conn, new, role_prefix, app_role, status, script)
            except (IntegrityError, ProgrammingError) as exc:
                if "already exists" in str(exc.orig) or isinstance(exc, IntegrityError):
                    raise Conflict(f"A tenant with the slug {new.slug!r} already exists.", field="slug") from exc
                raise
            except (asyncpg.DuplicateObjectError, asyncpg.DuplicateSchemaError) as exc:  # the script, by the driver
                raise Conflict(f"A tenant with the slug {new.slug!r} already exists.", field="slug") from exc
            if actor is not None:
                await lifecycle.record_event(conn, record, "PROVISIONED", actor, None, status)
            result = await then(conn, record)
        await _retire_when_worn(conn)
    return result


# A server process keeps every tenant trigger function it has run compiled, with its cached plans, for as long as it
# lives (onboarding's first sites fire the new tenant's), and PostgreSQL walks every cached plan of a process for
# each catalog invalidation it processes: a new tenant's DDL makes thousands. So on one long-lived connection each
# creation cost more than the last (measured on PostgreSQL 15: the tenant DDL 58 ms of server CPU on a fresh
# process, 86 ms on one that had run 1,000 small PL/pgSQL functions, 189 ms after 3,000). A connection that has created
# this many tenants is closed when the last commits, and the pool opens a fresh one for the next (about 8 ms of
# server CPU, once per this many creations).
CREATIONS_PER_CONNECTION = 25


async def _retire_when_worn(conn: AsyncConnection) -> None:
    """Count a committed creation against ``conn``'s server process; close it (the pool replaces it) at
    :data:`CREATIONS_PER_CONNECTION`."""
    created = conn.info.get("tenants_created", 0) + 1
    conn.info["tenants_created"] = created
    if created >= CREATIONS_PER_CONNECTION:
        await conn.invalidate()


async def create_tenant(engine: AsyncEngine, new: NewTenant, *, role_prefix: str, app_role: str,
                        status: str = "ACTIVE") -> Tenant:
    """Create a tenant completely or not at all. Raises InvalidInput or Conflict for expected refusals.
    Onboarding creates tenants as PROVISIONING and activates them when their first sites and admin exist."""
    record = await provision(engine, new, role_prefix=role_prefix, app_role=app_role, status=status)
    return record.as_tenant()
