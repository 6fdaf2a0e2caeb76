"""Provisioning: a tenant's roles, schema, tables, grants and registry row, created in one transaction.

Everything here is DDL over names derived from a validated slug (tenants.slugs); no caller text reaches SQL
except as a bound parameter. Roles are cluster-wide, so their names carry the deployment's role prefix.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError, ProgrammingError
from sqlalchemy.ext.asyncio import AsyncEngine

from service.kernel.errors import Conflict, InvalidInput
from service.kernel.ids import TenantId
from service.kernel.tenancy import Tenant
from tenants import migrations
from tenants.slugs import TenantNames, quote_ident, validate_slug

TENANT_KINDS = ("REGION", "COHORT")


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
    """The national analysts' role: NOLOGIN, reads the metric rollups and the tenant directory view, nothing else.

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
                      f"control.reporting_tenant, control.national_figure TO {national}"))
    conn.execute(text(f"GRANT {national} TO {app}"))
    conn.execute(text(f"GRANT SELECT, INSERT, DELETE ON control.metric_rollup, control.metric_site, "
                      f"control.national_figure TO {app}"))
    conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON control.metric_refresh TO {app}"))
    conn.execute(text(f"GRANT SELECT ON control.reporting_tenant TO {app}"))


def _provision(conn: Connection, new: NewTenant, role_prefix: str, app_role: str, status: str) -> Tenant:
    names = TenantNames.for_slug(new.slug, role_prefix)
    clash = conn.execute(text("SELECT 1 FROM control.tenant WHERE slug = :s"), {"s": new.slug}).first()
    if clash is not None:
        raise Conflict(f"A tenant with the slug {new.slug!r} already exists.", field="slug")
    for role in (names.owner_role, names.runtime_role):
        if conn.execute(text("SELECT 1 FROM pg_roles WHERE rolname = :r"), {"r": role}).first() is not None:
            raise Conflict(f"The database role for slug {new.slug!r} already exists outside the registry; "
                           "an operator must remove it before this slug can be used.", field="slug")
    owner, runtime, schema = (quote_ident(n) for n in (names.owner_role, names.runtime_role, names.schema))
    conn.execute(text(f"CREATE ROLE {owner} NOLOGIN"))
    conn.execute(text(f"CREATE ROLE {runtime} NOLOGIN"))
    # We must be able to act as the owner to migrate; the app login role may only become the runtime role.
    conn.execute(text(f"GRANT {owner} TO CURRENT_USER"))
    conn.execute(text(f"GRANT {runtime} TO {quote_ident(app_role)}"))
    conn.execute(text(f"CREATE SCHEMA {schema} AUTHORIZATION {owner}"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA {schema} TO {runtime}"))
    conn.execute(text(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
                      f"GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO {runtime}"))
    conn.execute(text(f"ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA {schema} "
                      f"GRANT USAGE, SELECT ON SEQUENCES TO {runtime}"))
    row = conn.execute(
        text("INSERT INTO control.tenant (slug, name, kind, status, schema_name, runtime_role, owner_role, "
             "rule_template) VALUES (:slug, :name, :kind, :status, :schema, :runtime, :owner, :template) "
             "RETURNING id"),
        {"slug": new.slug, "name": new.name, "kind": new.kind, "schema": names.schema, "status": status,
         "runtime": names.runtime_role, "owner": names.owner_role, "template": new.rule_template},
    ).one()
    migrations.upgrade_tenant_schema(conn, names.schema, names.owner_role, names.runtime_role)
    revision = migrations.current_revision(conn, names.schema)
    conn.execute(text("UPDATE control.tenant SET schema_revision = :r WHERE id = :id"), {"r": revision, "id": row.id})
    return Tenant(id=TenantId(row.id), slug=new.slug, name=new.name, kind=new.kind, status=status,
                  schema=names.schema, runtime_role=names.runtime_role)


async def create_tenant(engine: AsyncEngine, new: NewTenant, *, role_prefix: str, app_role: str,
                        status: str = "ACTIVE") -> Tenant:
    """Create a tenant completely or not at all. Raises InvalidInput or Conflict for expected refusals.
    Onboarding creates tenants as PROVISIONING and activates them when their first sites and admin exist."""
    new = new.validated()
    try:
        async with engine.begin() as conn:
            # Serialise provisioning: two creations of one slug must not race past the duplicate check.
            await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext('always-hope:provision'))"))
            async with migrations.ALEMBIC_LOCK:
                return await conn.run_sync(_provision, new, role_prefix, app_role, status)
    except (IntegrityError, ProgrammingError) as exc:
        if "already exists" in str(exc.orig) or isinstance(exc, IntegrityError):
            raise Conflict(f"A tenant with the slug {new.slug!r} already exists.", field="slug") from exc
        raise
