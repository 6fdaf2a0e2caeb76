"""The production identity path: keys discovered from a real (loopback, HTTPS) OIDC issuer, with key rotation."""

from __future__ import annotations

import datetime as dt
import ipaddress
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.jwk import ECKey, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from service.api.errors import AuthError
from service.app.auth import TokenVerifier
from service.kernel.settings import Environment, Settings


def self_signed(tmp: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test issuer")])
    now = dt.datetime.now(dt.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(minutes=1))
            .not_valid_after(now + dt.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


class Issuer:
    """A minimal OIDC issuer: discovery document and a JWKS whose keys the test can rotate."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.keys: list[Any] = [RSAKey.generate_key(2048, parameters={"kid": "k1"}, private=True)]

    def app(self) -> Starlette:
        async def discovery(request: Request) -> JSONResponse:
            return JSONResponse({"issuer": self.base, "jwks_uri": f"{self.base}/jwks",
                                 "authorization_endpoint": f"{self.base}/authorize",
                                 "response_types_supported": ["code"], "subject_types_supported": ["public"],
                                 "id_token_signing_alg_values_supported": ["RS256", "ES256"]})

        async def jwks(request: Request) -> JSONResponse:
            return JSONResponse({"keys": [k.as_dict(private=False) for k in self.keys]})

        return Starlette(routes=[Route("/.well-known/openid-configuration", discovery), Route("/jwks", jwks)])

    def token(self, key: Any, alg: str, **claims: Any) -> str:
        now = int(time.time())
        body = {"iss": self.base, "aud": "always-hope", "sub": "person-1", "iat": now, "exp": now + 60, **claims}
        return jwt.encode({"alg": alg, "kid": key.kid}, body, key)


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Issuer, Settings]]:
    tmp = tmp_path_factory.mktemp("oidc")
    cert, key = self_signed(tmp)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    idp = Issuer(f"https://127.0.0.1:{port}")
    server = uvicorn.Server(uvicorn.Config(idp.app(), host="127.0.0.1", port=port, log_level="warning",
                                           ssl_certfile=str(cert), ssl_keyfile=str(key), lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    settings = Settings(environment=Environment.PRODUCTION, database_url="postgresql://unused",
                        app_database_url="postgresql://ah_app@unused", data_dir=tmp,
                        auth_issuer=idp.base, auth_audience="always-hope", auth_ca_bundle=cert)
    settings.check()
    yield idp, settings
    server.should_exit = True
    thread.join(5)


async def test_discovers_keys_and_verifies(issuer: tuple[Issuer, Settings]) -> None:
    idp, settings = issuer
    verifier = TokenVerifier.for_settings(settings)
    claims = await verifier.verify(idp.token(idp.keys[0], "RS256", tenant="west-midlands"))
    assert (claims["sub"], claims["tenant"]) == ("person-1", "west-midlands")


async def test_rotated_key_is_fetched_once_and_an_unknown_key_is_refused(issuer: tuple[Issuer, Settings]) -> None:
    idp, settings = issuer
    verifier = TokenVerifier(settings, min_refresh_seconds=0)
    await verifier.verify(idp.token(idp.keys[0], "RS256"))
    rotated = ECKey.generate_key("P-256", parameters={"kid": "k2"}, private=True)
    idp.keys.append(rotated)
    assert (await verifier.verify(idp.token(rotated, "ES256")))["sub"] == "person-1"
    stranger = ECKey.generate_key("P-256", parameters={"kid": "k3"}, private=True)
    with pytest.raises(AuthError, match="unknown key"):
        await verifier.verify(idp.token(stranger, "ES256"))


async def test_token_from_another_issuer_is_refused(issuer: tuple[Issuer, Settings]) -> None:
    idp, settings = issuer
    verifier = TokenVerifier.for_settings(settings)
    with pytest.raises(AuthError, match="issuer"):
        await verifier.verify(idp.token(idp.keys[0], "RS256", iss="https://elsewhere.example"))


def test_production_refuses_the_development_issuer(tmp_path: Path) -> None:
    from service.kernel.settings import SettingsError
    app = {"APP_DATABASE_URL": "postgresql://ah_app:pw@db/x"}
    with pytest.raises(SettingsError, match="AUTH_ISSUER"):
        Settings.from_env({"ALWAYS_HOPE_ENV": "production", "DATABASE_URL": "postgresql://x/y", **app})
    with pytest.raises(SettingsError, match="DATABASE_URL"):
        Settings.from_env({"ALWAYS_HOPE_ENV": "production", "AUTH_ISSUER": "https://idp.example", **app})
