"""Tenant slugs become schema and role names, so they are validated strictly before anything reaches SQL."""

from __future__ import annotations

import re
from dataclasses import dataclass

from service.kernel.errors import InvalidInput

SLUG_PATTERN = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
MIN_LENGTH = 3
MAX_LENGTH = 40  # keeps "<prefix>_t_<slug>" inside PostgreSQL's 63-byte identifier limit
RESERVED = frozenset({
    "admin", "platform", "national", "control", "public", "system", "postgres", "template", "information-schema",
    "default", "root", "app", "api", "graphql", "all", "none", "null",
})


def validate_slug(slug: str) -> str:
    """Return the slug if it may name a tenant, else raise :class:`InvalidInput` saying what is wrong."""
    if not isinstance(slug, str) or not slug:
        raise InvalidInput("A tenant slug is required.", field="slug")
    if not MIN_LENGTH <= len(slug) <= MAX_LENGTH:
        raise InvalidInput(
            f"A tenant slug must be {MIN_LENGTH} to {MAX_LENGTH} characters long; this one has {len(slug)}.",
            field="slug",
        )
    if not SLUG_PATTERN.fullmatch(slug):
        raise InvalidInput(
            "A tenant slug may contain only lower-case letters a-z, digits and single hyphens between them, "
            "and must start with a letter (for example 'west-midlands').",
            field="slug",
        )
    if slug in RESERVED or slug.startswith("pg-"):
        raise InvalidInput(f"The slug {slug!r} is reserved; choose another.", field="slug")
    return slug


@dataclass(frozen=True, slots=True)
class TenantNames:
    """The database names derived from a validated slug. Hyphens become underscores: slugs have no underscores,
    so the mapping is one-to-one."""

    schema: str
    runtime_role: str
    owner_role: str

    @classmethod
    def for_slug(cls, slug: str, role_prefix: str) -> TenantNames:
        ident = validate_slug(slug).replace("-", "_")
        return cls(schema=f"t_{ident}", runtime_role=f"{role_prefix}_t_{ident}", owner_role=f"{role_prefix}_o_{ident}")


def quote_ident(name: str) -> str:
    """Quote an identifier we derived ourselves. Refuses anything that is not a plain lower-case name, so a bug
    upstream fails loudly instead of producing SQL."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError("not a platform-derived identifier")
    return f'"{name}"'


def quote_name_literal(name: str) -> str:
    """A platform-derived name as a string literal (for ``set_config``), refused on the same terms as
    :func:`quote_ident`."""
    quote_ident(name)
    return f"'{name}'"
