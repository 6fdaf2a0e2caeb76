"""Users and their grants in the control plane (written through the admin engine: the app role only reads them)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from service.kernel.errors import InvalidInput, NotFound
from service.kernel.principal import Role, Service


async def grant(engine: AsyncEngine, *, subject: str, role: Role, tenant_slug: str | None = None,
                service: Service | None = None, site_codes: Iterable[str] = (), display_name: str = "") -> None:
    """Create or replace the grant of ``subject`` (in ``tenant_slug``, or platform-wide)."""
    if role.needs_tenant and tenant_slug is None:
        raise InvalidInput(f"A {role.value.lower()} belongs to a tenant: give one.", field="tenant")
    if not role.needs_tenant and tenant_slug is not None:
        raise InvalidInput(f"A {role.value.lower()} belongs to no tenant.", field="tenant")
    if role is Role.PRACTITIONER and service is None:
        raise InvalidInput("A practitioner needs a service (prison, probation, leaving care or Lifelong Links).",
                           field="service")
    codes = sorted({c.strip().upper() for c in site_codes if c.strip()})
    async with engine.begin() as conn:
        tenant_id = None
        if tenant_slug is not None:
            tenant_id = (await conn.execute(text("SELECT id FROM control.tenant WHERE slug = :s"),
                                            {"s": tenant_slug})).scalar()
            if tenant_id is None:
                raise NotFound(f"There is no tenant {tenant_slug!r}.", field="tenant")
        await conn.execute(text("""
            INSERT INTO control.app_user (tenant_id, subject, display_name, role, service, site_codes)
            VALUES (:tenant_id, :subject, :display_name, :role, :service, :codes)
            ON CONFLICT ON CONSTRAINT app_user_subject_unique DO UPDATE
            SET role = excluded.role, service = excluded.service, site_codes = excluded.site_codes,
                display_name = excluded.display_name, active = true, version = app_user.version + 1,
                updated_at = now()
        """), {"tenant_id": tenant_id, "subject": subject, "display_name": display_name, "role": role.value,
               "service": service.value if service else None, "codes": codes})
