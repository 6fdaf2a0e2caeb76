"""Identity: verified JWTs in, a :class:`Principal` out.

A token says *who* (``sub``) and, for tenant users, *where* (the ``tenant`` claim, a slug). What they may do comes
from their grant in the control plane (``control.app_user``), so revoking or changing a grant takes effect on the
next request without reissuing tokens. Production verifies against the OIDC issuer's JWKS; development has a
local issuer whose key pair is created on first run in the data directory.
"""

from __future__ import annotations

import functools
import json
import os
import ssl
import time
import uuid
from datetime import date
from pathlib import Path
from typing import Any

import httpx
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import errors as jose_errors
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from service.api.errors import AuthError
from service.app import ratelimit
from service.app.ratelimit import RateLimiter, Refusal
from service.kernel.ids import TenantId
from service.kernel.principal import Principal, Role, Service
from service.kernel.settings import Settings
from service.kernel.tenancy import Connection, Tenant
from service.rules import repository as rules
from tenants import registry

ALGORITHMS = ["ES256", "RS256"]
DEV_TOKEN_TTL = 12 * 3600
VERIFIED_TOKENS = 4096  # tokens whose verified claims are kept per process (TokenVerifier.verify)
TIMED_CLAIMS = ("exp", "nbf", "iat")  # the registered claims whose validity depends on the time (RFC 7519 4.1)


def _load_or_create_dev_key(path: Path) -> ECKey:
    if path.exists():
        return ECKey.import_key(json.loads(path.read_text()))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ECKey.generate_key("P-256", parameters={"kid": f"dev-{uuid.uuid4().hex[:12]}"}, private=True)
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump(key.as_dict(private=True), fh)
    os.replace(tmp, path)
    return key


class DevIssuer:
    """The local development issuer. Never used in production (settings refuse it there)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.key = _load_or_create_dev_key(settings.dev_key_path)

    def issue(self, subject: str, tenant: str | None, ttl: int = DEV_TOKEN_TTL, **extra: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"iss": self.settings.auth_issuer, "aud": self.settings.auth_audience,
                                  "sub": subject, "iat": now, "exp": now + ttl, **extra}
        if tenant is not None:
            claims["tenant"] = tenant
        return jwt.encode({"alg": "ES256", "kid": self.key.kid}, claims, self.key)

    def keyset(self) -> KeySet:
        return KeySet([ECKey.import_key(self.key.as_dict(private=False))])


class TokenVerifier:
    """Verifies bearer tokens: signature against the issuer's keys, then issuer, audience, subject and expiry.

    In production the keys come from ``AUTH_JWKS_URL`` or, when unset, from the issuer's OIDC discovery document
    (validated with authlib). An unknown key id triggers one re-fetch (the issuer may have rotated its keys), at
    most once per ``min_refresh_seconds``.
    """

    def __init__(self, settings: Settings, keys: KeySet | None = None, min_refresh_seconds: float = 30.0) -> None:
        self.settings = settings
        self._keys = keys
        self._jwks_url = settings.auth_jwks_url
        self._fetched_at = float("-inf")
        self._min_refresh = min_refresh_seconds
        self._verified: dict[str, dict[str, Any]] = {}  # token -> its claims, signature verified; oldest first
        self._claims = jwt.JWTClaimsRegistry(
            iss={"essential": True, "value": settings.auth_issuer},
            aud={"essential": True, "value": settings.auth_audience},
            sub={"essential": True},
            exp={"essential": True},
        )

    @classmethod
    def for_settings(cls, settings: Settings) -> TokenVerifier:
        if settings.uses_dev_issuer:
            return cls(settings, DevIssuer(settings).keyset())
        return cls(settings)

    def _client(self) -> httpx.AsyncClient:
        bundle = self.settings.auth_ca_bundle
        verify: ssl.SSLContext | bool = ssl.create_default_context(cafile=str(bundle)) if bundle else True
        return httpx.AsyncClient(timeout=5, verify=verify)

    async def _discover_jwks_url(self, client: httpx.AsyncClient) -> str:
        issuer = self.settings.auth_issuer
        response = await client.get(issuer.rstrip("/") + "/.well-known/openid-configuration")
        response.raise_for_status()
        metadata = OpenIDProviderMetadata(response.json())
        metadata.validate_issuer()
        metadata.validate_jwks_uri()  # type: ignore[no-untyped-call]  # untyped in types-Authlib
        if metadata["issuer"] != issuer:
            raise AuthError("The identity provider's metadata names a different issuer.", status=503)
        return str(metadata["jwks_uri"])

    async def _keyset(self, refresh: bool = False) -> KeySet:
        if self._keys is not None and not refresh:
            return self._keys
        if self.settings.uses_dev_issuer or time.monotonic() - self._fetched_at < self._min_refresh:
            assert self._keys is not None
            return self._keys
        async with self._client() as client:
            if self._jwks_url is None:
                self._jwks_url = await self._discover_jwks_url(client)
            response = await client.get(self._jwks_url)
            response.raise_for_status()
        self._keys = KeySet.import_key_set(response.json())
        self._fetched_at = time.monotonic()
        self._verified.clear()  # a key may have been withdrawn: every token is verified again against the new set
        return self._keys

    async def verify(self, token: str) -> dict[str, Any]:
        """The token's claims, or AuthError. A token whose signature was verified before is not verified again
        (the signature is what costs: a P-256 or RSA verification per request): its claims are kept, at most
        ``VERIFIED_TOKENS`` of them, and their times (:data:`TIMED_CLAIMS`) validated again on every use, so an expired
        token is refused as before. What the caller may do is not kept: the grant is read on every request
        (load_principal), so a revocation holds from the next request whatever is cached here."""
        known = self._verified.get(token)
        if known is not None:
            try:
                # Of claims validated when the token was verified, only those judged against the time can fail
                # since: judged again by the registry's own rules (the rest of validate cost a request ~20 µs).
                for name in TIMED_CLAIMS:
                    if name in known:
                        getattr(self._claims, f"validate_{name}")(known[name])
            except jose_errors.ExpiredTokenError:
                del self._verified[token]
                raise AuthError("The token has expired.") from None
            except jose_errors.JoseError:
                del self._verified[token]  # not yet valid (nbf), or no longer: verify it from scratch
            else:
                return dict(known)
        claims = await self._verify(token)
        if len(self._verified) >= VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]  # the oldest
        self._verified[token] = claims
        return dict(claims)

    async def _verify(self, token: str) -> dict[str, Any]:
        try:
            keys = await self._keyset()
            try:
                decoded = jwt.decode(token, keys, algorithms=ALGORITHMS)
            except jose_errors.InvalidKeyIdError:  # the issuer may have rotated its keys
                decoded = jwt.decode(token, await self._keyset(refresh=True), algorithms=ALGORITHMS)
            self._claims.validate(decoded.claims)
        except jose_errors.ExpiredTokenError:
            raise AuthError("The token has expired.") from None
        except jose_errors.BadSignatureError:
            raise AuthError("The token's signature is not valid for this issuer.") from None
        except jose_errors.InvalidClaimError as exc:
            claim = str(exc.description).rsplit("'", 2)[-2] if "'" in str(exc.description) else "a claim"
            names = {"aud": "audience", "iss": "issuer"}
            raise AuthError(f"The token's {names.get(claim, claim)} is not accepted here.") from None
        except jose_errors.MissingClaimError as exc:
            raise AuthError(f"The token lacks a required claim ({exc.description}).") from None
        except (jose_errors.JoseError, ValueError):
            raise AuthError("The token is malformed or signed with an unknown key.") from None
        except (httpx.HTTPError, KeyError):
            raise AuthError("The identity provider's keys could not be fetched.", status=503) from None
        return dict(decoded.claims)


def bearer_token(authorization: str | None) -> str:
    if not authorization:
        raise AuthError("No token: send 'Authorization: Bearer <token>'.")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("The Authorization header must be 'Bearer <token>'.")
    return token.strip()


GRANT = ("SELECT u.role, u.service, u.site_codes, t.id, t.slug, t.name, t.kind, t.status, t.schema_name, "
         "t.runtime_role{taken}{read} FROM control.app_user u LEFT JOIN control.tenant t ON t.id = u.tenant_id{take} "
         "WHERE u.subject = $1 AND u.active AND CASE WHEN $2::text IS NULL THEN u.tenant_id IS NULL "
         "ELSE t.slug = $2 END")
# The rate limit, taken in the same statement for a grant that admits the request (a live grant, in an active tenant
# when it names one): a refused caller takes no token, as when the two were separate statements. A grant is unique
# per (tenant, subject), so the function runs once at most.
TAKE = (" LEFT JOIN LATERAL (SELECT * FROM {call} WHERE t.id IS NULL OR t.status = 'ACTIVE') r ON true")
# The practice rules in force on the request's day in the grant's tenant, for an operation known to need them (the
# compiled record's computed fields, rules.loaders.rule_book): read in the same statement, as the login role outside
# any transaction, where the request would otherwise read them with one more round trip just before its transaction
# begins (ControlReads). The rule book's own statement (rules.repository.CHANGES_IN_FORCE), its rows as an array.
RULES = ", ARRAY(SELECT c FROM ({changes}) c) AS rules"


@functools.cache
def _grant_sql(limited: bool, with_rules: bool) -> str:
    """:data:`GRANT` with the rate limit's take (its arguments from $3) and the rules read (the day last), as asked:
    four texts in all, each made once rather than on every request."""
    taken = take = read = ""
    last = 2
    if limited:
        taken, take = ", r.refused, r.wait", TAKE.format(call=ratelimit.take(last + 1))
        last += ratelimit.TAKE_ARGUMENTS
    if with_rules:
        read = RULES.format(changes=rules.CHANGES_IN_FORCE.format(tenant="t.id", on=f"${last + 1}::date"))
    return GRANT.format(taken=taken, read=read, take=take)


async def load_principal(conn: Connection, claims: dict[str, Any], limiter: RateLimiter | None = None,
                         rules_on: date | None = None,
                         ) -> tuple[Principal, Refusal | None, list[dict[str, Any]] | None]:
    """Find the grant for a verified token's subject (and tenant), and take the request from the caller's rate limits
    (``limiter``): one statement on the way in, outside any transaction. No grant, no access; the refusal path looks
    again only to say which of tenant or grant is missing. Answers the principal, the rate limit's refusal if the
    request is over a limit, and, when ``rules_on`` is given and the grant names a tenant, the tenant's practice rule
    changes in force on that day (:data:`RULES`; None otherwise)."""
    slug = claims.get("tenant")
    if slug is not None and not isinstance(slug, str):
        raise AuthError("The token's tenant claim must be a string.")
    args: list[object] = [claims["sub"], slug]
    limited = limiter is not None and limiter.enabled
    if limiter is not None and limited:
        args += limiter.arguments(claims["sub"], slug)
    with_rules = rules_on is not None and slug is not None
    if with_rules:
        args.append(rules_on)
    row = await conn.fetchrow(_grant_sql(limited, with_rules), *args)
    if row is None:
        if slug is not None and await registry.tenant_by_slug(conn, slug) is None:
            raise AuthError("The token names a tenant that does not exist.", status=403)
        raise AuthError("No access has been granted to this user here.", status=403)
    tenant = None
    if slug is not None:
        tenant = Tenant(id=TenantId(row["id"]), slug=row["slug"], name=row["name"], kind=row["kind"],
                        status=row["status"], schema=row["schema_name"], runtime_role=row["runtime_role"])
        if tenant.status != "ACTIVE":
            raise AuthError(f"This tenant is {tenant.status.lower()}; access is paused.", status=403)
    principal = Principal(subject=claims["sub"], role=Role(row["role"]), tenant=tenant,
                          service=Service(row["service"]) if row["service"] else None,
                          site_codes=frozenset(row["site_codes"]))
    refusal = ratelimit.refusal(row["refused"], row["wait"]) if "refused" in row else None
    return principal, refusal, rules.changes_of_tuples(row["rules"]) if "rules" in row else None
